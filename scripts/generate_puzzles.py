#!/usr/bin/env python3
"""Generate Temporal Clue puzzles as JSON Lines (one puzzle a line).

  python scripts/generate_puzzles.py --count N --seed S --out FILE.jsonl
      [--players MIN:MAX] [--shape S,W,R,T] [--workers K] [--id-prefix PREFIX]
      [--exclude OTHER.jsonl ...] [--held-out-by content|pattern] [--filter shortcut_free]

Puzzle i depends only on (seed, i), the size options and the excluded files; the file is
byte-identical whatever PYTHONHASHSEED and --workers are. With --exclude or --filter, a puzzle
that repeats an excluded file's puzzle (same content key, or pattern key) or fails the filter
is drawn again from its next attempt (deductive.puzzles.run). An interrupted run resumes from
FILE.jsonl.partial.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path


from deductive.puzzles import pools
from deductive.puzzles.clues import SOLUTION_KINDS
from deductive.puzzles.content import KEYS
from deductive.puzzles.generator import GenerationError
from deductive.puzzles.run import RunArgs, RunError, write_puzzles
from deductive.puzzles.shortcuts import FILTERS
from deductive.puzzles.world import NoMurder, Shape


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit status 2
        self.exit(2, f"error: {message}\n")


def _players(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+):(\d+)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"must be MIN:MAX, got '{text}'")
    low, high = int(match[1]), int(match[2])
    if not 1 <= low <= high <= pools.MAX_PLAYERS:
        raise argparse.ArgumentTypeError(
            f"needs 1 <= MIN <= MAX <= {pools.MAX_PLAYERS}, got '{text}'")
    return low, high


def _shape(text: str) -> tuple[int, int, int, int]:
    parts = text.split(",")
    if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(
            f"must be four whole numbers SUSPECTS,WEAPONS,ROOMS,TIMES, got '{text}'")
    shape = Shape(*(int(p) for p in parts))
    try:
        shape.check()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return (shape.suspects, shape.weapons, shape.rooms, shape.times)


def _main_kinds(text: str) -> tuple[str, ...]:
    if text.strip() == "none":  # no main question: bonus questions only
        return ()
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in SOLUTION_KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(
            f"must be 'none' or a comma-separated subset of {','.join(SOLUTION_KINDS)}, got '{text}'")
    return kinds


def _id_prefix(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", text):
        raise argparse.ArgumentTypeError(f"must be letters, digits, '_', '.', '-', got '{text}'")
    return text


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, required=True, help="number of puzzles")
    parser.add_argument("--seed", type=int, required=True, help="seed of the run")
    parser.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    parser.add_argument("--players", type=_players, default=(1, 6),
                        help="range of the 'players' size parameter, MIN:MAX (default 1:6)")
    parser.add_argument("--shape", type=_shape, default=None,
                        help="fixed SUSPECTS,WEAPONS,ROOMS,TIMES instead of drawn sizes")
    parser.add_argument("--max-questions", type=int, default=8,
                        help="questions per puzzle at most: main ones always, bonus ones fill up (default 8)")
    parser.add_argument("--main-questions", type=_main_kinds, default=None,
                        help="ask only these main questions, comma-separated from "
                             f"{','.join(SOLUTION_KINDS)}, or 'none' for bonus questions only (default: all)")
    parser.add_argument("--workers", type=int, default=0, help="processes (default 0: all cores)")
    parser.add_argument("--id-prefix", type=_id_prefix, default="puzzle",
                        help='puzzle ids are "<prefix>-<index:05d>" (default "puzzle")')
    parser.add_argument("--exclude", action="append", default=[], metavar="FILE",
                        help="a puzzle file whose puzzles this one must not repeat (repeatable)")
    parser.add_argument("--held-out-by", choices=sorted(KEYS), default="content",
                        help="the key compared with the excluded files' (default content)")
    parser.add_argument("--filter", choices=sorted(FILTERS), default=None,
                        help="keep only puzzles that pass this filter (default: every puzzle)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    if args.seed < 0:
        parser.error(f"--seed must be non-negative, got {args.seed}")
    if not 1 <= args.max_questions <= 8:
        parser.error(f"--max-questions must be 1 to 8, got {args.max_questions}")
    if args.workers < 0:
        parser.error(f"--workers must be 0 (all cores) or more, got {args.workers}")
    # A cancelled run (SIGTERM, e.g. from Snakemake) stops its workers and keeps the partial file.
    signal.signal(signal.SIGTERM, _stop)
    run = RunArgs(count=args.count, seed=args.seed, players=args.players, shape=args.shape,
                  id_prefix=args.id_prefix, max_questions=args.max_questions,
                  main_kinds=args.main_questions, exclude=tuple(args.exclude),
                  held_out_by=args.held_out_by, filter=args.filter)
    try:
        write_puzzles(args.out, run, workers=args.workers)
    except (RunError, NoMurder, GenerationError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"error: interrupted; rerun the same command to resume from {args.out}.partial",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
