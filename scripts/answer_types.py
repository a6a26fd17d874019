#!/usr/bin/env python
"""Accuracy by answer type beside chance, from stored evaluation samples (no sampling).

    python scripts/answer_types.py --puzzles results/learn/puzzles/test.jsonl \
        --samples base=results/learn/eval/smollm2-135m-base/test.samples.jsonl.gz \
        --samples trained=results/learn/eval/smollm2-135m-trained/test.samples.jsonl.gz

Prints a Markdown table (deductive.evaluation.answer_types): per entry and answer type, the
accuracy, its chance level, the share of questions answered with a listed option, the accuracy
and chance on those answers, and which list positions they pick. --out also writes it to a file.
"""

import argparse
import sys
from pathlib import Path

from deductive.evaluation.answer_types import answer_type_breakdown, breakdown_markdown
from deductive.io import atomic_write_text, read_jsonl
from deductive.puzzles.formats import load_puzzles


def main(args) -> int:
    puzzles = {p.id: p for p in load_puzzles(args.puzzles)}
    entries = {}
    for spec in args.samples:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            print(f"error: --samples takes NAME=PATH, got {spec!r}", file=sys.stderr)
            return 2
        if not Path(path).is_file():
            print(f"error: no samples file {path}", file=sys.stderr)
            return 2
        try:
            entries[name] = answer_type_breakdown(read_jsonl(path), puzzles, args.grader)
        except (KeyError, ValueError) as exc:  # samples of other puzzles, or an unreadable prompt
            print(f"error: {path}: {exc.args[0] if exc.args else exc}", file=sys.stderr)
            return 2
    table = breakdown_markdown(entries)
    print(table, end="")
    if args.out:
        atomic_write_text(args.out, table)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puzzles", required=True, help="the split's puzzles (JSON Lines)")
    parser.add_argument("--samples", action="append", required=True, help="NAME=PATH of a samples file (repeatable)")
    parser.add_argument("--grader", default="fixed", choices=["fixed", "compat"])
    parser.add_argument("--out", help="also write the table here")
    sys.exit(main(parser.parse_args()))
