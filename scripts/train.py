#!/usr/bin/env python
"""Train one GRPO run: `python scripts/train.py --config results/smoke/config/train-tiny-qwen2.json
--run tiny-qwen2 --model-dir models/tiny-qwen2 --train results/smoke/puzzles/train.jsonl
--val results/smoke/puzzles/val.jsonl --out results/smoke/train/tiny-qwen2
--checkpoints checkpoints/smoke/tiny-qwen2` (the workflow's rule `train` passes all of these).
--config also takes a whole profile config (workflow/config/<profile>.yaml).
Multi-GPU: `torchrun --nproc-per-node N scripts/train.py ...` (several nodes: add
--nnodes/--rdzv-backend c10d/--rdzv-endpoint, see deductive/training/distributed.py).
Resumes from the newest complete checkpoint; writes <out>/{metrics.jsonl,summary.json}."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from deductive.config import ConfigError, load_config
from deductive.inference.model_prep import ModelPrepError
from deductive.inference.rollout import RolloutError
from deductive.puzzles.formats import PuzzleFileError
from deductive.training.loop import TrainingError, train


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the run's resolved config (or a profile config)")
    parser.add_argument("--run", required=True, help="a key of training.runs")
    parser.add_argument("--model-dir", type=Path, required=True, help="models/<run's model>")
    parser.add_argument("--train", type=Path, required=True, help="train puzzles (.jsonl)")
    parser.add_argument("--val", type=Path, required=True, help="val puzzles (.jsonl)")
    parser.add_argument("--out", type=Path, required=True, help="metrics and summary folder")
    parser.add_argument("--checkpoints", type=Path, required=True, help="checkpoint folder of the run")
    parser.add_argument("--curriculum", action="append", default=[], metavar="SPLIT=PATH",
                        help="the puzzles of a curriculum stage's split (training.curriculum), once per stage")
    parser.add_argument("--stop-after", type=int, help="do at most this many more iterations, then stop (resumable)")
    args = parser.parse_args(argv)
    # SIGTERM (Snakemake cancelling the job, `kill`) unwinds like Ctrl-C: the vLLM engine
    # processes are shut down and the newest complete checkpoint stays the resume point.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        config = load_config(args.config)
        train(config, args.run, stop_after=args.stop_after, model_dir=args.model_dir, train_file=args.train,
              val_file=args.val, out_dir=args.out, ckpt_root=args.checkpoints,
              curriculum_files=_named_paths(args.curriculum, "--curriculum"))
    except (ConfigError, TrainingError, PuzzleFileError, FileNotFoundError, RolloutError, ModelPrepError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"error: interrupted; rerun the same command to resume from the newest checkpoint in "
              f"{args.checkpoints}", file=sys.stderr)
        return 130
    return 0


def _named_paths(values: list[str], option: str) -> dict[str, Path]:
    out = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"error: {option} takes SPLIT=PATH, got '{value}'")
        out[name] = Path(path)
    return out


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
