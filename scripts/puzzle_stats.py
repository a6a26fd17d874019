#!/usr/bin/env python3
"""Print the statistics of a puzzle file (this project's JSONL or the original JSON array):
clues, suspects, weapons, rooms, times, motives, main/bonus questions, prompt characters and the
clue-kind mix (method.md section 6); with --against, how many of its puzzles repeat the content
(or, names abstracted, the pattern) of a puzzle of each other file, and how many distinct
contents and patterns it holds itself (deductive.puzzles.content).

  python scripts/puzzle_stats.py FILE [--against OTHER ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


from deductive.io import atomic_write_json
from deductive.provenance import provenance
from deductive.puzzles.content import overlap
from deductive.puzzles.formats import PuzzleFileError, detect_format, load_puzzles
from deductive.puzzles.stats import format_summary, summarize
from deductive.verify.constraints import ParseError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(2, f"error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="puzzle file (.jsonl or original .json)")
    parser.add_argument("--against", type=Path, action="append", default=[], metavar="OTHER",
                        help="another split's puzzle file: report the overlap with it (repeatable; "
                             "named by its file name without extension)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    try:
        puzzles = load_puzzles(args.file)
        if not puzzles:
            raise PuzzleFileError(f"{args.file}: no puzzles")
        summary = summarize(puzzles)
        if args.against:
            summary["overlap"] = overlap(puzzles, {other.stem: load_puzzles(other) for other in args.against})
    except (PuzzleFileError, ParseError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary["format"] = detect_format(args.file)
    print(format_summary(summary, str(args.file)))
    if args.json is not None:
        summary["provenance"] = provenance(inputs={"puzzles": args.file,
                                                   **{f"against_{o.stem}": o for o in args.against}})
        atomic_write_json(args.json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
