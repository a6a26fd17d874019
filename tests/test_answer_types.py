"""Accuracy by answer type: format (a listed option given) separated from the pick, per type."""

import gzip
import json
import subprocess
import sys

import pytest

from deductive.evaluation.answer_types import answer_type_breakdown, breakdown_markdown, first_named_in_clues
from deductive.evaluation.chance import answer_options, chance_reward, question_layout
from deductive.puzzles.formats import Puzzle
from deductive.puzzles.generator import generate
from deductive.puzzles.world import Shape

from conftest import ROOT


@pytest.fixture(scope="module")
def puzzle() -> Puzzle:
    r = generate(11, 0, shape=Shape(3, 2, 4, 2), max_questions=4)
    return Puzzle(id=r["id"], prompt=r["prompt"], solution=r["solution"])


def test_breakdown_of_hand_made_answers(puzzle):
    types, options = question_layout(puzzle)
    assert types == {"A": "SUSPECT", "B": "WEAPON", "C": "ROOM", "D": "TIME", "E": "MOTIVE"}
    assert options == answer_options(puzzle)
    key = puzzle.solution
    wrong = {l: next(o for o in options[l] if o != key[l]) for l in key}
    right_text = "\n".join(f"{l}. {key[l]}" for l in sorted(key))
    # A right, B wrong but listed, C not a listed room, D and E missing
    mixed_text = f"A. {key['A']}\nB. {wrong['B']}\nC. The Moon"
    samples = [{"puzzle_id": puzzle.id, "text": right_text}, {"puzzle_id": puzzle.id, "text": mixed_text}]
    b = answer_type_breakdown(samples, {puzzle.id: puzzle})
    assert list(b) == ["SUSPECT", "WEAPON", "ROOM", "TIME", "MOTIVE"]  # the fixed type order
    assert b["SUSPECT"]["accuracy"] == 1.0 and b["SUSPECT"]["listed_share"] == 1.0
    assert b["WEAPON"]["accuracy"] == 0.5 and b["WEAPON"]["accuracy_when_listed"] == 0.5
    assert b["ROOM"]["listed_share"] == 0.5 and b["ROOM"]["accuracy_when_listed"] == 1.0
    assert b["TIME"]["listed_share"] == 0.5 and b["MOTIVE"]["questions"] == 2
    assert b["ROOM"]["chance"] == pytest.approx(1 / 4) and b["WEAPON"]["chance_when_listed"] == pytest.approx(1 / 2)
    weapon_pos = options["B"].index(key["B"]) + 1, options["B"].index(wrong["B"]) + 1
    assert b["WEAPON"]["listed_picks_by_position"] == dict(sorted({weapon_pos[0]: 1, weapon_pos[1]: 1}.items()))
    # per-type chance, weighted by questions, is the puzzle's chance level
    total = sum(row["chance"] * row["questions"] for row in b.values()) / sum(row["questions"] for row in b.values())
    assert total == pytest.approx(chance_reward(puzzle))
    table = breakdown_markdown({"model": b})
    assert "| model | room | 2 | 50.0% | 25.0% | 50.0% | 100.0% | 25.0% |" in table


def test_unknown_puzzle_is_named(puzzle):
    with pytest.raises(KeyError, match="nope"):
        answer_type_breakdown([{"puzzle_id": "nope", "text": ""}], {puzzle.id: puzzle})


def test_script_prints_the_table_and_refuses_bad_arguments(puzzle, tmp_path):
    (tmp_path / "p.jsonl").write_text(json.dumps({"id": puzzle.id, "prompt": puzzle.prompt,
                                                  "solution": puzzle.solution}) + "\n")
    with gzip.open(tmp_path / "s.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"puzzle_id": puzzle.id, "text": f"A. {puzzle.solution['A']}"}) + "\n")
    base = [sys.executable, "scripts/answer_types.py", "--puzzles", str(tmp_path / "p.jsonl")]
    ok = subprocess.run(base + ["--samples", f"m={tmp_path / 's.jsonl.gz'}", "--out", str(tmp_path / "t.md")],
                        cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "| m | suspect | 1 | 100.0% |" in ok.stdout and (tmp_path / "t.md").read_text() == ok.stdout
    bad = subprocess.run(base + ["--samples", "no-equals-sign"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --samples takes NAME=PATH")
    with gzip.open(tmp_path / "other.jsonl.gz", "wt") as handle:  # samples of another split's puzzles
        handle.write(json.dumps({"puzzle_id": "test-99999", "text": "A. x"}) + "\n")
    other = subprocess.run(base + ["--samples", f"m={tmp_path / 'other.jsonl.gz'}"], cwd=ROOT, capture_output=True, text=True)
    assert other.returncode == 2 and "test-99999" in other.stderr and "Traceback" not in other.stderr


def test_copying_the_room_the_clue_names():
    """On a one-suspect, one-weapon puzzle the one clue names the murder room (learn-room's
    puzzles), so copying it is always right; the breakdown says how often a model copies it."""
    r = generate(42, 0, shape=Shape(1, 1, 4, 1), max_questions=1, main_kinds=("room",))
    puzzle = Puzzle(id=r["id"], prompt=r["prompt"], solution=r["solution"])
    key = puzzle.solution["A"]
    clues = puzzle.prompt.split("Clues:", 1)[1].split("Questions:", 1)[0]
    assert key in clues
    assert first_named_in_clues(puzzle) == {"A": key}
    other = next(o for o in answer_options(puzzle)["A"] if o != key)
    samples = [{"puzzle_id": puzzle.id, "text": f"A. {key}"}, {"puzzle_id": puzzle.id, "text": f"A. {other}"},
               {"puzzle_id": puzzle.id, "text": "no answer"}]
    room = answer_type_breakdown(samples, {puzzle.id: puzzle})["ROOM"]
    assert room["clue_copy_accuracy"] == 1.0
    assert room["listed_first_named_share"] == 0.5 and room["accuracy"] == pytest.approx(1 / 3)
    table = breakdown_markdown({"m": answer_type_breakdown(samples, {puzzle.id: puzzle})})
    assert table.splitlines()[-1].endswith("| 100.0% | 50.0% |")


def test_the_first_clue_naming_an_option_and_its_leftmost_name_win(puzzle):
    named = first_named_in_clues(puzzle)
    _, options = question_layout(puzzle)
    clues = [line[2:] for line in puzzle.prompt.split("Clues:", 1)[1].split("Questions:", 1)[0].splitlines()
             if line.startswith("- ")]
    for letter, names in options.items():
        expected = None
        for text in clues:  # by hand: the first clue naming any option, the leftmost name in it
            found = sorted((text.index(n), n) for n in names if n in text)
            if found:
                expected = found[0][1]
                break
        assert named[letter] == expected, (letter, names)
