"""What a puzzle says, apart from how it is laid out: content keys that keep splits apart.

Two puzzles can differ in their option lists, their map or the order of their clues and still
state the same facts and ask the same thing. Two keys compare them:

- `content_key`: the clue sentences (sorted) with each question and its answer (sorted). Two
  puzzles with the same key are the same exercise: a split that repeats one from another split
  is not held out from it. Splits are kept apart by this key (`deductive.puzzles.run`).
- `pattern_key`: the same with every listed name abstracted to its type and a number (the same
  name, the same number), canonical under renaming: "Mrs. White was in the Hall" and "Mr. Green
  was in the Kitchen" share it. Two puzzles with one pattern take the same steps; reported
  (`overlap`), not enforced: on small shapes a handful of patterns covers most puzzles.

Keys are hex digests of a JSON text, so they are short, stable and independent of
PYTHONHASHSEED.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from deductive.puzzles.formats import Puzzle, PuzzleFileError, load_puzzles
from deductive.puzzles.mentions import TYPES, Surface, find_mentions, read_surface

# Labellings tried at most for one pattern key: names whose mentions look alike (the same
# sentences, the same places) are numbered every way and the smallest result is the key.
# Beyond this many ties (large puzzles with many interchangeable names) one labelling is used
# and the key may tell two renamed copies apart (never makes different puzzles equal).
MAX_LABELLINGS = 5040


def _digest(value) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _items(puzzle: Puzzle, surface: Surface) -> tuple[list[str], list[str]]:
    """(clue sentences, "question => answer" lines), the questions in letter order."""
    questions = [f"{surface.questions[letter][1]} => {puzzle.solution[letter]}"
                 for letter in sorted(puzzle.solution) if letter in surface.questions]
    return list(surface.clues), questions


def content_key(puzzle: Puzzle, surface: Surface | None = None) -> str:
    """The sorted clue sentences and the sorted questions with their answers, as a digest."""
    surface = surface or read_surface(puzzle)
    clues, questions = _items(puzzle, surface)
    return _digest([sorted(clues), sorted(questions)])


def _split(text: str, names: Sequence[str]) -> list[str]:
    """`text` cut at its mentions: literal, name, literal, name, ..., literal."""
    parts, at = [], 0
    for start, name in find_mentions(text, names):
        parts += [text[at:start], name]
        at = start + len(name)
    return parts + [text[at:]]


def pattern_key(puzzle: Puzzle, surface: Surface | None = None) -> str:
    """The content key with names abstracted: each listed name becomes `<TYPE k>`, numbered by a
    labelling that does not depend on which names the puzzle drew (see module doc)."""
    surface = surface or read_surface(puzzle)
    type_of = {name: kind for kind in TYPES for name in surface.names[kind]}
    clues, questions = _items(puzzle, surface)
    cut = [("clue", _split(t, list(type_of))) for t in clues]
    cut += [("question", _split(t, list(type_of))) for t in questions]

    def template(parts):  # names replaced by their type alone
        return tuple(p if i % 2 == 0 else type_of[p] for i, p in enumerate(parts))

    signature: dict[str, list] = {}
    for kind, parts in cut:
        shape = template(parts)
        for slot, name in enumerate(parts[1::2]):
            signature.setdefault(name, []).append((kind, shape, slot))
    groups = []  # per type, names with equal signatures, in signature order
    for kind in TYPES:
        named = sorted((sorted(signature[n]), n) for n in signature if type_of[n] == kind)
        for _, members in itertools.groupby(named, key=lambda x: x[0]):
            groups.append((kind, [n for _, n in members]))
    ties = math.prod(math.factorial(len(members)) for _, members in groups)
    orders = (itertools.product(*(itertools.permutations(m) for _, m in groups))
              if ties <= MAX_LABELLINGS else [tuple(tuple(m) for _, m in groups)])
    best = None
    for order in orders:
        label, counts = {}, Counter()
        for (kind, _), names in zip(groups, order):
            for name in names:
                counts[kind] += 1
                label[name] = f"<{kind} {counts[kind]}>"
        forms = {"clue": [], "question": []}
        for kind, parts in cut:
            forms[kind].append("".join(p if i % 2 == 0 else label[p] for i, p in enumerate(parts)))
        candidate = [sorted(forms["clue"]), sorted(forms["question"])]
        if best is None or candidate < best:
            best = candidate
    return _digest(best)


def puzzle_keys(puzzle: Puzzle) -> tuple[str, str]:
    """(content key, pattern key) of one puzzle, its prompt read once."""
    surface = read_surface(puzzle)
    return content_key(puzzle, surface), pattern_key(puzzle, surface)


KEYS = {"content": content_key, "pattern": pattern_key}


@lru_cache(maxsize=64)
def _file_keys(path: str, by: str, stamp: tuple[int, int]) -> frozenset[str]:
    return frozenset(KEYS[by](p) for p in load_puzzles(path))


def keys_of_files(paths: Iterable[str | Path], by: str = "content") -> frozenset[str]:
    """The keys (`by`: content or pattern) of every puzzle in the files `paths` (each file read
    once while it is unchanged; PuzzleFileError for a missing one)."""
    keys: set[str] = set()
    for path in map(str, paths):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise PuzzleFileError(f"{path}: no such puzzle file") from None
        keys |= _file_keys(path, by, (stat.st_mtime_ns, stat.st_size))
    return frozenset(keys)


def overlap(puzzles: Sequence[Puzzle], others: dict[str, Sequence[Puzzle]]) -> dict:
    """How much of `puzzles` repeats itself and each of `others` (name -> puzzles): per other
    split, how many of `puzzles` have the content key (`exact`) or the pattern key (`pattern`)
    of one of its puzzles; within the split, how many distinct keys it has."""
    mine = [puzzle_keys(p) for p in puzzles]
    out = {"distinct_exact": len({k for k, _ in mine}), "distinct_pattern": len({k for _, k in mine}),
           "against": {}}
    for name, theirs in others.items():
        keys = [puzzle_keys(p) for p in theirs]
        exact, pattern = {k for k, _ in keys}, {k for _, k in keys}
        out["against"][name] = {"exact": sum(k in exact for k, _ in mine),
                                "pattern": sum(k in pattern for _, k in mine),
                                "patterns_shared": len({k for _, k in mine} & pattern)}
    return out
