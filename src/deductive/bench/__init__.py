"""Benchmarks: the measuring code behind scripts/bench_*.py (those scripts only parse arguments).

- `peers`: this project's sampler and GRPO iteration side by side with transformers' `generate`
  and TRL's `GRPOTrainer` (scripts/bench_peers.py -> results/bench/peers.{md,json});
- `training`: throughput of the training step, packing efficiency and per-iteration overhead
  (scripts/bench_training.py -> results/bench/training.{csv,md}).
"""
