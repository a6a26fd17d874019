#!/usr/bin/env python
"""Training benchmarks (deductive.bench.training): throughput of the real training step,
packing efficiency of prompt-shared rows, and per-iteration overhead; writes
results/bench/training.{csv,md}. `--gpu` adds tokens/s and MFU of Qwen2.5 shapes on a GPU."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deductive.config import REPO_ROOT


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["tiny-qwen2", "smollm2-135m"],
                        help="prepared model directories under models/")
    parser.add_argument("--no-vllm", action="store_true", help="skip timing Sampler.load_weights")
    parser.add_argument("--gpu", nargs="*", metavar="SHAPE", help="Qwen2.5 shapes for the GPU MFU run "
                        "(qwen2.5-1.5b, qwen2.5-7b)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="GPU dense bf16 peak (H100 SXM: 989)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "bench" / "training")
    args = parser.parse_args(argv)
    from deductive.bench import training  # torch: after the arguments are read

    return training.run(args)


if __name__ == "__main__":
    sys.exit(main())
