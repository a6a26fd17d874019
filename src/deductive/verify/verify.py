"""Verify one puzzle from its prompt text and answer key alone.

A puzzle verifies when its prompt parses (dialect detected from the text), exactly one world
satisfies the rules and clues (so every question has exactly one answer), and those answers
equal the key. The generator's code is not used: this is an independent second reading.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from deductive.puzzles.formats import Puzzle
from deductive.verify.constraints import ParseError, ParsedPuzzle
from deductive.verify.parse_native import looks_native, parse_native
from deductive.verify.parse_original import looks_original, parse_original
from deductive.verify.solve import Readings, solve


@dataclass
class Verdict:
    puzzle_id: str
    ok: bool
    kind: str  # verified | parse | contradiction | ambiguous | mismatch | key | timeout | error
    message: str
    dialect: str | None
    seconds: float

    def line(self) -> str:
        return f"{self.puzzle_id}: {'ok' if self.ok else self.kind}: {self.message}"


def detect_dialect(prompt: str) -> str:
    if looks_native(prompt):
        return "native"
    if looks_original(prompt):
        return "original"
    raise ParseError("neither the original nor the native prompt format (no clue section found)")


def parse_prompt(prompt: str) -> ParsedPuzzle:
    dialect = detect_dialect(prompt)
    return parse_native(prompt) if dialect == "native" else parse_original(prompt)


def verify_puzzle(puzzle: Puzzle, *, time_limit: float = 120.0,
                  readings: Readings = Readings()) -> Verdict:
    start = time.monotonic()
    dialect = None

    def verdict(ok: bool, kind: str, message: str) -> Verdict:
        return Verdict(puzzle.id, ok, kind, message, dialect, time.monotonic() - start)

    try:
        parsed = parse_prompt(puzzle.prompt)
        dialect = parsed.dialect
        outcome = solve(parsed, time_limit=time_limit, readings=readings)
    except ParseError as exc:
        return verdict(False, "parse", f"parse error: {exc}")
    except Exception as exc:  # a verifier bug must fail this puzzle, not the whole run
        return verdict(False, "error", f"internal error: {type(exc).__name__}: {exc}")
    asked = [q.letter for q in parsed.questions]
    if sorted(puzzle.solution) != sorted(asked):
        return verdict(False, "key", f"the key answers {sorted(puzzle.solution)} but the prompt "
                                     f"asks {sorted(asked)}")
    if outcome.status == "contradiction":
        return verdict(False, "contradiction", "no solution: the clues contradict the rules")
    if outcome.status == "timeout":
        return verdict(False, "timeout", f"a solver call gave no answer within {time_limit:.0f} s")
    if outcome.status == "ambiguous":
        if outcome.other is not None:
            letter = next(l for l in asked if outcome.answers[l] != outcome.other[l])
            return verdict(False, "ambiguous",
                           f"several solutions: question {letter} can be "
                           f"{outcome.answers[letter]!r} or {outcome.other[letter]!r}")
        return verdict(False, "ambiguous", f"several solutions: {outcome.detail}")
    wrong = [l for l in asked if outcome.answers[l].strip() != str(puzzle.solution[l]).strip()]
    if wrong:
        parts = "; ".join(f"question {l}: key says {puzzle.solution[l]!r}, the only solution "
                          f"says {outcome.answers[l]!r}" for l in wrong)
        return verdict(False, "mismatch", f"mismatch with the key: {parts}")
    return verdict(True, "verified", f"unique solution matches the key ({dialect} format, "
                                     f"{len(parsed.clues)} clues)")
