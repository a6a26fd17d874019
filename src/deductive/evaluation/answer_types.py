"""Accuracy by answer type (suspect, weapon, room, time, motive), each beside its chance level.

A split's accuracy mixes two things: whether a completion answers a question with one of the
puzzle's listed options at all (format) and whether it picks the right one (deduction). Per
answer type this module separates them: the share of questions answered with a listed option,
the accuracy on those answers against the chance level of the same questions (1/n for n listed
options), and which list position the listed answers pick (a model stuck on the first option
scores chance however often it answers). Only the project's grader and the verifier's prompt
parser are used, so the numbers agree with the evaluation summaries.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping

from deductive.evaluation.chance import question_layout
from deductive.grading import grade_details, listed_position
from deductive.puzzles.formats import Puzzle

TYPE_ORDER = ("SUSPECT", "WEAPON", "ROOM", "TIME", "MOTIVE")


def answer_type_breakdown(samples: Iterable[Mapping], puzzles: Mapping[str, Puzzle],
                          mode: str = "fixed") -> dict[str, dict]:
    """Answer type -> {questions, accuracy, chance, listed_share, accuracy_when_listed,
    chance_when_listed, listed_picks_by_position}. `samples` are evaluation sample records
    (`puzzle_id`, `text`); `puzzles` maps ids to the puzzles they answer."""
    tally: dict[str, dict] = defaultdict(lambda: {
        "questions": 0, "correct": 0, "chance": 0.0, "listed": 0, "listed_correct": 0,
        "listed_chance": 0.0, "picks": defaultdict(int)})
    layouts: dict[str, tuple[dict, dict]] = {}
    for sample in samples:
        pid = sample["puzzle_id"]
        if pid not in puzzles:
            raise KeyError(f"sample of puzzle {pid!r}, which is not among the puzzles given")
        puzzle = puzzles[pid]
        if pid not in layouts:
            layouts[pid] = question_layout(puzzle)
        types, options = layouts[pid]
        details = grade_details(sample["text"], puzzle.solution, mode)
        for letter, grade in details.letters.items():
            t = tally[types[letter]]
            chance = 1.0 / len(options[letter])
            t["questions"] += 1
            t["correct"] += bool(grade.correct)
            t["chance"] += chance
            position = listed_position(grade.answer, options[letter])
            if position is not None:
                t["listed"] += 1
                t["listed_correct"] += bool(grade.correct)
                t["listed_chance"] += chance
                t["picks"][position + 1] += 1
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
        }
    return out


def breakdown_markdown(breakdowns: Mapping[str, Mapping[str, dict]]) -> str:
    """A Markdown table: one row per (entry, answer type)."""
    lines = ["| entry | answer type | questions | accuracy | chance | listed option given | "
             "accuracy when listed | chance when listed | listed picks by list position |",
             "|---|---|---|---|---|---|---|---|---|"]
    pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"
    for entry, breakdown in breakdowns.items():
        for kind, row in breakdown.items():
            picks = ", ".join(f"{pos}: {count}" for pos, count in row["listed_picks_by_position"].items()) or "none"
            lines.append(f"| {entry} | {kind.lower()} | {row['questions']} | {pct(row['accuracy'])} | "
                         f"{pct(row['chance'])} | {pct(row['listed_share'])} | "
                         f"{pct(row['accuracy_when_listed'])} | {pct(row['chance_when_listed'])} | {picks} |")
    return "\n".join(lines) + "\n"
