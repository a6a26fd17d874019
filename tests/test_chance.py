"""Chance level: the exact expected reward of uniformly random answers from a puzzle's lists."""

import random
from fractions import Fraction

import pytest

from deductive.evaluation.chance import answer_options, chance_reward, option_counts, split_chance_reward
from deductive.grading import grade
from deductive.puzzles.formats import Puzzle, load_puzzles
from deductive.puzzles.generator import generate
from deductive.puzzles.world import Shape
from deductive.verify.verify import parse_prompt

from conftest import ROOT


def _puzzle(seed=11, shape=Shape(3, 2, 4, 2), max_questions=4) -> Puzzle:
    r = generate(seed, 0, shape=shape, max_questions=max_questions)
    return Puzzle(id=r["id"], prompt=r["prompt"], solution=r["solution"])


def test_chance_of_a_small_puzzle_matches_a_hand_computation():
    p = _puzzle()
    # the prompt asks five main questions: who (3 suspects), weapon (2), room (4), time (2) and
    # the murderer's motive (3 motives, one per suspect)
    assert "A. Who killed Mr. Boddy?" in p.prompt and "E. What was the murderer's motive?" in p.prompt
    assert option_counts(p) == {"A": 3, "B": 2, "C": 4, "D": 2, "E": 3}
    hand = (Fraction(1, 3) + Fraction(1, 2) + Fraction(1, 4) + Fraction(1, 2) + Fraction(1, 3)) / 5
    assert hand == Fraction(23, 60)
    assert chance_reward(p) == pytest.approx(float(hand), abs=1e-12)


def test_chance_agrees_with_random_answers_scored_by_the_real_grader():
    """A Monte Carlo random answerer, graded by the project's grader, lands on the exact value."""
    puzzles = [_puzzle(seed, Shape(3, 3, 4, 2), 8) for seed in range(6)]
    rng = random.Random(0)
    total, n = 0.0, 0
    for p in puzzles:
        parsed = parse_prompt(p.prompt)
        lists = {"SUSPECT": parsed.suspects, "WEAPON": parsed.weapons, "ROOM": parsed.rooms,
                 "TIME": parsed.times, "MOTIVE": parsed.motives}
        kinds = {q.letter: q.answer_type for q in parsed.questions}
        for _ in range(400):
            text = "\n".join(f"{letter}. {rng.choice(lists[kinds[letter]])}" for letter in sorted(p.solution))
            total += grade(text, p.solution, options=answer_options(p))
            n += 1
    exact = split_chance_reward(puzzles)
    assert 0.2 < exact < 0.6
    assert abs(total / n - exact) < 0.015  # 2400 draws: standard error about 0.005


def test_chance_of_the_published_val_puzzles():
    puzzles = load_puzzles(ROOT / "data" / "temporal-clue" / "val.json")
    value = split_chance_reward(puzzles)
    # 8-13 options per list in the published puzzles: chance is low, about a quarter
    assert 0.15 < value < 0.35


def test_a_key_letter_without_its_question_is_refused():
    p = _puzzle()
    broken = Puzzle(id="x", prompt=p.prompt, solution=dict(p.solution, Z="Knife"))
    with pytest.raises(ValueError, match="Z"):
        chance_reward(broken)


def test_answer_format_separates_format_from_deduction():
    """Complete blocks of listed options count as format; accuracy on them is compared to chance."""
    from deductive.evaluation.summary import answer_format

    p = _puzzle()
    options = answer_options(p)
    right = "\n".join(f"{l}. {p.solution[l]}" for l in sorted(p.solution))
    wrong_listed = "\n".join(f"{l}. {next(o for o in options[l] if o != p.solution[l])}" for l in sorted(p.solution))
    garbage = "\n".join(f"{l}. Nobody" for l in sorted(p.solution))
    partial = f"A. {p.solution['A']}"
    texts = [right, wrong_listed, garbage, partial]
    records = [{"puzzle_id": p.id, "text": t, "reward": grade(t, p.solution, options=options)} for t in texts]
    out = answer_format(records, [p], "fixed")
    assert out["complete_answer_share"] == 0.5          # right and wrong_listed only
    assert out["accuracy_when_complete"] == 0.5         # 1.0 and 0.0
    assert out["answered_share"] == pytest.approx((1 + 1 + 1 + 1 / 5) / 4)


def test_listed_share_reads_answers_like_the_grader():
    from deductive.grading import grade_details

    p = _puzzle()
    options = answer_options(p)
    text = f"**A.** {options['A'][0].upper()}\nB. The {options['B'][1]}.\nC. Attic"
    details = grade_details(text, p.solution, options=options)
    assert details.answered_share == pytest.approx(3 / 5)
    assert details.listed_share() == pytest.approx(2 / 5)
    hedged = f"A. {options['A'][0]} (or {options['A'][1]})\nB. The {options['B'][1]}."
    assert grade_details(hedged, p.solution, options=options).listed_share() == pytest.approx(1 / 5)
