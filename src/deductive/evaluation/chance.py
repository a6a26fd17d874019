"""Chance level: the reward of a solver that answers every question with a uniformly random
option from the puzzle's own list for that question's answer type.

For one question with n listed options exactly one option is right (the answer key is always one
of the listed names), so the expected score of that question is 1/n; a puzzle's expected reward
is the mean of 1/n over its questions, and a split's chance level is the mean over its puzzles.
This is exact (no sampling). The lists come from the prompt text itself, read by the
independent verifier's parser (`deductive.verify`, through `deductive.puzzles.mentions`), so it
works for generated and published puzzles alike.
"""

from __future__ import annotations

from typing import Sequence

from deductive.puzzles.formats import Puzzle
from deductive.puzzles.mentions import Surface, read_surface


def question_layout(puzzle: Puzzle, surface: Surface | None = None) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(letter -> answer type, letter -> the listed options of that type) for every letter of
    the answer key; types are SUSPECT, WEAPON, ROOM, TIME or MOTIVE, lists as the prompt has them.
    `surface`: the prompt already read (`deductive.puzzles.mentions.read_surface`)."""
    surface = surface or read_surface(puzzle)
    try:
        return surface.layout(puzzle.solution)
    except ValueError as exc:
        raise ValueError(f"puzzle {puzzle.id}: {exc}") from None


def answer_options(puzzle: Puzzle) -> dict[str, list[str]]:
    """Letter -> the puzzle's listed options for that question's answer type (suspects, weapons,
    rooms, times or motives, as the prompt lists them)."""
    return question_layout(puzzle)[1]


def options_if_parsable(puzzle: Puzzle) -> dict[str, list[str]] | None:
    """`answer_options`, or None for a prompt the verifier cannot read (synthetic test prompts)."""
    from deductive.verify.constraints import ParseError

    try:
        return answer_options(puzzle)
    except (ParseError, ValueError):
        return None


def option_counts(puzzle: Puzzle) -> dict[str, int]:
    """Letter -> number of listed options for that question's answer type."""
    return {letter: len(options) for letter, options in answer_options(puzzle).items()}


def chance_reward(puzzle: Puzzle) -> float:
    """Expected reward of uniformly random answers from the puzzle's lists (exact)."""
    counts = option_counts(puzzle)
    return sum(1.0 / n for n in counts.values()) / len(counts)


def split_chance_reward(puzzles: Sequence[Puzzle]) -> float:
    """The chance level of a split: the mean of the puzzles' chance rewards."""
    if not puzzles:
        raise ValueError("no puzzles")
    return sum(chance_reward(p) for p in puzzles) / len(puzzles)


def chance_if_parsable(puzzles: Sequence[Puzzle]) -> float | None:
    """`split_chance_reward`, or None for puzzles whose prompt is not a Temporal Clue prompt the
    verifier can read (the synthetic prompts of some unit tests). Every generated or published
    puzzle parses (the `verify_puzzles` rule checks them all), so real results always carry it."""
    from deductive.verify.constraints import ParseError

    try:
        return split_chance_reward(puzzles)
    except (ParseError, ValueError):
        return None
