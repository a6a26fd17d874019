#!/usr/bin/env python
"""Accuracy by answer type beside chance and beside the surface rules, from stored evaluation
samples (no sampling).

    python scripts/answer_types.py --puzzles results/learn/puzzles/test.jsonl \
        --samples base=results/learn/eval/smollm2-135m-base/test.samples.jsonl.gz \
        --samples trained=results/learn/eval/smollm2-135m-trained/test.samples.jsonl.gz \
        [--rules-on results/learn/puzzles/train.jsonl ...] [--out FILE]

Prints a Markdown document (deductive.evaluation.answer_types): per entry and answer type, the
accuracy, its chance level, the share of questions answered with a listed option, the accuracy
and chance on those answers, and which list positions they pick; the accuracy of each surface
rule (deductive.puzzles.shortcuts) on the evaluated split and on each --rules-on split; and per
entry, answer type and rule, the model's accuracy where the rule fails, where every rule fails
and where no clue names the answer, with 95% Wilson intervals. --out also writes it to a file.
The same inputs give the same bytes.
"""

import argparse
import sys
from pathlib import Path

from deductive.evaluation.answer_types import (answer_type_breakdown, breakdown_markdown, rule_accuracy,
                                               rule_accuracy_markdown, rules_markdown)
from deductive.io import atomic_write_text, read_jsonl
from deductive.provenance import file_sha256
from deductive.puzzles.formats import PuzzleFileError, load_puzzles
from deductive.puzzles.shortcuts import DESCRIPTIONS
from deductive.verify.constraints import ParseError


def _file(path: str) -> str:
    return f"`{path}` (sha256 {file_sha256(path)[:12]})"


def document(args, entries: dict, paths: dict, rules_on: dict) -> str:
    """The whole Markdown document: sources, then the three tables."""
    parts = ["# Accuracy by answer type and against the surface rules\n",
             f"Made by `scripts/answer_types.py` (grader `{args.grader}`) from the puzzles {_file(args.puzzles)} and the "
             "samples " + ", ".join(f"{name} = {_file(path)}" for name, path in paths.items()) + ".\n",
             "## Accuracy by answer type\n",
             "Counted over question samples (a puzzle with 4 samples counts 4 times).\n",
             breakdown_markdown(entries),
             "## The surface rules on each split (no model)\n",
             "Each rule answers with one of the question's listed options that the clues mention "
             "(`deductive.puzzles.shortcuts`); where the clues mention none it scores 1/n (a random listed option):\n",
             "\n".join(f"- `{rule}`: {text}" for rule, text in DESCRIPTIONS.items())
             + "\n- best of the family: the rule most accurate on the evaluated split (on a tie, the first above)\n",
             rule_accuracy_markdown(rules_on),
             "## The model against the surface rules\n",
             "Model accuracy on a set of questions: the mean over them of the share of their samples graded right, "
             "with a 95% Wilson interval counting each question once. A rule fails on a question where its answer "
             "is not the key (no answer counts as failing).\n",
             rules_markdown(entries)]
    return "\n".join(parts)


def main(args) -> int:
    try:
        puzzles = {p.id: p for p in load_puzzles(args.puzzles)}
        rules_on = {Path(args.puzzles).name.split(".")[0]: rule_accuracy(puzzles.values())}
        for path in args.rules_on:
            rules_on[Path(path).name.split(".")[0]] = rule_accuracy(load_puzzles(path))
    except (PuzzleFileError, ParseError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    entries, paths = {}, {}
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
        paths[name] = path
    text = document(args, entries, paths, rules_on)
    print(text, end="")
    if args.out:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puzzles", required=True, help="the evaluated split's puzzles (JSON Lines)")
    parser.add_argument("--samples", action="append", required=True, help="NAME=PATH of a samples file (repeatable)")
    parser.add_argument("--rules-on", action="append", default=[], metavar="PUZZLES",
                        help="another split's puzzle file: report the rules' accuracy on it too (repeatable)")
    parser.add_argument("--grader", default="fixed", choices=["fixed", "compat"])
    parser.add_argument("--out", help="also write the document here")
    sys.exit(main(parser.parse_args()))
