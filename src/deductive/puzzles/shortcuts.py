"""Surface rules: answers a reader can copy off the clues without deducing anything.

Each rule of the fixed family `RULES` reads one question's listed options (the names of its
answer type) and the clue sentences in prompt order, and answers with one of the options the
clues mention, or with None when the clues mention none of them:

- `first_named`: the option the clues name first (the first clue naming any; in it the leftmost
  name, the longer one where two start at one place);
- `most_named`: the option mentioned most often over all clues; a tie goes to the tied option
  named first;
- `last_named`: the option the clues name last (the last clue naming any; in it the rightmost);
- `together`: the first option named in a "X and Y were together in R at least once" clue (for a
  room question: R), else `first_named`;
- `murder_clue`: the first option named in a clue that mentions the murderer, the murder weapon
  or Mr. Boddy, else `first_named`;
- `unnamed`: when the clues name some of the options but not all, the first listed option no
  clue names (where the map decides, the answer is often the one room the clues never mention),
  else `first_named`.

A rule fails on a question when its answer is not the key (None fails too). A puzzle is
shortcut-free when every rule fails on every question: the split of such puzzles is where
"learned to deduce" can be claimed or refuted (`deductive.puzzles.run`, filter
`shortcut_free`). `deductive.evaluation.answer_types` reads a model's answers against the same
rules.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable, Mapping, Sequence

from deductive.puzzles.formats import Puzzle
from deductive.puzzles.mentions import Surface, find_mentions, read_surface
from deductive.puzzles.stats import classify

Rule = Callable[[Sequence[str], Sequence[str]], "str | None"]

_MURDER = re.compile(r"(?<!\w)(?:murderer|murder weapon|Mr\. Boddy)(?!\w)", re.IGNORECASE)


def first_named(clues: Sequence[str], names: Sequence[str]) -> str | None:
    for text in clues:
        hits = find_mentions(text, names)
        if hits:
            return hits[0][1]
    return None


def last_named(clues: Sequence[str], names: Sequence[str]) -> str | None:
    for text in reversed(clues):
        hits = find_mentions(text, names)
        if hits:
            return hits[-1][1]
    return None


def most_named(clues: Sequence[str], names: Sequence[str]) -> str | None:
    counts: Counter = Counter()
    order: dict[str, int] = {}  # name -> rank of its first mention
    for text in clues:
        for _, name in find_mentions(text, names):
            counts[name] += 1
            order.setdefault(name, len(order))
    if not counts:
        return None
    return min(counts, key=lambda name: (-counts[name], order[name]))


def together(clues: Sequence[str], names: Sequence[str]) -> str | None:
    return (first_named([c for c in clues if classify(c) == "together"], names)
            or first_named(clues, names))


def murder_clue(clues: Sequence[str], names: Sequence[str]) -> str | None:
    return first_named([c for c in clues if _MURDER.search(c)], names) or first_named(clues, names)


def unnamed(clues: Sequence[str], names: Sequence[str]) -> str | None:
    named = {name for text in clues for _, name in find_mentions(text, names)}
    if not named:
        return None
    return next((name for name in names if name not in named), None) or first_named(clues, names)


RULES: dict[str, Rule] = {
    "first_named": first_named,
    "most_named": most_named,
    "last_named": last_named,
    "together": together,
    "murder_clue": murder_clue,
    "unnamed": unnamed,
}

# What each rule answers, in the words the tables use.
DESCRIPTIONS = {
    "first_named": "the option the clues name first",
    "most_named": "the option named most often (a tie: the tied option named first)",
    "last_named": "the option the clues name last",
    "together": "the option of a 'together in R at least once' clue, else the first named",
    "murder_clue": "the first option of a clue naming the murderer, the murder weapon or Mr. Boddy, "
                   "else the first named",
    "unnamed": "the first listed option no clue names, else the first named",
}


def rule_answers(puzzle: Puzzle, options: Mapping[str, Sequence[str]] | None = None,
                 surface: Surface | None = None) -> dict[str, dict[str, str | None]]:
    """Letter -> rule name -> that rule's answer to the question (None: the clues name none of
    its options), for every letter of the answer key. `options`: letter -> listed options, when
    the caller has them already (default: the names of each question's answer type)."""
    surface = surface or read_surface(puzzle)
    if options is None:
        options = surface.layout(puzzle.solution)[1]
    return {letter: {name: rule(surface.clues, names) for name, rule in RULES.items()}
            for letter, names in options.items()}


def named_in_clues(puzzle: Puzzle, letter: str, surface: Surface | None = None) -> bool:
    """Whether any clue names the answer key of question `letter`."""
    surface = surface or read_surface(puzzle)
    key = puzzle.solution[letter]
    return any(find_mentions(text, [key]) for text in surface.clues)


def shortcut_free(puzzle: Puzzle) -> bool:
    """True when every rule of the family fails on every question of `puzzle`."""
    answers = rule_answers(puzzle)
    return all(answer != puzzle.solution[letter]
               for letter, by_rule in answers.items() for answer in by_rule.values())


FILTERS: dict[str, Callable[[Puzzle], bool]] = {"shortcut_free": shortcut_free}
