#!/usr/bin/env python
"""Check that every puzzle has exactly one solution and that it matches the answer key.

Reads only each puzzle's prompt text and key (this project's JSONL or the original JSON array,
auto-detected; the prompt dialect, original or native, is detected from the text) and solves
its own CP-SAT model of the stated rules (src/deductive/verify/).

Prints one line per failing puzzle (`ID: KIND: why`), progress on stderr, and last
`verified N of M puzzles`. Exit status: 0 when every puzzle verifies, 1 when some puzzle does
not, 2 when a file cannot be read (the readable files are still verified).
"""

from __future__ import annotations

import argparse
import sys

from deductive.puzzles.formats import PuzzleFileError, load_puzzles
from deductive.progress import Progress
from deductive.verify.verify import verify_puzzle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE", help="puzzle files (.jsonl or .json)")
    parser.add_argument("--time-limit", type=float, default=120.0,
                        help="seconds one solver call may take (default 120; a puzzle "
                             "needs two calls, more when it is ambiguous)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also print a line for every verified puzzle")
    args = parser.parse_args(argv)

    puzzles, file_errors = [], 0
    for path in args.files:
        try:
            puzzles.extend(load_puzzles(path))
        except (PuzzleFileError, OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            file_errors += 1
    progress = Progress(len(puzzles), "verify", unit="puzzles")
    verified = 0
    slowest = (0.0, None)
    for puzzle in puzzles:
        verdict = verify_puzzle(puzzle, time_limit=args.time_limit)
        verified += verdict.ok
        slowest = max(slowest, (verdict.seconds, puzzle.id), key=lambda x: x[0])
        if not verdict.ok or args.verbose:
            print(verdict.line(), flush=True)
        progress.advance()
    if puzzles:
        print(progress.summary(f"slowest {slowest[1]} {slowest[0]:.2f} s"), file=sys.stderr)
    print(f"verified {verified} of {len(puzzles)} puzzles", flush=True)
    if file_errors:
        return 2
    return 0 if verified == len(puzzles) else 1


if __name__ == "__main__":
    sys.exit(main())
