"""Dynamic sampling: tied groups are refilled from the train stream, the step trains on the first
P informative groups, and a resumed run draws the same puzzles."""

from pathlib import Path

import pytest

from deductive.training.dynamic_sampling import draw_groups, is_informative
from deductive.training.loop import TrainingError, train
from test_train import good_token_share, metrics
from training_fixtures import TorchSampler, tiny_config, training_inputs, write_puzzles


def fake_stream(rewards_of: dict[int, list[float]]):
    """sample_next over puzzles 0, 1, 2, ... whose K rewards are given; records the calls."""
    calls = []
    position = 0

    def sample_next(count, round_):
        nonlocal position
        calls.append((position, count, round_))
        out = [{"puzzle_id": f"p{i}", "sample_index": j, "reward": r}
               for i in range(position, position + count) for j, r in enumerate(rewards_of[i])]
        position += count
        return out
    return sample_next, calls


TIED, MIXED = [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]


def test_tied_groups_are_refilled_until_p_informative_groups():
    rewards = {0: TIED, 1: MIXED, 2: TIED, 3: TIED, 4: MIXED, 5: TIED, 6: MIXED, 7: MIXED, 8: MIXED}
    sample_next, calls = fake_stream(rewards)
    draw = draw_groups(sample_next, per_iteration=4, max_rounds=5, shaping={})
    # first draw 0-3 (1 informative), refill 3 (4-6: 2 more), refill 1 (7: the fourth)
    assert calls == [(0, 4, 0), (4, 3, 1), (7, 1, 2)]
    assert draw.puzzles_drawn == 8 and draw.rounds == 2 and draw.informative == 4
    assert [s["puzzle_id"] for s in draw.used][::3] == ["p1", "p4", "p6", "p7"]
    assert len(draw.samples) == 8 * 3  # the tied groups count in the iteration's reward
    assert draw.record() == {"groups_sampled": 8, "groups_informative": 4, "groups_used": 4, "refill_rounds": 2}


def test_refills_stop_at_max_rounds_and_extra_informative_groups_wait():
    sample_next, calls = fake_stream({i: TIED for i in range(20)})
    draw = draw_groups(sample_next, per_iteration=4, max_rounds=2, shaping={})
    assert calls == [(0, 4, 0), (4, 4, 1), (8, 4, 2)] and draw.used == [] and draw.puzzles_drawn == 12

    sample_next, _ = fake_stream({0: TIED, 1: MIXED, 2: MIXED, 3: MIXED, 4: MIXED, 5: MIXED})
    draw = draw_groups(sample_next, per_iteration=4, max_rounds=1, shaping={})
    assert draw.rounds == 1 and draw.informative == 4  # 1-3 and 4 (one refill of one puzzle)


def test_no_rounds_draws_p_puzzles_once():
    sample_next, calls = fake_stream({i: TIED for i in range(4)})
    draw = draw_groups(sample_next, per_iteration=4, max_rounds=0, shaping={})
    assert calls == [(0, 4, 0)] and draw.rounds == 0 and draw.used == []


def test_ties_are_judged_on_the_shaped_reward_the_advantages_use():
    group = [{"reward": 0.0, "listed": 1.0}, {"reward": 0.0, "listed": 0.0}]
    assert not is_informative(group, {})
    assert is_informative(group, {"listed_answer_weight": 0.5})
    assert not is_informative(group[:1], {"listed_answer_weight": 0.5})  # one sample: nothing to compare


# ------------------------------------------------------------------------------ in the loop

@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return training_inputs(tmp_path_factory.mktemp("dynamic-inputs"), val=2)


class HalfTiedSampler(TorchSampler):
    """Every completion of an even-numbered train puzzle scores 1 (its group ties); odd ones score
    the share of small token ids (their groups differ). Records the puzzles it is asked for."""

    asked: list[str] = []

    def __init__(self, model_dir, cfg):
        super().__init__(model_dir, cfg, good_token_share)

    def sample(self, puzzles, *args, **kwargs):
        records = super().sample(puzzles, *args, **kwargs)
        for r in records:
            if r["puzzle_id"].startswith("train") and int(r["puzzle_id"].split("-")[1]) % 2 == 0:
                r["reward"] = 1.0
        HalfTiedSampler.asked += [p.id for p in puzzles if p.id.startswith("train")]
        return records


def run(inputs, work: Path, rounds: int, **kw):
    config = tiny_config(iterations=3, dynamic_sampling={"max_rounds": rounds})
    return train(config, "tiny", out_dir=work / "out", ckpt_root=work / "ckpt", make_sampler=HalfTiedSampler,
                 log=lambda msg: None, **inputs, **kw)


def test_the_loop_refills_tied_groups_and_a_resumed_run_draws_the_same_puzzles(inputs, tmp_path):
    HalfTiedSampler.asked = []
    run(inputs, tmp_path / "straight", rounds=2)
    straight = list(HalfTiedSampler.asked)
    records = metrics(tmp_path / "straight")
    for r in records:  # 4 puzzles drawn first, then refills of the tied ones (about half)
        assert r["groups_sampled"] >= 4 and r["groups_used"] == min(4, r["groups_informative"])
        assert (r["refill_rounds"] == 0) == (r["groups_sampled"] == 4)
        assert r["train_samples"] == 8 * r["groups_sampled"]
    assert sum(r["refill_rounds"] for r in records) >= 2
    # one stream: each iteration goes on where the last one's refills stopped
    assert len(straight) == sum(r["groups_sampled"] for r in records)
    assert len(set(straight[:12])) == 12  # no puzzle twice before the stream wraps

    HalfTiedSampler.asked = []
    run(inputs, tmp_path / "resumed", rounds=2, stop_after=1)
    run(inputs, tmp_path / "resumed", rounds=2)
    assert HalfTiedSampler.asked == straight
    assert [r["groups_sampled"] for r in metrics(tmp_path / "resumed")] == [r["groups_sampled"] for r in records]


def test_too_many_rounds_for_the_train_split_are_refused(inputs, tmp_path):
    with pytest.raises(TrainingError, match=r"dynamic_sampling.max_rounds \(3\).*16 puzzles.*12"):
        run(inputs, tmp_path, rounds=3)


# ------------------------------------------------------------------------------ curriculum

class RecordingSampler(TorchSampler):
    """Records which train puzzles it is asked for, in order."""

    asked: list[str] = []

    def __init__(self, model_dir, cfg):
        super().__init__(model_dir, cfg, good_token_share)

    def sample(self, puzzles, *args, **kwargs):
        RecordingSampler.asked += [p.id for p in puzzles if not p.id.startswith("val")]
        return super().sample(puzzles, *args, **kwargs)


def run_curriculum(inputs, easy_file, work: Path, **kw):
    config = tiny_config(iterations=3, curriculum=[{"split": "easy", "iterations": 2}])
    return train(config, "tiny", out_dir=work / "out", ckpt_root=work / "ckpt", make_sampler=RecordingSampler,
                 curriculum_files={"easy": easy_file}, log=lambda msg: None, **inputs, **kw)


def test_a_curriculum_draws_its_stages_first_each_from_its_own_stream(inputs, tmp_path):
    from deductive.training.loop import data_order, iteration_puzzles
    from deductive.puzzles.formats import load_puzzles

    easy = write_puzzles(tmp_path / "easy.jsonl", 8, "easy")
    RecordingSampler.asked = []
    summary = run_curriculum(inputs, easy, tmp_path / "straight")
    straight = list(RecordingSampler.asked)
    assert [r["train_split"] for r in metrics(tmp_path / "straight")] == ["easy", "easy", "train"]
    assert all(p.startswith("easy") for p in straight[:8]) and len(set(straight[:8])) == 8
    # train_split's stream is the one a run without a curriculum reads, from its beginning
    train = load_puzzles(inputs["train_file"])
    order = data_order(len(train), _data_order_seed())
    assert straight[8:] == [p.id for p in iteration_puzzles(train, order, 1, 4)]
    assert summary["provenance"]["inputs"]["curriculum_easy"]["path"].endswith("easy.jsonl")

    RecordingSampler.asked = []
    run_curriculum(inputs, easy, tmp_path / "resumed", stop_after=1)
    run_curriculum(inputs, easy, tmp_path / "resumed")
    assert RecordingSampler.asked == straight


def _data_order_seed():
    from deductive.config import derive_seed

    return derive_seed(derive_seed(tiny_config()["seed"], "training", "tiny"), "data-order")


def test_a_curriculum_needs_its_files_and_a_resume_its_puzzles(inputs, tmp_path):
    with pytest.raises(TrainingError, match=r"curriculum names the splits \['easy'\].*given are for none"):
        train(tiny_config(iterations=3, curriculum=[{"split": "easy", "iterations": 1}]), "tiny",
              out_dir=tmp_path / "out", ckpt_root=tmp_path / "ckpt", make_sampler=RecordingSampler,
              log=lambda msg: None, **inputs)
    easy = write_puzzles(tmp_path / "easy.jsonl", 8, "easy")
    run_curriculum(inputs, easy, tmp_path / "run", stop_after=1)
    write_puzzles(easy, 9, "easy")  # the stage's split changed under the run
    with pytest.raises(TrainingError, match="curriculum_sha256.easy"):
        run_curriculum(inputs, easy, tmp_path / "run")
