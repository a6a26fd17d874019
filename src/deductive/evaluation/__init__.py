"""Evaluation: accuracy with clustered bootstrap intervals, cost per puzzle, tables and regrading.

Data flow: puzzles + a model (local checkpoint or API endpoint) -> sample records (kept as
`<split>.samples.jsonl.gz`) -> a per-(entry, split) summary -> the accuracy and comparison
tables, next to (never mixed with) the published numbers in results/published/.
"""
