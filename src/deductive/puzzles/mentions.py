"""A prompt as a reader sees it: the clue sentences in prompt order, the listed names of each
answer type, and where the clues mention those names.

One implementation for everything that reads names off a prompt's surface: the content keys
that keep splits apart (`deductive.puzzles.content`) and the surface rules a model can follow
without deduction (`deductive.puzzles.shortcuts`). The prompt is read by the independent
verifier's parser, so generated and published puzzles are read alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from deductive.puzzles.formats import Puzzle
from deductive.verify.verify import parse_prompt

TYPES = ("SUSPECT", "WEAPON", "ROOM", "TIME", "MOTIVE")


@dataclass(frozen=True)
class Surface:
    """What a prompt states, as text: clue sentences in prompt order, the listed names per
    answer type, and the questions (letter -> (answer type, question sentence))."""
    clues: tuple[str, ...]
    names: dict[str, tuple[str, ...]]
    questions: dict[str, tuple[str, str]]

    def layout(self, letters) -> tuple[dict[str, str], dict[str, list[str]]]:
        """(letter -> answer type, letter -> the listed options of that type) for `letters` (an
        answer key's), in letter order; ValueError naming letters the prompt does not ask."""
        missing = sorted(set(letters) - set(self.questions))
        if missing:
            raise ValueError(f"answer key letters {missing} are not questions of its prompt")
        ordered = sorted(letters)
        return ({l: self.questions[l][0] for l in ordered},
                {l: list(self.names[self.questions[l][0]]) for l in ordered})


def read_surface(puzzle: Puzzle) -> Surface:
    """The clues, lists and questions of `puzzle`'s prompt (ParseError for an unreadable one)."""
    parsed = parse_prompt(puzzle.prompt)
    names = {"SUSPECT": parsed.suspects, "WEAPON": parsed.weapons, "ROOM": parsed.rooms,
             "TIME": parsed.times, "MOTIVE": parsed.motives}
    return Surface(clues=tuple(c.text for c in sorted(parsed.clues, key=lambda c: c.line_no)),
                   names={t: tuple(v) for t, v in names.items()},
                   questions={q.letter: (q.answer_type, q.text) for q in parsed.questions})


@lru_cache(maxsize=4096)
def _pattern(names: tuple[str, ...]) -> re.Pattern:
    # the longer name first, so that at one position the longer of two names matches
    ordered = sorted(set(names), key=lambda n: (-len(n), n))
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)")


def find_mentions(text: str, names) -> list[tuple[int, str]]:
    """(start, name) of each mention of one of `names` in `text`, left to right: whole words only
    ("Study" is not found in "Studio"), the longer name where two match at one place, and no two
    mentions overlap."""
    names = tuple(names)
    if not names:
        return []
    return [(m.start(), m.group(0)) for m in _pattern(names).finditer(text)]
