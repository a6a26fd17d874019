#!/usr/bin/env python
"""Experiment arms against their baseline, from committed results (no sampling):

    python scripts/compare_arms.py --baseline learn-room-2x2 --arm learn-room-2x2-dynamic \
        --arm learn-room-2x2-curriculum --split test --split shortcut_free \
        --out results/comparisons/learnability.md

Each profile's results folder (results/<profile>/) must hold its base and trained evaluations of
every --split and its training run; every arm must have evaluated the baseline's very puzzles
(the puzzle files' sha256 are compared). Writes a Markdown document (deductive.evaluation.arms):
accuracy with intervals, the paired difference to the baseline's trained model with its
interval, and what each training run did. The same inputs give the same bytes.
"""

import argparse
import sys
from pathlib import Path

from deductive.evaluation.arms import ArmsError, comparison_markdown, load_profile
from deductive.io import atomic_write_text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results"), help="the results folder")
    parser.add_argument("--baseline", required=True, help="the baseline profile")
    parser.add_argument("--arm", action="append", required=True, help="an arm's profile (repeat)")
    parser.add_argument("--split", action="append", required=True, help="a split every profile evaluated (repeat)")
    parser.add_argument("--out", type=Path, help="also write the document here")
    args = parser.parse_args(argv)
    try:
        baseline = load_profile(args.results, args.baseline, args.split)
        arms = [load_profile(args.results, arm, args.split) for arm in args.arm]
        text = (f"# Arms against `{args.baseline}`\n\nMade by `scripts/compare_arms.py "
                + " ".join([f"--baseline {args.baseline}", *(f"--arm {a}" for a in args.arm),
                            *(f"--split {s}" for s in args.split)])
                + "` from the committed results.\n\n" + comparison_markdown(baseline, arms, args.split))
    except ArmsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    if args.out:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
