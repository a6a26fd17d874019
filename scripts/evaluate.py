#!/usr/bin/env python
"""Evaluate one entry (base model, trained checkpoint or API baseline) on its splits.

    python scripts/evaluate.py --config work/smoke/config/eval-tiny-qwen2-base.json \\
        --entry tiny-qwen2-base --out-dir results/smoke/eval/tiny-qwen2-base \\
        --work-dir work/smoke/eval/tiny-qwen2-base --model-dir models/tiny-qwen2 \\
        --prices workflow/pricing.yaml \\
        --puzzles test=results/smoke/puzzles/test.jsonl --puzzles published_val=data/temporal-clue/val.json

The workflow's rules pass every path (a trained entry adds --train-summary). --config also takes
a whole profile config. Writes <out-dir>/<split>.{samples.jsonl.gz,summary.json} (or, for an API
baseline without its key, <split>.skipped.json and one line naming the variable to set).
Resumes after a crash or kill. Exit status 2 with one `error:` line for expected failures.
"""

import argparse
import sys

from deductive.evaluation.cli import main_evaluate

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the entry's resolved config (or a profile config)")
    parser.add_argument("--entry", required=True, help="model key, training run or evaluation.api key")
    parser.add_argument("--out-dir", required=True, help="where summaries and samples go")
    parser.add_argument("--work-dir", required=True, help="resumable partial files, server log, API cache")
    parser.add_argument("--prices", required=True, help="the price table (workflow/pricing.yaml)")
    parser.add_argument("--puzzles", action="append", default=[], metavar="SPLIT=FILE",
                        help="puzzle file of a split (repeat for each split)")
    parser.add_argument("--model-dir", help="base model (local entry) or the model an API entry serves")
    parser.add_argument("--train-summary", help="training summary of a trained entry")
    parser.add_argument("--splits", nargs="*", help="default: the entry's splits from the config")
    parser.add_argument("--status-out", help="write a status file listing each split as done or skipped")
    sys.exit(main_evaluate(parser.parse_args()))
