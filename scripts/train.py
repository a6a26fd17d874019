#!/usr/bin/env python
"""Train one GRPO run of a profile: `python scripts/train.py --config workflow/config/smoke.yaml
--run tiny-qwen2`. Multi-GPU: `torchrun --nproc-per-node N scripts/train.py ...` (several nodes:
add --nnodes/--rdzv-backend c10d/--rdzv-endpoint, see deductive/training/distributed.py).
Resumes from the newest complete checkpoint; writes results/<profile>/train/<run>/{metrics.jsonl,
summary.json} and checkpoints/<profile>/<run>/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="workflow/config/<profile>.yaml")
    parser.add_argument("--run", required=True, help="a key of training.runs")
    parser.add_argument("--model-dir", type=Path, help="default models/<run's model>")
    parser.add_argument("--train", type=Path, help="train puzzles (default results/<profile>/puzzles/<train_split>.jsonl)")
    parser.add_argument("--val", type=Path, help="val puzzles (default results/<profile>/puzzles/<val_split>.jsonl)")
    parser.add_argument("--out", type=Path, help="default results/<profile>/train/<run>")
    parser.add_argument("--checkpoints", type=Path, help="default checkpoints/<profile>/<run>")
    parser.add_argument("--stop-after", type=int, help="do at most this many more iterations, then stop (resumable)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from deductive.config import ConfigError, load_config
    from deductive.puzzles.formats import PuzzleFileError
    from deductive.training.loop import TrainingError, default_paths, train

    expected = [ConfigError, TrainingError, PuzzleFileError, FileNotFoundError]
    try:
        from deductive.inference.rollout import RolloutError
        from deductive.inference.models import ModelPrepError

        expected += [RolloutError, ModelPrepError]
    except ImportError:
        pass
    try:
        config = load_config(args.config)
        paths = default_paths(config, args.run)
        for key, value in (("model_dir", args.model_dir), ("train_file", args.train), ("val_file", args.val),
                           ("out_dir", args.out), ("ckpt_root", args.checkpoints)):
            if value is not None:
                paths[key] = value
        train(config, args.run, stop_after=args.stop_after, **paths)
    except tuple(expected) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
