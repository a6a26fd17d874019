"""Content keys (deductive.puzzles.content): the same exercise whatever the lists, map or clue
order; the same pattern whatever the names; the audit's counts on the committed splits."""

from __future__ import annotations

import pytest

from deductive.config import load_config
from deductive.puzzles.content import content_key, keys_of_files, overlap, pattern_key
from deductive.puzzles.formats import Puzzle, PuzzleFileError, load_puzzles
from deductive.puzzles.generator import generate
from deductive.puzzles.world import Shape
from deductive.settings import training_splits

from conftest import ROOT


def _puzzle(record: dict) -> Puzzle:
    return Puzzle(id=record["id"], prompt=record["prompt"], solution=record["solution"])


@pytest.fixture(scope="module")
def puzzle() -> Puzzle:
    return _puzzle(generate(5, 3, shape=Shape(2, 2, 4, 1), max_questions=1, main_kinds=("room",)))


def _section(prompt: str, head: str) -> tuple[int, int]:
    start = prompt.index(head) + len(head)
    return start, prompt.index("\n\n", start)


def _reorder(prompt: str, head: str) -> str:
    """The prompt with the lines of one section in reverse order."""
    start, end = _section(prompt, head)
    lines = prompt[start:end].split("\n")
    return prompt[:start] + "\n".join(reversed(lines)) + prompt[end:]


def _swap(text: str, a: str, b: str) -> str:
    return text.replace(a, "\0").replace(b, a).replace("\0", b)


def test_clue_order_and_list_order_do_not_change_the_content(puzzle):
    shuffled = Puzzle("other", _reorder(_reorder(puzzle.prompt, "Clues:\n"), "Suspects:\n"), puzzle.solution)
    assert shuffled.prompt != puzzle.prompt
    assert content_key(shuffled) == content_key(puzzle) and pattern_key(shuffled) == pattern_key(puzzle)


def test_renamed_names_keep_the_pattern_and_change_the_content(puzzle):
    rooms = puzzle.prompt[slice(*_section(puzzle.prompt, "Rooms:\n"))].split("\n")
    rooms = [line.split(". ", 1)[1] for line in rooms]
    named = [r for r in rooms if r in puzzle.prompt.split("Clues:")[1]]
    assert len(named) >= 2, "the fixture's clues name two rooms"
    a, b = named[:2]
    renamed = Puzzle("renamed", _swap(puzzle.prompt, a, b),
                     {k: _swap(v, a, b) if v in (a, b) else v for k, v in puzzle.solution.items()})
    assert content_key(renamed) != content_key(puzzle)
    assert pattern_key(renamed) == pattern_key(puzzle)
    # a room of the pool that the puzzle does not list, everywhere instead of one it does
    fresh = next(r for r in ("Conservatory", "Ballroom", "Lounge", "Kitchen") if r not in puzzle.prompt)
    moved = Puzzle("moved", puzzle.prompt.replace(a, fresh),
                   {k: fresh if v == a else v for k, v in puzzle.solution.items()})
    assert pattern_key(moved) == pattern_key(puzzle)


def test_another_answer_or_another_clue_is_other_content(puzzle):
    rooms = [line.split(". ", 1)[1] for line in puzzle.prompt[slice(*_section(puzzle.prompt, "Rooms:\n"))].split("\n")]
    wrong = next(r for r in rooms if r != puzzle.solution["A"])
    other_answer = Puzzle("x", puzzle.prompt, {"A": wrong})
    assert content_key(other_answer) != content_key(puzzle) and pattern_key(other_answer) != pattern_key(puzzle)
    start, end = _section(puzzle.prompt, "Clues:\n")
    fewer = Puzzle("y", puzzle.prompt[:start] + puzzle.prompt[start:end].split("\n", 1)[1] + puzzle.prompt[end:],
                   puzzle.solution)
    assert content_key(fewer) != content_key(puzzle) and pattern_key(fewer) != pattern_key(puzzle)


def test_the_audits_counts_on_committed_learn_room_splits():
    """Issue 20's audit of learn-room: 4 test puzzles repeat a val puzzle, 101 follow a val
    pattern; 29 distinct patterns among the 128 test puzzles (val and test are not regenerated
    by content-disjoint splits: they are generated first)."""
    puzzles = ROOT / "results" / "learn-room" / "puzzles"
    test, val = load_puzzles(puzzles / "test.jsonl"), load_puzzles(puzzles / "val.jsonl")
    o = overlap(test, {"val": val})
    assert o["distinct_exact"] == 121 and o["distinct_pattern"] == 29
    assert o["against"]["val"] == {"exact": 4, "pattern": 101, "patterns_shared": 14}
    assert len(keys_of_files([puzzles / "val.jsonl"])) == 32
    assert len(keys_of_files([puzzles / "val.jsonl"], "pattern")) == 17


COMMITTED_PUZZLE_DIRS = sorted((ROOT / "results").glob("*/puzzles"))


@pytest.mark.parametrize("puzzles", COMMITTED_PUZZLE_DIRS, ids=lambda d: d.parent.name)
def test_every_committed_training_split_shares_no_content_with_a_held_out_split(puzzles):
    """Issue 20's Done-when: what a profile trains on (deductive.settings.training_splits: the
    train split and a curriculum's) repeats the clues and answer of no puzzle of its other
    splits, which it is validated or evaluated on; the splits are the profile's config's."""
    config = load_config(puzzles.parent.name)
    training = training_splits(config)
    held_out = [s for s in config["puzzles"]["splits"] if s not in training]
    assert training and held_out, f"{puzzles}: no training or no held-out split"
    for train in training:
        seen = keys_of_files([puzzles / f"{train}.jsonl"])
        shared = {s: len(seen & keys_of_files([puzzles / f"{s}.jsonl"])) for s in held_out}
        assert not any(shared.values()), f"{puzzles}/{train}.jsonl repeats held-out content: {shared}"


def test_the_committed_profiles_are_all_checked():
    names = {d.parent.name for d in COMMITTED_PUZZLE_DIRS}
    assert {"learn", "learn-room-2x2", "learn-room-2x2-curriculum", "learn-room-2x2-tokens"} <= names


def test_a_missing_file_is_named():
    with pytest.raises(PuzzleFileError, match="nowhere.jsonl"):
        keys_of_files(["nowhere.jsonl"])
