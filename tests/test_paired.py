"""The paired comparison of two evaluations of the same puzzles, and the arms document built on
it from a results folder."""

import json
from pathlib import Path

import numpy as np
import pytest

from deductive.evaluation.arms import ArmsError, comparison_markdown, load_profile
from deductive.evaluation.bootstrap import clustered_bootstrap_ci
from deductive.evaluation.paired import PairingError, paired_difference
from deductive.io import write_jsonl


def test_the_same_rewards_differ_by_exactly_nothing():
    rewards = {f"p{i}": [i % 2, 1, 0] for i in range(20)}
    d = paired_difference(rewards, rewards, seed=1)
    assert (d.difference, d.lo, d.hi, d.arm_better, d.baseline_better) == (0.0, 0.0, 0.0, 0, 0)


def test_a_shift_on_every_puzzle_is_found_where_the_two_intervals_overlap():
    rng = np.random.default_rng(0)
    difficulty = rng.uniform(0, 1, size=60)  # puzzles differ a lot; the arm is better on each one
    baseline = {f"p{i}": [float(d > 0.5)] * 4 for i, d in enumerate(difficulty)}
    arm = {f"p{i}": [float(d > 0.3)] * 4 for i, d in enumerate(difficulty)}
    d = paired_difference(arm, baseline, seed=3)
    assert d.difference == pytest.approx(np.mean(difficulty > 0.3) - np.mean(difficulty > 0.5))
    assert d.lo > 0 and d.baseline_better == 0 and d.arm_better == int(((difficulty > 0.3) & (difficulty <= 0.5)).sum())
    # unpaired, the two intervals overlap: the pairing is what resolves the difference
    lo_arm, _ = clustered_bootstrap_ci(list(arm.values()), seed=3)
    _, hi_base = clustered_bootstrap_ci(list(baseline.values()), seed=3)
    assert lo_arm < hi_base


def test_other_puzzles_are_refused():
    with pytest.raises(PairingError, match="1 only in the arm .*'q'.*1 only in the baseline"):
        paired_difference({"p": [1.0], "q": [0.0]}, {"p": [1.0], "r": [0.0]}, seed=0)
    with pytest.raises(PairingError, match="no puzzles"):
        paired_difference({}, {}, seed=0)


# ------------------------------------------------------------------------------ arms

def _profile(results: Path, name: str, rewards: dict, sha: str = "same", run_minutes: float = 1.0) -> None:
    for entry, kind in ((f"{name}-base", "base"), (f"{name}-trained", "trained")):
        folder = results / name / "eval" / entry
        folder.mkdir(parents=True)
        per = rewards[kind]
        write_jsonl(folder / "test.samples.jsonl.gz",
                    [{"puzzle_id": p, "reward": r} for p, rs in per.items() for r in rs])
        accuracy = float(np.mean([np.mean(r) for r in per.values()]))
        (folder / "test.summary.json").write_text(json.dumps({
            "kind": kind, "accuracy": accuracy, "ci95": [accuracy - 0.1, accuracy + 0.1], "chance_reward": 0.25,
            "n_puzzles": len(per), "samples_per_puzzle": 2,
            "ci": {"seed": 5, "replicates": 200, "confidence": 0.95},
            "provenance": {"inputs": {"puzzles": {"sha256": sha}}}}))
    train = results / name / "train" / "run"
    train.mkdir(parents=True)
    (train / "summary.json").write_text(json.dumps({"iterations_done": 2, "best_iteration": 2, "best_val_reward": 0.5}))
    write_jsonl(train / "metrics.jsonl", [
        {"seconds": {"total": 30 * run_minutes}, "advantages_kept": kept, "train_samples": 64} for kept in (0, 16)])


def test_arms_document_pairs_each_arm_with_the_baseline(tmp_path):
    ids = [f"p{i}" for i in range(10)]
    _profile(tmp_path, "base-profile", {"base": {p: [0, 0] for p in ids}, "trained": {p: [1, 0] for p in ids}})
    _profile(tmp_path, "arm", {"base": {p: [0, 0] for p in ids}, "trained": {p: [1, 1] for p in ids}}, run_minutes=2)
    baseline, arm = (load_profile(tmp_path, p, ["test"]) for p in ("base-profile", "arm"))
    text = comparison_markdown(baseline, [arm], ["test"])
    assert "| `arm` | test | 10 x 2 | 25.0% | 0.0% [-10.0, 10.0] | 100.0% [90.0, 110.0] | +50.0 [+50.0, +50.0] | 10 / 0 |" in text
    assert "| `base-profile` | 2 | 2 | 50.0% | 1.0 | 64 | 8.0 | 1 |" in text
    assert "| `arm` | 2 | 2 | 50.0% | 2.0 | 64 | 8.0 | 1 |" in text


def test_arms_on_other_puzzles_or_missing_results_are_refused(tmp_path):
    ids = [f"p{i}" for i in range(4)]
    both = {"base": {p: [0, 0] for p in ids}, "trained": {p: [1, 0] for p in ids}}
    _profile(tmp_path, "base-profile", both)
    _profile(tmp_path, "other", both, sha="different")
    baseline, other = (load_profile(tmp_path, p, ["test"]) for p in ("base-profile", "other"))
    with pytest.raises(ArmsError, match="'other' evaluated base on other 'test' puzzles"):
        comparison_markdown(baseline, [other], ["test"])
    with pytest.raises(ArmsError, match="no base evaluation of split 'shortcut_free'"):
        load_profile(tmp_path, "other", ["shortcut_free"])
    with pytest.raises(ArmsError, match="no results for profile 'nope'"):
        load_profile(tmp_path, "nope", ["test"])
