"""The puzzle generator: semantics, uniqueness, irredundancy, sizes, prompt format, CLI."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from deductive.puzzles import formula as F
from deductive.puzzles import pools
from deductive.puzzles.clues import meaning, truth_in
from deductive.puzzles.generator import build, generate
from deductive.puzzles.cpsat_model import WorldModel
from deductive.puzzles.prompt import RULES
from deductive.puzzles.world import Shape, caps, draw_shape, draw_times, simulate

ROOT = Path(__file__).resolve().parents[1]
SMALL = [(3, i) for i in range(12)]


@pytest.fixture(scope="module")
def small_puzzles():
    return [build(seed, i, players=(1, 3)) for seed, i in SMALL]


def test_sizes_follow_the_formulas_and_caps():
    rng = random.Random(0)
    seen_players = set()
    for _ in range(3000):
        players, s = draw_shape(rng, 1, 6)
        seen_players.add(players)
        cap = caps(players)
        assert 2 <= s.weapons <= max(2, cap.weapons)
        assert s.weapons <= s.suspects <= min(cap.suspects, 2 * s.weapons - 1)
        assert s.suspects <= s.rooms <= cap.rooms
        assert 1 <= s.times <= 2 * players
        assert s.suspects <= 10 and s.weapons <= 8 and s.rooms <= 17
    assert seen_players == set(range(1, 7))
    assert caps(6) == Shape(10, 8, 17, 12) and caps(1) == Shape(2, 2, 3, 2)


def test_times_step_evenly_around_midnight():
    rng = random.Random(1)
    for count in range(1, pools.MAX_TIMES + 1):
        for _ in range(20):
            times = draw_times(rng, count)
            assert len(times) == count
            assert all(re.fullmatch(r"(0[1-9]|1[0-2]):[0-5]\d [AP]M", t) for t in times)
            minutes = []
            for t in times:
                h, m = int(t[:2]) % 12, int(t[3:5])
                v = h * 60 + m + (0 if t.endswith("AM") else -12 * 60)  # PM before midnight
                minutes.append(v)
            steps = {b - a for a, b in zip(minutes, minutes[1:])}
            assert len(steps) <= 1 and steps <= {15, 30, 60}


def test_simulation_obeys_the_rules():
    rng = random.Random(2)
    for _ in range(200):
        _, shape = draw_shape(rng, 1, 6)
        w = simulate(rng, shape)
        nb = [set(w.board.neighbours(r)) | {r} for r in range(len(w.rooms))]
        for path in list(w.suspect_at) + [w.boddy_at]:
            assert all(b in nb[a] for a, b in zip(path, path[1:]))
        for path in w.weapon_at:
            for t in range(1, len(w.times)):
                a, b = path[t - 1], path[t]
                if a != b:  # carried: some suspect made the same step
                    assert any(s[t - 1] == a and s[t] == b for s in w.suspect_at)
        t, r = w.time, w.room
        assert w.suspects_in(r, t) == [w.murderer]
        assert w.weapon_at[w.weapon][t] == r and all(x == r for x in w.boddy_at[t:])


def test_every_puzzle_is_unique_and_the_ground_truth_fits(small_puzzles):
    for b in small_puzzles:
        formulas = [meaning(c, b.world) for c in b.kept]
        truth = truth_in(b.world)
        assert all(F.evaluate(f, truth) for f in formulas)
        model = WorldModel(b.world, formulas)
        slots = list(range(len(formulas)))
        assert model.ground_truth_fits(slots)
        assert model.check(slots).unique is True
        assert b.selection.undecided == 0


def test_kept_clues_are_irredundant(small_puzzles):
    for b in small_puzzles[:6]:
        formulas = [meaning(c, b.world) for c in b.kept]
        model = WorldModel(b.world, formulas)
        for drop in range(len(formulas)):
            result = model.check([j for j in range(len(formulas)) if j != drop])
            assert result.unique is False, f"clue {b.kept[drop]} is redundant"
            # the alternative account breaks exactly the dropped clue
            assert not F.evaluate(formulas[drop], result.counterexample.__getitem__)


def test_a_wrong_clue_set_is_not_called_unique():
    b = build(3, 0, players=(1, 3))
    model = WorldModel(b.world, [meaning(c, b.world) for c in b.kept])
    assert model.check([]).unique is False  # no clues: many accounts


def _doc_rules() -> list[str]:
    doc = (ROOT / "docs" / "puzzle-format.md").read_text(encoding="utf-8")
    block = doc.split("## Rules section")[1].split("```")[1]
    return [re.sub(r"^\d+\. ", "", ln) for ln in block.strip().split("\n")[1:]]


def test_rules_text_is_the_documented_text():
    assert list(RULES.values()) == _doc_rules()


def test_prompt_layout(small_puzzles):
    for seed, i in SMALL[:8]:
        record = generate(seed, i, players=(1, 3))
        prompt = record["prompt"]
        heads = [block.split("\n")[0] for block in prompt.split("\n\n")]
        expected = ["Suspects:", "Weapons:", "Rooms:", "Map (", "Times, in order:", "Motives (",
                    "Rules:", "Clues:", "Questions:"]
        positions = [next(k for k, h in enumerate(heads) if h.startswith(e)) for e in expected]
        assert positions == sorted(positions)
        assert heads[-1].startswith("Answer format:")
        rules = prompt.split("\n\nRules:\n")[1].split("\n\n")[0].split("\n")
        doc = _doc_rules()
        one_time = "- " in prompt and prompt.split("Times, in order:\n")[1].split("\n\n")[0].count("\n") == 0
        wanted = [r for k, r in enumerate(doc, 1) if not (one_time and k in (1, 8, 9))]
        assert rules == [f"{k}. {r}" for k, r in enumerate(wanted, 1)]
        clues = prompt.split("\n\nClues:\n")[1].split("\n\n")[0].split("\n")
        assert len(clues) == record["num_clues"] == sum(record["clue_kinds"].values())
        assert all(c.startswith("- ") and c.endswith(".") for c in clues)
        letters = record["questions"]["main"] + record["questions"]["bonus"]
        assert letters == sorted(record["solution"]) and 1 <= len(letters) <= 8
        for letter in letters:
            assert re.search(rf"^{letter}\. .+\?$", prompt, re.M)
            assert re.search(rf"^{letter}\. (SUSPECT|WEAPON|ROOM|TIME|MOTIVE)$", prompt, re.M)


def test_main_questions_are_the_unstated_solution_facts(small_puzzles):
    for b in small_puzzles:
        kept_kinds = {c.kind for c in b.kept}
        asked = [q[0] for q in b.main]
        assert ("Who killed Mr. Boddy?" in asked) == ("murderer" not in kept_kinds)
        assert ("Which weapon was used?" in asked) == ("weapon" not in kept_kinds)
        if len(b.world.times) == 1:
            assert "At what time did the murder take place?" not in asked
        assert len(b.main) + len(b.bonus) <= 8


def test_fixed_shape_and_the_record():
    record = generate(9, 4, shape=Shape(4, 3, 5, 3), id_prefix="val")
    assert record["id"] == "val-00004" and record["index"] == 4 and record["seed"] == 9
    assert {k: record["shape"][k] for k in ("suspects", "weapons", "rooms", "times")} == \
        {"suspects": 4, "weapons": 3, "rooms": 5, "times": 3}
    assert record["generator"].startswith("deductive ")
    assert generate(9, 4, shape=Shape(4, 3, 5, 3), id_prefix="val") == record


def test_main_questions_can_be_limited_without_changing_the_puzzle():
    """`main_kinds` asks only the chosen main questions; the world and clues are those of the
    unrestricted puzzle (same seed), and the default leaves puzzles byte-identical."""
    shape = Shape(3, 3, 3, 1)
    for index in range(6):
        full = generate(11, index, shape=shape, id_prefix="t", max_questions=1)
        who = generate(11, index, shape=shape, id_prefix="t", max_questions=1, main_kinds=("murderer",))
        assert generate(11, index, shape=shape, id_prefix="t", max_questions=1, main_kinds=None) == full
        clues = lambda p: p["prompt"][p["prompt"].index("Clues:"):].split("\n\n")[0]
        assert clues(who) == clues(full)
        b = build(11, index, shape=shape, max_questions=1)
        if who["questions"]["main"]:
            assert who["solution"] == {"A": b.world.suspects[b.world.murderer]}
            assert "A. Who killed Mr. Boddy?" in who["prompt"] and "\nB. " not in who["prompt"].split("Questions:")[1]
        assert len(who["solution"]) == 1


def test_no_main_question_asks_bonus_questions_only_about_the_same_puzzle():
    """`main_kinds=()` (config `main_questions: []`, CLI `--main-questions none`) asks no main
    question: the puzzle's one question is a bonus where/motive question, its clues unchanged."""
    shape = Shape(3, 3, 3, 1)
    kinds = set()
    for index in range(12):
        full = generate(11, index, shape=shape, id_prefix="t", max_questions=1)
        bonus = generate(11, index, shape=shape, id_prefix="t", max_questions=1, main_kinds=())
        clues = lambda p: p["prompt"][p["prompt"].index("Clues:"):].split("\n\n")[0]
        assert clues(bonus) == clues(full)
        assert bonus["questions"] == {"main": [], "bonus": ["A"]} and len(bonus["solution"]) == 1
        question = [line for line in bonus["prompt"].splitlines() if line.startswith("A. ")][0]
        kinds.add("where" if question.startswith("A. Where was") else "motive")
        assert question.startswith(("A. Where was", "A. What was")), question
    assert kinds == {"where", "motive"}


def test_a_later_attempt_is_another_puzzle_and_says_so():
    """Attempt 0 is the puzzle as it always was (no `attempt` key); attempt k > 0 draws another
    puzzle from its own seed, with the same id, index and run seed, and records k."""
    shape = Shape(2, 2, 4, 1)
    first = generate(13, 2, shape=shape, id_prefix="t", max_questions=1)
    assert "attempt" not in first and generate(13, 2, shape=shape, id_prefix="t", max_questions=1, attempt=0) == first
    again = generate(13, 2, shape=shape, id_prefix="t", max_questions=1, attempt=3)
    assert again["attempt"] == 3 and again["prompt"] != first["prompt"]
    assert (again["id"], again["index"], again["seed"]) == (first["id"], first["index"], first["seed"])
    assert generate(13, 2, shape=shape, id_prefix="t", max_questions=1, attempt=3) == again
