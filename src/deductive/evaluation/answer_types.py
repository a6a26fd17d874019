"""Accuracy by answer type (suspect, weapon, room, time, motive), each beside its chance level
and beside the surface rules a model can follow without deduction.

A split's accuracy mixes two things: whether a completion answers a question with one of the
puzzle's listed options at all (format) and whether it picks the right one (deduction). Per
answer type this module separates them: the share of questions answered with a listed option,
the accuracy on those answers against the chance level of the same questions (1/n for n listed
options), and which list position the listed answers pick (a model stuck on the first option
scores chance however often it answers). Only the project's grader and the verifier's prompt
parser are used, so the numbers agree with the evaluation summaries.

It also reads the model against the fixed family of surface rules of
`deductive.puzzles.shortcuts` (first named, most named, last named, together clue, murder clue):
per answer type and rule, how accurate the rule is on the same questions (a rule that names no
option scores 1/n, a random listed option), on how many questions it fails, the model's accuracy
on those questions, and how many of the model's listed answers are the rule's answer; then the
best rule, the questions on which every rule fails, and those whose answer no clue names. On
puzzles where some rule is nearly always right, a model that copies from the clues looks like a
solver; its accuracy where the rules fail says whether it is more.

A model's accuracy on a set of questions is the mean over the questions of the share of their
samples graded right (as the evaluation's accuracy is over puzzles), with a Wilson interval that
counts each question once (`deductive.evaluation.bootstrap.wilson_interval`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from deductive.evaluation.bootstrap import wilson_interval
from deductive.evaluation.chance import question_layout
from deductive.grading import grade_details
from deductive.puzzles.formats import Puzzle
from deductive.puzzles.mentions import read_surface
from deductive.puzzles.shortcuts import DESCRIPTIONS, RULES, named_in_clues, rule_answers

TYPE_ORDER = ("SUSPECT", "WEAPON", "ROOM", "TIME", "MOTIVE")


@dataclass
class Question:
    """One question of one puzzle with the rules' answers and the model's graded samples."""
    kind: str                        # answer type
    key: str
    options: list[str]
    rules: dict[str, str | None]     # rule -> its answer (None: the clues name no option)
    named: bool                      # some clue names the key
    correct: list[bool] = field(default_factory=list)        # per sample
    picked: list[int | None] = field(default_factory=list)   # per sample: listed position or None

    @property
    def chance(self) -> float:
        return 1.0 / len(self.options)

    def rule_score(self, rule: str) -> float:
        """1 if the rule's answer is the key, 0 if another option, 1/n if it names none."""
        answer = self.rules[rule]
        return self.chance if answer is None else float(answer == self.key)

    def accuracy(self) -> float:
        return sum(self.correct) / len(self.correct)


def puzzle_questions(puzzle: Puzzle) -> dict[str, Question]:
    """Letter -> the puzzle's question with the rules' answers (no samples yet)."""
    surface = read_surface(puzzle)  # the prompt is parsed once per puzzle
    types, options = question_layout(puzzle, surface)
    answers = rule_answers(puzzle, options, surface)
    return {letter: Question(types[letter], puzzle.solution[letter], options[letter], answers[letter],
                             named_in_clues(puzzle, letter, surface))
            for letter in options}


def _questions(samples: Iterable[Mapping], puzzles: Mapping[str, Puzzle],
               mode: str) -> dict[tuple[str, str], Question]:
    """(puzzle id, letter) -> Question, every sample graded (`mode`: the grader mode)."""
    out: dict[tuple[str, str], Question] = {}
    seen: dict[str, dict[str, Question]] = {}
    for sample in samples:
        pid = sample["puzzle_id"]
        if pid not in puzzles:
            raise KeyError(f"sample of puzzle {pid!r}, which is not among the puzzles given")
        puzzle = puzzles[pid]
        if pid not in seen:
            seen[pid] = puzzle_questions(puzzle)
            out.update({(pid, letter): q for letter, q in seen[pid].items()})
        options = {letter: q.options for letter, q in seen[pid].items()}
        details = grade_details(sample["text"], puzzle.solution, mode, options=options)
        for letter, grade in details.letters.items():
            seen[pid][letter].correct.append(bool(grade.correct))
            seen[pid][letter].picked.append(grade.position)
    return out


def rule_accuracy(puzzles: Iterable[Puzzle]) -> dict[str, dict]:
    """Answer type -> {questions, rules: rule -> accuracy, every_rule_fails (questions),
    answer_named_in_no_clue (questions)}: the surface rules on a split, no model needed."""
    by_type: dict[str, list[Question]] = defaultdict(list)
    for puzzle in puzzles:
        for question in puzzle_questions(puzzle).values():
            by_type[question.kind].append(question)
    return {kind: {"questions": len(qs),
                   "rules": {rule: sum(q.rule_score(rule) for q in qs) / len(qs) for rule in RULES},
                   "every_rule_fails": sum(all(a != q.key for a in q.rules.values()) for q in qs),
                   "answer_named_in_no_clue": sum(not q.named for q in qs)}
            for kind, qs in sorted(by_type.items(), key=lambda kv: _type_rank(kv[0]))}


def _type_rank(kind: str) -> tuple[int, str]:
    return (TYPE_ORDER.index(kind) if kind in TYPE_ORDER else 99, kind)


def _model_on(questions: list[Question]) -> dict:
    """The model's accuracy on `questions` with its Wilson interval (None when there are none)."""
    if not questions:
        return {"questions": 0, "accuracy": None, "ci95": None, "samples_right": 0, "samples": 0}
    acc = sum(q.accuracy() for q in questions) / len(questions)
    return {"questions": len(questions), "accuracy": acc, "ci95": wilson_interval(acc, len(questions)),
            "samples_right": sum(sum(q.correct) for q in questions),
            "samples": sum(len(q.correct) for q in questions)}


def _format_numbers(questions: list[Question]) -> dict:
    """Format against pick: accuracy, chance, listed share and picks, counted over samples."""
    n = sum(len(q.correct) for q in questions)
    listed = [(q, right, pos) for q in questions for right, pos in zip(q.correct, q.picked) if pos is not None]
    picks: dict[int, int] = defaultdict(int)
    for _, _, pos in listed:
        picks[pos + 1] += 1
    nl = len(listed)
    return {
        "questions": n,
        "accuracy": sum(sum(q.correct) for q in questions) / n,
        "chance": sum(q.chance * len(q.correct) for q in questions) / n,
        "listed_share": nl / n,
        "accuracy_when_listed": sum(right for _, right, _ in listed) / nl if nl else None,
        "chance_when_listed": sum(q.chance for q, _, _ in listed) / nl if nl else None,
        "listed_picks_by_position": dict(sorted(picks.items())),
    }


def _rule_numbers(questions: list[Question]) -> dict:
    """Per rule: its accuracy on the questions, the questions where it fails with the model's
    accuracy there, and the share of the model's listed answers that are the rule's."""
    listed = [(q, q.options[pos]) for q in questions for pos in q.picked if pos is not None]
    rules = {}
    for rule in RULES:
        fails = [q for q in questions if q.rules[rule] != q.key]
        rules[rule] = {
            "accuracy": sum(q.rule_score(rule) for q in questions) / len(questions),
            "model_where_it_fails": _model_on(fails),
            "model_agrees": sum(answer == q.rules[rule] for q, answer in listed) / len(listed) if listed else None,
        }
    best = max(RULES, key=lambda rule: (rules[rule]["accuracy"], -list(RULES).index(rule)))
    return {
        "rules": rules,
        "best_rule": best,
        "model": _model_on(questions),
        "every_rule_fails": _model_on([q for q in questions if all(a != q.key for a in q.rules.values())]),
        "answer_named_in_no_clue": _model_on([q for q in questions if not q.named]),
    }


def answer_type_breakdown(samples: Iterable[Mapping], puzzles: Mapping[str, Puzzle],
                          mode: str = "fixed") -> dict[str, dict]:
    """Answer type -> {questions, accuracy, chance, listed_share, accuracy_when_listed,
    chance_when_listed, listed_picks_by_position (counted over samples: `questions` is the
    number of graded question-samples), and the surface rules: rules (rule -> accuracy,
    model_where_it_fails, model_agrees), best_rule, model, every_rule_fails,
    answer_named_in_no_clue (each a model accuracy on those questions: questions, accuracy,
    ci95, samples_right, samples)}. `samples` are evaluation sample records (`puzzle_id`,
    `text`); `puzzles` maps ids to the puzzles they answer."""
    by_type: dict[str, list[Question]] = defaultdict(list)
    for question in _questions(samples, puzzles, mode).values():
        by_type[question.kind].append(question)
    order = sorted(by_type, key=_type_rank)
    return {kind: {**_format_numbers(by_type[kind]), **_rule_numbers(by_type[kind])} for kind in order}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _model_cell(m: dict) -> str:
    if not m["questions"]:
        return "no questions"
    lo, hi = m["ci95"]
    return f"{_pct(m['accuracy'])} [{100 * lo:.1f}, {100 * hi:.1f}] ({m['samples_right']} of {m['samples']} samples)"


def breakdown_markdown(breakdowns: Mapping[str, Mapping[str, dict]]) -> str:
    """A Markdown table: one row per (entry, answer type)."""
    lines = ["| entry | answer type | question samples | accuracy | chance | listed option given | "
             "accuracy when listed | chance when listed | listed picks by list position |",
             "|---|---|---|---|---|---|---|---|---|"]
    for entry, breakdown in breakdowns.items():
        for kind, row in breakdown.items():
            picks = ", ".join(f"{pos}: {count}" for pos, count in row["listed_picks_by_position"].items()) or "none"
            lines.append(f"| {entry} | {kind.lower()} | {row['questions']} | {_pct(row['accuracy'])} | "
                         f"{_pct(row['chance'])} | {_pct(row['listed_share'])} | "
                         f"{_pct(row['accuracy_when_listed'])} | {_pct(row['chance_when_listed'])} | {picks} |")
    return "\n".join(lines) + "\n"


def rules_markdown(breakdowns: Mapping[str, Mapping[str, dict]]) -> str:
    """A Markdown table of the surface rules: per (entry, answer type), one row per rule (its
    accuracy, how many of the model's listed answers are its answer, the questions where it
    fails and the model's accuracy on them), the best rule again, then the model on all
    questions, on those where every rule fails and on those whose answer no clue names; each
    model accuracy with its 95% Wilson interval."""
    lines = ["| entry | answer type | rule, or set of questions | rule accuracy | model's listed answers "
             "that are the rule's | questions where the rule fails (or in the set) | model accuracy on them [95% CI] |",
             "|---|---|---|---|---|---|---|"]
    for entry, breakdown in breakdowns.items():
        for kind, row in breakdown.items():
            head = f"| {entry} | {kind.lower()} |"

            def rule_line(label: str, r: dict) -> str:
                m = r["model_where_it_fails"]
                return (f"{head} {label} | {_pct(r['accuracy'])} | {_pct(r['model_agrees'])} | "
                        f"{m['questions']} | {_model_cell(m)} |")

            for rule, r in row["rules"].items():
                lines.append(rule_line(f"{rule}: {DESCRIPTIONS[rule]}", r))
            lines.append(rule_line(f"best of the family: {row['best_rule']}", row["rules"][row["best_rule"]]))
            for label, key in (("all questions", "model"), ("every rule of the family fails", "every_rule_fails"),
                               ("the answer is named in no clue", "answer_named_in_no_clue")):
                m = row[key]
                lines.append(f"{head} {label} | | | {m['questions']} | {_model_cell(m)} |")
    return "\n".join(lines) + "\n"


def rule_accuracy_markdown(splits: Mapping[str, Mapping[str, dict]]) -> str:
    """A Markdown table of `rule_accuracy` per split: one row per (split, answer type)."""
    lines = ["| split | answer type | questions | " + " | ".join(RULES) +
             " | every rule fails | answer named in no clue |",
             "|---|---|---|" + "---|" * (len(RULES) + 2)]
    for split, by_type in splits.items():
        for kind, row in by_type.items():
            rules = " | ".join(_pct(row["rules"][rule]) for rule in RULES)
            lines.append(f"| {split} | {kind.lower()} | {row['questions']} | {rules} | "
                         f"{row['every_rule_fails']} | {row['answer_named_in_no_clue']} |")
    return "\n".join(lines) + "\n"
