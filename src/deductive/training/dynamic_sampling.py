"""Dynamic sampling (DAPO's "drop and refill"): an iteration trains on puzzle groups that carry
a learning signal, refilling the tied ones with new puzzles from the train split.

A group (the K completions of one puzzle) whose training rewards all tie gets advantage 0 for
every completion (deductive.training.advantages) and teaches nothing. Once a policy solves most
puzzles of a kind (or none), most groups tie and an iteration's step shrinks to a few groups.
With `training.dynamic_sampling.max_rounds: R`, after the iteration's first draw of P puzzles,
up to R further rounds each draw as many new puzzles as informative groups are still missing
and sample them; the step then uses the first P informative groups in draw order. Tied groups
still count in the iteration's train reward (what the policy does on the puzzles it drew).

Ties are judged on the rewards the advantages use: the graded reward plus the training-only
shaping (`training.reward_shaping`), so a group that ties on correctness but not on format
still teaches format, exactly as without dynamic sampling.

The puzzles come from the run's one data stream (deductive.training.loop: the train split
shuffled once with the run's seed, read cyclically); the loop keeps how many puzzles were drawn
so far in its state, so a resumed run draws the same puzzles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from deductive.training.advantages import shaped_reward


@dataclass(frozen=True)
class Draw:
    """One iteration's sampling under dynamic sampling."""

    samples: list[dict]  # every completion drawn this iteration, in draw order
    used: list[dict]  # the completions of the groups the step trains on (at most P groups)
    puzzles_drawn: int  # puzzles taken from the data stream (P + the refills)
    rounds: int  # refill rounds run (0: the first draw had P informative groups or R is 0)
    informative: int  # informative groups among all drawn

    def record(self) -> dict:
        """What the iteration's metrics record says of it."""
        return {"groups_sampled": self.puzzles_drawn, "groups_informative": self.informative,
                "groups_used": len({s["puzzle_id"] for s in self.used}), "refill_rounds": self.rounds}


def groups(samples: list[dict]) -> list[list[dict]]:
    """The completions grouped by puzzle, groups in order of first appearance."""
    by_puzzle: dict[str, list[dict]] = {}
    for sample in samples:
        by_puzzle.setdefault(sample["puzzle_id"], []).append(sample)
    return list(by_puzzle.values())


def is_informative(group: list[dict], shaping: dict[str, float]) -> bool:
    """Whether the group's training rewards (graded + shaping) are not all equal."""
    rewards = np.array([shaped_reward(s, **shaping) for s in group], dtype=np.float64)
    return rewards.size > 1 and bool(np.ptp(rewards) > 0)


def draw_groups(sample_next: Callable[[int, int], list[dict]], per_iteration: int, max_rounds: int,
                shaping: dict[str, float]) -> Draw:
    """Draw `per_iteration` puzzles, then up to `max_rounds` refills of the missing informative
    groups. `sample_next(count, round)` takes the next `count` puzzles of the data stream and
    returns their graded completions (round 0 is the first draw)."""
    samples = sample_next(per_iteration, 0)
    drawn = per_iteration
    informative = [g for g in groups(samples) if is_informative(g, shaping)]
    rounds = 0
    while len(informative) < per_iteration and rounds < max_rounds:
        rounds += 1
        missing = per_iteration - len(informative)
        more = sample_next(missing, rounds)
        drawn += missing
        samples = samples + more
        informative += [g for g in groups(more) if is_informative(g, shaping)]
    used = [s for g in informative[:per_iteration] for s in g]
    return Draw(samples=samples, used=used, puzzles_drawn=drawn, rounds=rounds, informative=len(informative))
