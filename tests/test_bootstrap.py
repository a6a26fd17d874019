"""Clustered bootstrap: interval coverage on synthetic data with a known mean."""

import numpy as np
import pytest

from deductive.evaluation import bootstrap


def _synthetic(rng, n_puzzles, k, questions=5):
    # Each puzzle has its own difficulty p ~ Beta(2, 2) (population mean 0.5); every sample of
    # a puzzle answers each of `questions` questions right with that puzzle's p, so samples of
    # one puzzle are correlated and the reward is a fraction of questions, as in grading.
    p = rng.beta(2.0, 2.0, size=n_puzzles)
    return [list(rng.binomial(questions, pi, size=k) / questions) for pi in p]


def _coverage(ci_fn, replications=200, n_puzzles=64, k=4, seed=12345):
    rng = np.random.default_rng(seed)
    hits = 0
    for r in range(replications):
        data = _synthetic(rng, n_puzzles, k)
        lo, hi = ci_fn(data, seed=r)
        hits += lo <= 0.5 <= hi
    return hits / replications


def test_clustered_interval_covers_the_known_mean_about_95_percent():
    cover = _coverage(lambda d, seed: bootstrap.clustered_bootstrap_ci(d, seed=seed, replicates=1000))
    # 200 replications: the standard error of a 95% coverage is 1.5 points
    assert 0.90 <= cover <= 0.99, cover


def test_treating_samples_as_independent_undercovers():
    # The naive bootstrap (every sample its own cluster) ignores the puzzle effect and is too
    # narrow; this is why the intervals resample puzzles.
    def naive(data, seed):
        flat = [[x] for r in data for x in r]
        return bootstrap.clustered_bootstrap_ci(flat, seed=seed, replicates=1000)

    assert _coverage(naive) < 0.88


def test_accuracy_is_mean_of_puzzle_means_and_solved_share():
    rewards = [[1.0, 0.0], [0.5, 0.5, 0.5, 0.5], [1.0]]
    assert bootstrap.accuracy(rewards) == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert bootstrap.solved_share(rewards) == pytest.approx((0.5 + 0.0 + 1.0) / 3)


def test_interval_is_seeded_and_contains_the_estimate():
    rng = np.random.default_rng(0)
    data = _synthetic(rng, 32, 3)
    a = bootstrap.clustered_bootstrap_ci(data, seed=7, replicates=500)
    b = bootstrap.clustered_bootstrap_ci(data, seed=7, replicates=500)
    c = bootstrap.clustered_bootstrap_ci(data, seed=8, replicates=500)
    assert a == b and a != c
    assert a[0] <= bootstrap.accuracy(data) <= a[1]


def test_empty_or_sampleless_puzzles_are_rejected():
    with pytest.raises(ValueError):
        bootstrap.clustered_bootstrap_ci([], seed=0)
    with pytest.raises(ValueError):
        bootstrap.accuracy([[1.0], []])


def test_wilson_interval_known_values_and_limits():
    from deductive.evaluation.bootstrap import wilson_interval

    lo, hi = wilson_interval(0.0, 11)  # 0 of 44 samples on 11 puzzles: chance (25%) not excluded
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(0.2588, abs=1e-4)
    lo, hi = wilson_interval(0.5, 100)
    assert (lo, hi) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    assert wilson_interval(1.0, 5)[1] == 1.0 and wilson_interval(1.0, 5)[0] == pytest.approx(0.5655, abs=1e-4)
    narrow, wide = wilson_interval(0.3, 400), wilson_interval(0.3, 20)
    assert wide[0] < narrow[0] < 0.3 < narrow[1] < wide[1]
    assert wilson_interval(0.3, 20, confidence=0.5)[1] < wide[1]
    with pytest.raises(ValueError):
        wilson_interval(0.5, 0)
