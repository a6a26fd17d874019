"""Adversarial answer lines (tests/fixtures/grader_adversarial.jsonl) scored in both modes.

GRPO optimises against the grader, so any leniency of the fixed grader is a reward the policy
can learn to collect: hedges, several options, an option used as a label. Every corpus line
carries the puzzle's options, the key, the completion and the expected score in each mode;
lines marked with a results/ source are completions the committed runs' models wrote, and
lines marked commit:results/ were written by an earlier run whose samples a re-run replaced. The
callers that grade for training, evaluation and regrading must hand the grader the lists.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from collections import Counter
from types import SimpleNamespace

import pytest

from conftest import ROOT
from deductive.evaluation.chance import answer_options
from deductive.grading import grade
from deductive.puzzles.formats import Puzzle
from deductive.puzzles.generator import generate
from deductive.puzzles.world import Shape

CORPUS = ROOT / "tests" / "fixtures" / "grader_adversarial.jsonl"
CASES = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
KINDS = ("hedge", "several-options", "option-label", "parentheses", "negation", "split-lines", "bold",
         "time", "placeholder-label")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_fixed_mode(case):
    assert grade(case["text"], case["key"], "fixed", options=case["options"]) == pytest.approx(case["fixed"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_compat_mode_reproduces_the_original(case):
    assert grade(case["text"], case["key"], "compat", options=case["options"]) == pytest.approx(case["compat"])


def test_the_corpus_covers_every_kind_of_leniency():
    assert len(CASES) >= 40 and len({c["id"] for c in CASES}) == len(CASES)
    kinds = Counter(c["kind"] for c in CASES)
    assert all(kinds[kind] >= 2 for kind in KINDS), kinds
    scored_zero = {c["kind"] for c in CASES if c["fixed"] == 0}
    assert set(KINDS) <= scored_zero | {"bold"}
    # the three leniencies this corpus was written against
    texts = {c["text"]: c["fixed"] for c in CASES if c["key"] == {"A": "Hall"}}
    assert texts["A. Kitchen: Hall"] == texts["A. Kitchen or Lounge: Hall"] == 0
    assert texts["A. Hall (or maybe the Kitchen)"] == 0
    # compat keeps the original's flaws: some hedges score there
    assert any(c["compat"] > c["fixed"] for c in CASES)


def _written(source: str) -> tuple[str, str, int]:
    """`[commit:]results/...samples.jsonl.gz puzzle ID sample N` -> (path spec, puzzle id, index)."""
    path, _, rest = source.partition(" puzzle ")
    puzzle_id, _, index = rest.partition(" sample ")
    return path, puzzle_id, int(index)


def _texts(rows) -> dict:
    return {(r["puzzle_id"], r["sample_index"]): r["text"] for r in map(json.loads, rows)}


def test_real_lines_are_what_the_committed_models_wrote():
    real = [c for c in CASES if c["source"].startswith("results/")]
    assert len(real) >= 10
    for case in real:
        path, puzzle_id, index = _written(case["source"])
        with gzip.open(ROOT / path, "rt", encoding="utf-8") as handle:
            assert _texts(handle)[(puzzle_id, index)] == case["text"], case["id"]


def test_lines_from_replaced_runs_are_what_those_models_wrote():
    """A re-run replaces a profile's samples; the earlier run's lines stay, read from git."""
    earlier = [c for c in CASES if re.match(r"[0-9a-f]{7,40}:results/", c["source"])]
    assert earlier
    for case in earlier:
        spec, puzzle_id, index = _written(case["source"])
        shown = subprocess.run(["git", "show", spec], cwd=ROOT, capture_output=True)
        if shown.returncode != 0:
            pytest.skip(f"this clone lacks {spec.partition(':')[0]} (shallow history)")
        rows = gzip.decompress(shown.stdout).decode("utf-8").splitlines()
        assert _texts(rows)[(puzzle_id, index)] == case["text"], case["id"]


# the callers hand the grader the puzzle's lists -------------------------------------------
@pytest.fixture(scope="module")
def puzzle() -> Puzzle:
    r = generate(11, 0, shape=Shape(3, 2, 4, 2), max_questions=4)
    return Puzzle(id=r["id"], prompt=r["prompt"], solution=r["solution"])


def _hedged_block(puzzle: Puzzle) -> str:
    """Every answer right, each preceded by a wrong listed option used as a label."""
    options = answer_options(puzzle)
    wrong = {l: next(o for o in options[l] if o != puzzle.solution[l]) for l in puzzle.solution}
    return "\n".join(f"{l}. {wrong[l]}: {puzzle.solution[l]}" for l in sorted(puzzle.solution))


def test_evaluation_summary_and_answer_types_pass_the_lists(puzzle):
    from deductive.evaluation.answer_types import answer_type_breakdown
    from deductive.evaluation.summary import answer_format

    text = _hedged_block(puzzle)
    out = answer_format([{"puzzle_id": puzzle.id, "text": text, "reward": 0.0}], [puzzle], "fixed")
    assert out["answered_share"] == 1.0 and out["complete_answer_share"] == 0.0
    rows = answer_type_breakdown([{"puzzle_id": puzzle.id, "text": text}], {puzzle.id: puzzle})
    assert all(row["accuracy"] == 0.0 and row["listed_share"] == 0.0 for row in rows.values())


def test_api_records_are_graded_with_the_lists(puzzle):
    from deductive.evaluation import run

    entry = SimpleNamespace(model="fake")
    record = run._api_record(puzzle, 0, entry, {"text": _hedged_block(puzzle)}, {}, "fixed",
                             answer_options(puzzle))
    assert record["reward"] == 0.0


def test_training_and_evaluation_samples_are_graded_with_the_lists(puzzle):
    """The sampler's rewards (GRPO's training signal) come from the lists of each prompt."""
    pytest.importorskip("torch")
    from deductive.inference.rollout import Sampler, SamplingConfig

    class TextSampler(Sampler):
        def __init__(self, text):  # no engine: every completion is `text`
            self.model_name, self.weights_version = "fake", 0
            self.tokenizer = SimpleNamespace(decode=lambda ids, skip_special_tokens: text)

        def prompt_token_ids(self, prompt):
            return [1]

        def generate(self, requests, sampling):
            return [{"prompt_token_ids": [1], "completion_token_ids": [2], "logprobs": [0.0],
                     "finish_reason": "stop", "abort_reason": None} for _ in requests]

        def recorded_sampling(self, sampling, seed):
            return {}

    sampling = SamplingConfig(temperature=1.0, top_p=1.0, top_k=-1, max_tokens=8, seed=0)
    hedged, = TextSampler(_hedged_block(puzzle)).sample([puzzle], 1, sampling)
    right = "\n".join(f"{l}. {a}" for l, a in sorted(puzzle.solution.items()))
    plain, = TextSampler(right).sample([puzzle], 1, sampling)
    assert (hedged["reward"], hedged["listed"]) == (0.0, 0.0)
    assert (plain["reward"], plain["listed"]) == (1.0, 1.0)
