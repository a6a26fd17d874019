import pytest
import numpy as np

from deductive.training.advantages import assign_advantages, group_advantages


def test_group_advantage_uses_population_std_and_epsilon():
    r = [0.0, 0.5, 1.0, 1.0]
    expected = (np.array(r) - 0.625) / (np.sqrt(np.mean((np.array(r) - 0.625) ** 2)) + 1e-6)
    assert np.allclose(group_advantages(r), expected)


def test_equal_rewards_give_exactly_zero_and_are_dropped():
    samples = [{"puzzle_id": "a", "reward": 0.3} for _ in range(3)] + \
              [{"puzzle_id": "b", "reward": x} for x in (0.0, 1.0, 1.0)]
    assert np.all(group_advantages([0.3, 0.3, 0.3]) == 0)
    kept = assign_advantages(samples)
    assert [s["puzzle_id"] for s in kept] == ["b", "b", "b"]
    assert np.isclose(sum(s["advantage"] for s in kept), 0)
    assert kept[0]["advantage"] < 0 < kept[1]["advantage"]


def test_groups_are_per_puzzle_even_when_interleaved():
    samples = [{"puzzle_id": p, "reward": r} for p, r in [("a", 0), ("b", 1), ("a", 1), ("b", 1)]]
    kept = assign_advantages(samples)
    assert [s["puzzle_id"] for s in kept] == ["a", "a"]
    assert np.allclose([s["advantage"] for s in kept], [-1 / (0.5 + 1e-6) * 0.5, 0.5 / (0.5 + 1e-6)])


def test_reward_shaping_ranks_listed_answers_and_keeps_the_graded_reward():
    from deductive.training.advantages import assign_advantages, shape_rewards

    samples = [{"puzzle_id": "p", "sample_index": i, "reward": 0.0, "listed": listed}
               for i, listed in enumerate([0.0, 1.0, 2 / 3, None])]
    assert shape_rewards(samples) is samples  # off: untouched
    shaped = shape_rewards(samples, listed_answer_weight=0.5)
    assert [s["reward"] for s in shaped] == [0.0, 0.5, 0.5 * 2 / 3, 0.0]
    assert all(s["graded_reward"] == 0.0 for s in shaped)
    assert all(s["reward"] == 0.0 for s in samples)  # the caller's records are not changed
    # all graded rewards tie at 0, yet the shaped group has advantages: the completion with a
    # complete listed answer block is pushed up
    kept = assign_advantages(shaped)
    best = max(kept, key=lambda s: s["advantage"])
    assert best["sample_index"] == 1 and len(kept) == 4


def test_answered_and_listed_terms_add_up():
    from deductive.training.advantages import shaped_reward

    sample = {"reward": 0.25, "answered": 1.0, "listed": 0.5}
    assert shaped_reward(sample, 0.25, 0.5) == pytest.approx(0.25 + 0.25 + 0.25)
    assert shaped_reward(sample) == 0.25
