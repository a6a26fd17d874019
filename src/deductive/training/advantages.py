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


def shaped_reward(sample: dict, answered_weight: float = 0.0, listed_answer_weight: float = 0.0) -> float:
    """The graded reward plus `answered_weight` x the share of questions given any answer and
    `listed_answer_weight` x the share answered with one of the puzzle's listed options (right or
    wrong; the sampler's "answered" and "listed" fields, missing counts as 0)."""
    return (float(sample["reward"]) + float(answered_weight) * float(sample.get("answered") or 0.0)
            + float(listed_answer_weight) * float(sample.get("listed") or 0.0))


def shape_rewards(samples: list[dict], answered_weight: float = 0.0,
                  listed_answer_weight: float = 0.0) -> list[dict]:
    """Training-only reward shaping: copies of `samples` whose "reward" is `shaped_reward`, the
    graded reward kept as "graded_reward"; all weights 0 returns the samples unchanged.
    Validation and evaluation never see shaped rewards: this only ranks the completions of a
    group while the answer format is still being learned (first any answer lines, then listed
    names), so groups whose graded rewards all tie at 0 still carry a signal
    (training.reward_shaping in the config, off in the paper profile).
    """
    if not answered_weight and not listed_answer_weight:
        return samples
    return [dict(s, graded_reward=float(s["reward"]),
                 reward=shaped_reward(s, answered_weight, listed_answer_weight)) for s in samples]
