"""Two evaluations of the same puzzles compared puzzle by puzzle: the difference in accuracy and
its interval from a paired clustered bootstrap.

When two models are evaluated on the same puzzles (an experiment arm against its baseline, both
on the byte-identical test or shortcut-free split), comparing their two intervals wastes the
pairing: most of each interval's width is which puzzles happened to be drawn, and that is
shared. The paired statistic is the mean over puzzles of (arm's mean reward - baseline's mean
reward) on each puzzle; a bootstrap replicate resamples puzzles with replacement and keeps both
models' samples of a drawn puzzle together (deductive.evaluation.bootstrap, applied to the
per-puzzle differences). An interval that excludes 0 says the arm differs from the baseline on
puzzles like these, beyond the luck of the draw of puzzles; it says nothing of the luck of the
training run itself (one run is one draw of the training noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np


class PairingError(ValueError):
    """The two evaluations are not of the same puzzles."""


@dataclass(frozen=True)
class PairedDifference:
    difference: float  # mean over puzzles of (arm - baseline) per-puzzle mean reward
    lo: float
    hi: float
    n_puzzles: int
    arm_better: int  # puzzles where the arm's mean reward is higher
    baseline_better: int


def paired_difference(arm: Mapping[str, Sequence[float]], baseline: Mapping[str, Sequence[float]], *,
                      seed: int, replicates: int = 2000, confidence: float = 0.95) -> PairedDifference:
    """`arm` and `baseline`: puzzle id -> the rewards of its samples. Both must cover the same
    puzzles (PairingError otherwise); the numbers of samples may differ."""
    if set(arm) != set(baseline):
        only_arm, only_base = sorted(set(arm) - set(baseline)), sorted(set(baseline) - set(arm))
        raise PairingError(f"not the same puzzles: {len(only_arm)} only in the arm (first: {only_arm[:1]}), "
                           f"{len(only_base)} only in the baseline (first: {only_base[:1]})")
    if not arm:
        raise PairingError("no puzzles to compare")
    if not 0 < confidence < 1 or replicates < 1:
        raise ValueError("confidence must lie in (0, 1) and replicates be positive")
    ids = sorted(arm)
    if any(len(arm[i]) == 0 or len(baseline[i]) == 0 for i in ids):
        raise PairingError("a puzzle without samples cannot be compared")
    delta = np.array([np.mean(arm[i]) - np.mean(baseline[i]) for i in ids], dtype=float)
    draws = np.random.default_rng(seed).integers(0, len(delta), size=(replicates, len(delta)))
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(delta[draws].mean(axis=1), [alpha, 1.0 - alpha])
    return PairedDifference(difference=float(delta.mean()), lo=float(lo), hi=float(hi), n_puzzles=len(ids),
                            arm_better=int((delta > 0).sum()), baseline_better=int((delta < 0).sum()))


def rewards_by_puzzle(samples: Sequence[Mapping]) -> dict[str, list[float]]:
    """Evaluation sample records -> puzzle id -> the rewards of its samples."""
    out: dict[str, list[float]] = {}
    for sample in samples:
        out.setdefault(sample["puzzle_id"], []).append(float(sample["reward"]))
    return out
