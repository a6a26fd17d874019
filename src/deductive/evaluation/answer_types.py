"""Accuracy by answer type (suspect, weapon, room, time, motive), each beside its chance level.

A split's accuracy mixes two things: whether a completion answers a question with one of the
puzzle's listed options at all (format) and whether it picks the right one (deduction). Per
answer type this module separates them: the share of questions answered with a listed option,
the accuracy on those answers against the chance level of the same questions (1/n for n listed
options), and which list position the listed answers pick (a model stuck on the first option
scores chance however often it answers). Only the project's grader and the verifier's prompt
parser are used, so the numbers agree with the evaluation summaries.

It also measures one shortcut a model can learn without deduction: answering with the option of
the question's type that the clues name first. Per type it reports how accurate that rule is on
the same questions (a reference a trained model can be read against: on puzzles where the rule is
nearly always right, a model that copies from the clues looks like a solver) and how many of the
model's listed answers are that option.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable, Mapping

from deductive.evaluation.chance import question_layout
from deductive.grading import grade_details, normalize
from deductive.puzzles.formats import Puzzle
from deductive.verify.verify import parse_prompt

TYPE_ORDER = ("SUSPECT", "WEAPON", "ROOM", "TIME", "MOTIVE")


def first_named_in_clues(puzzle: Puzzle, options: Mapping[str, list[str]] | None = None) -> dict[str, str | None]:
    """Letter -> the option of that question's list that the clues name first (clues in prompt
    order; within a clue the earliest mention, the longer name on a tie), or None when the clues
    name none of them. Names match whole words only ("Study" is not found in "Studio").
    `options`: the puzzle's `question_layout` options when the caller has them already."""
    if options is None:
        _, options = question_layout(puzzle)
    clues = [c.text for c in sorted(parse_prompt(puzzle.prompt).clues, key=lambda c: c.line_no)]
    out: dict[str, str | None] = {}
    for letter, names in options.items():
        patterns = [(name, re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")) for name in names]
        out[letter] = None
        for text in clues:
            hits = [(m.start(), -len(name), name) for name, pattern in patterns if (m := pattern.search(text))]
            if hits:
                out[letter] = min(hits)[2]
                break
    return out


def answer_type_breakdown(samples: Iterable[Mapping], puzzles: Mapping[str, Puzzle],
                          mode: str = "fixed") -> dict[str, dict]:
    """Answer type -> {questions, accuracy, chance, listed_share, accuracy_when_listed,
    chance_when_listed, listed_picks_by_position, clue_copy_accuracy, listed_first_named_share}.
    `clue_copy_accuracy` is the expected accuracy of answering with the option the clues name
    first (1/n where they name none); `listed_first_named_share` is the share of the listed
    answers that are that option. `samples` are evaluation sample records
    (`puzzle_id`, `text`); `puzzles` maps ids to the puzzles they answer."""
    tally: dict[str, dict] = defaultdict(lambda: {
        "questions": 0, "correct": 0, "chance": 0.0, "listed": 0, "listed_correct": 0,
        "listed_chance": 0.0, "picks": defaultdict(int), "copy_correct": 0.0, "listed_first_named": 0})
    layouts: dict[str, tuple[dict, dict]] = {}
    named: dict[str, dict[str, str | None]] = {}
    for sample in samples:
        pid = sample["puzzle_id"]
        if pid not in puzzles:
            raise KeyError(f"sample of puzzle {pid!r}, which is not among the puzzles given")
        puzzle = puzzles[pid]
        if pid not in layouts:
            layouts[pid] = question_layout(puzzle)
            named[pid] = first_named_in_clues(puzzle, layouts[pid][1])
        types, options = layouts[pid]
        first_named = named[pid]
        details = grade_details(sample["text"], puzzle.solution, mode, options=options)
        for letter, grade in details.letters.items():
            t = tally[types[letter]]
            chance = 1.0 / len(options[letter])
            t["questions"] += 1
            t["correct"] += bool(grade.correct)
            t["chance"] += chance
            copied = first_named[letter]
            t["copy_correct"] += chance if copied is None else float(normalize(copied) == normalize(puzzle.solution[letter]))
            position = grade.position
            if position is not None:
                t["listed"] += 1
                t["listed_correct"] += bool(grade.correct)
                t["listed_chance"] += chance
                t["picks"][position + 1] += 1
                t["listed_first_named"] += options[letter][position] == first_named[letter]
    out = {}
    for kind in sorted(tally, key=lambda k: (TYPE_ORDER.index(k) if k in TYPE_ORDER else 99, k)):
        t = tally[kind]
        n, nl = t["questions"], t["listed"]
        out[kind] = {
            "questions": n,
            "accuracy": t["correct"] / n,
            "chance": t["chance"] / n,
            "listed_share": nl / n,
            "accuracy_when_listed": t["listed_correct"] / nl if nl else None,
            "chance_when_listed": t["listed_chance"] / nl if nl else None,
            "listed_picks_by_position": dict(sorted(t["picks"].items())),
            "clue_copy_accuracy": t["copy_correct"] / n,
            "listed_first_named_share": t["listed_first_named"] / nl if nl else None,
        }
    return out


def breakdown_markdown(breakdowns: Mapping[str, Mapping[str, dict]]) -> str:
    """A Markdown table: one row per (entry, answer type)."""
    lines = ["| entry | answer type | questions | accuracy | chance | listed option given | "
             "accuracy when listed | chance when listed | listed picks by list position | "
             "accuracy of copying the option the clues name first | listed answers that are that option |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"
    for entry, breakdown in breakdowns.items():
        for kind, row in breakdown.items():
            picks = ", ".join(f"{pos}: {count}" for pos, count in row["listed_picks_by_position"].items()) or "none"
            lines.append(f"| {entry} | {kind.lower()} | {row['questions']} | {pct(row['accuracy'])} | "
                         f"{pct(row['chance'])} | {pct(row['listed_share'])} | "
                         f"{pct(row['accuracy_when_listed'])} | {pct(row['chance_when_listed'])} | {picks} | "
                         f"{pct(row['clue_copy_accuracy'])} | {pct(row['listed_first_named_share'])} |")
    return "\n".join(lines) + "\n"
