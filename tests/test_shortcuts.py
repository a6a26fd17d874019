"""Surface rules (deductive.puzzles.shortcuts): each rule on hand-written clues, the ties and
fallbacks the docs state, and the shortcut-free filter against the rules themselves."""

from __future__ import annotations

import pytest

from deductive.puzzles.formats import Puzzle, load_puzzles
from deductive.puzzles.generator import generate
from deductive.puzzles.mentions import find_mentions, read_surface
from deductive.puzzles.shortcuts import (RULES, first_named, last_named, most_named, murder_clue,
                                         named_in_clues, rule_answers, shortcut_free, together, unnamed)
from deductive.puzzles.world import Shape

from conftest import ROOT

ROOMS = ["Study", "Studio", "Hall", "Dining Room"]
CLUES = [
    "Either Mrs. White was in the Studio at 12:00 AM or the Rope was in the Hall at 12:00 AM.",
    "The Rope was in the room directly north of the Hall at 12:00 AM.",
    "Mrs. White and the Knife were together in the Dining Room at least once.",
    "The murderer was in the same room as the Knife at 12:00 AM, or the murderer was in the Study at 12:00 AM.",
]


def test_mentions_are_whole_words_the_longer_name_first_and_never_overlap():
    text = "The Studio, the Study and the Dining Room; not Studios or Halls."
    assert find_mentions(text, ROOMS) == [(4, "Studio"), (16, "Study"), (30, "Dining Room")]
    assert find_mentions("the Dining Room", ["Dining Room", "Room"]) == [(4, "Dining Room")]
    assert find_mentions("anything", []) == []


def test_each_rule_on_hand_written_clues():
    assert first_named(CLUES, ROOMS) == "Studio"           # first clue, leftmost room
    assert last_named(CLUES, ROOMS) == "Study"             # last clue, rightmost room
    assert most_named(CLUES, ROOMS) == "Hall"              # named three times
    assert together(CLUES, ROOMS) == "Dining Room"         # the together clue's room
    assert murder_clue(CLUES, ROOMS) == "Study"            # the first room of the murderer's clue
    assert unnamed(CLUES, ROOMS) == "Studio"               # every room is named: the first named
    assert unnamed(CLUES[:3], ROOMS) == "Study"            # the one room no clue names
    assert set(RULES) == {"first_named", "most_named", "last_named", "together", "murder_clue", "unnamed"}


def test_ties_and_fallbacks_are_the_documented_ones():
    # most named: Studio and Hall twice each; the tie goes to the one named first (Hall)
    clues = ["Mrs. White was in the Hall.", "The Rope was in the Studio.", "The Rope was in the Studio or the Hall."]
    assert most_named(clues, ROOMS) == "Hall"
    assert most_named(list(reversed(clues)), ROOMS) == "Studio"
    # no together clue, no murder clue: both fall back to the first named
    assert together(clues, ROOMS) == murder_clue(clues, ROOMS) == "Hall"
    # a together clause inside an either/or is not a together clue
    either = ["Either Mrs. White was in the Hall or Mrs. White and the Rope were together in the Study at least once."]
    assert together(either, ROOMS) == "Hall"
    # Mr. Boddy and "the murder weapon" make a murder clue too
    assert murder_clue(clues + ["Mr. Boddy was in the Study."], ROOMS) == "Study"
    assert murder_clue(["The Rope was in the Hall.", "The murder weapon was in the Studio."], ROOMS) == "Studio"
    # clues naming no option: every rule abstains
    assert {rule(["Mrs. White was at home."], ROOMS) for rule in RULES.values()} == {None}


@pytest.fixture(scope="module")
def room_puzzles() -> list[Puzzle]:
    return load_puzzles(ROOT / "results" / "learn-room-2x2" / "puzzles" / "test.jsonl")


def test_shortcut_free_means_every_rule_fails(room_puzzles):
    free = [p for p in room_puzzles if shortcut_free(p)]
    assert 0 < len(free) < len(room_puzzles)
    for p in room_puzzles:
        answers = rule_answers(p)["A"]
        assert shortcut_free(p) == all(a != p.solution["A"] for a in answers.values())
    # in these puzzles a shortcut-free question is one whose room no clue names
    assert all(not named_in_clues(p, "A") for p in free)


def test_rules_on_a_generated_many_question_puzzle_answer_listed_options_of_each_type():
    record = generate(11, 0, shape=Shape(3, 2, 4, 2), max_questions=4)
    puzzle = Puzzle(id=record["id"], prompt=record["prompt"], solution=record["solution"])
    surface = read_surface(puzzle)
    answers = rule_answers(puzzle)
    assert set(answers) == set(puzzle.solution)
    for letter, by_rule in answers.items():
        kind = surface.questions[letter][0]
        for rule, answer in by_rule.items():
            assert answer is None or answer in surface.names[kind], (letter, rule, answer)
            if answer is not None:  # every rule copies a name off the clues, but `unnamed`
                assert any(find_mentions(c, [answer]) for c in surface.clues) != (rule == "unnamed") or (
                    rule == "unnamed" and answer == first_named(surface.clues, surface.names[kind]))
