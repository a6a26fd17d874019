"""Group-relative advantages (GRPO): each completion's reward against its puzzle's group.

A(r) = (r - mean(group)) / (std(group) + 1e-6), std the population standard deviation over the
completions of one puzzle. A group whose rewards are all equal gives advantage 0 everywhere;
such completions carry no learning signal and are dropped before packing.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

EPS = 1e-6


def group_advantages(rewards: list[float] | np.ndarray) -> np.ndarray:
    r = np.asarray(rewards, dtype=np.float64)
    if r.size == 0 or np.ptp(r) == 0:  # equal rewards: exactly 0 (mean() may round off)
        return np.zeros_like(r)
    return (r - r.mean()) / (r.std() + EPS)  # np.std is the population std (ddof=0)


def assign_advantages(samples: list[dict]) -> list[dict]:
    """Copies of `samples` with "advantage" set, grouped by puzzle_id; zero-advantage ones dropped.

    Order is kept (puzzle by puzzle as they come, then sample order), so packing is deterministic.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, sample in enumerate(samples):
        groups[sample["puzzle_id"]].append(i)
    advantage = [0.0] * len(samples)
    for members in groups.values():
        values = group_advantages([float(samples[i]["reward"]) for i in members])
        for i, a in zip(members, values):
            advantage[i] = float(a)
    return [dict(s, advantage=a) for s, a in zip(samples, advantage) if a != 0.0]


def shape_rewards(samples: list[dict], answered_weight: float) -> list[dict]:
    """Training-only reward shaping: copies of `samples` whose "reward" is the graded reward plus
    `answered_weight` x the share of questions the completion answers at all (right or wrong;
    the sampler's "answered" field). The graded reward is kept as "graded_reward". Weight 0
    returns the samples unchanged. Evaluation and validation never see shaped rewards: this only
    changes which completions of a group count as better while the format is still being learned
    (named in the config as training.reward_shaping, off in the paper profile).
    """
    if not answered_weight:
        return samples
    return [dict(s, graded_reward=float(s["reward"]),
                 reward=float(s["reward"]) + float(answered_weight) * float(s["answered"]))
            for s in samples]
