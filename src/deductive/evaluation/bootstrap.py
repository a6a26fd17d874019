"""Accuracy and its 95% confidence interval from several samples per puzzle.

Accuracy is the mean over puzzles of the mean reward over that puzzle's samples. Samples of
one puzzle are not independent (the same puzzle is easy or hard for every sample), so the
interval comes from a clustered bootstrap: resample *puzzles* with replacement and keep each
drawn puzzle's samples together; the statistic of a replicate is the mean of the drawn
puzzles' per-puzzle means. The interval is the percentile interval of the replicates. Treating
the samples as independent would understate the uncertainty (tests/test_bootstrap.py shows it).
`wilson_interval` is the closed-form interval for small subsets (counting each puzzle once).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Sequence

import numpy as np


def per_puzzle_means(rewards: Sequence[Sequence[float]]) -> np.ndarray:
    """Mean reward of each puzzle; every puzzle must have at least one sample."""
    if len(rewards) == 0:
        raise ValueError("no puzzles to summarise")
    if any(len(r) == 0 for r in rewards):
        raise ValueError("a puzzle without samples cannot be summarised")
    return np.array([float(np.mean(r)) for r in rewards], dtype=float)


def accuracy(rewards: Sequence[Sequence[float]]) -> float:
    return float(per_puzzle_means(rewards).mean())


def solved_share(rewards: Sequence[Sequence[float]]) -> float:
    """Mean over puzzles of the share of that puzzle's samples that answered every question."""
    return float(np.mean([np.mean([float(x) >= 1.0 for x in r]) for r in rewards]))


def clustered_bootstrap_ci(rewards: Sequence[Sequence[float]], *, seed: int, replicates: int = 2000,
                           confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the accuracy over `replicates` puzzle-level resamples."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie in (0, 1)")
    if replicates < 1:
        raise ValueError("replicates must be positive")
    means = per_puzzle_means(rewards)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(means), size=(replicates, len(means)))
    stats = means[draws].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def wilson_interval(accuracy: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of an accuracy measured on `n` puzzles (or questions), each counted
    once whatever its number of samples: the conservative end of the clustered effective sample
    size (samples of one puzzle are not independent). Unlike the bootstrap it stays informative
    at 0% and 100% (0 right on 11 puzzles: [0%, 25.9%]) and needs no random draws."""
    if n < 1:
        raise ValueError("an interval needs at least one puzzle")
    if not 0 <= accuracy <= 1:
        raise ValueError("accuracy must lie in [0, 1]")
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie in (0, 1)")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)
