"""The training loop end to end on CPU with a tiny random Qwen2 and a stand-in sampler
(tests/training_fixtures.TorchSampler): learning, resume after SIGKILL, checkpoints, errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from deductive.training import checkpoint as ckpt
from deductive.training.loop import TrainingError, iteration_puzzles, data_order, train
from deductive.training.tune_model import load_model
from training_fixtures import TorchSampler, tiny_config, training_inputs, write_puzzles

ROOT = Path(__file__).resolve().parents[1]


def good_token_share(completion):
    """Synthetic reward the tiny model can learn: share of completion tokens with id < 32."""
    return sum(t < 32 for t in completion) / max(1, len(completion))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return training_inputs(tmp_path_factory.mktemp("train-inputs"), val=3)


class SlowSampler(TorchSampler):
    """Sleeps before each sampling call, so a kill lands inside an iteration on any machine."""

    def sample(self, *args, **kwargs):
        time.sleep(1.0)
        return super().sample(*args, **kwargs)


def run(config, inputs, work: Path, slow: bool = False, **kw):
    cls = SlowSampler if slow else TorchSampler
    return train(config, "tiny", out_dir=work / "out", ckpt_root=work / "ckpt",
                 make_sampler=lambda model_dir, cfg: cls(model_dir, cfg, good_token_share),
                 log=lambda msg: None, **inputs, **kw)


def metrics(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / "out" / "metrics.jsonl").read_text().splitlines()]


def optimizer_tensors(iter_dir: Path) -> dict:
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    out = iter_dir.parent / f"{iter_dir.name}-optim.pt"
    dcp_to_torch_save(str(iter_dir / "optimizer"), str(out))
    state = torch.load(out, weights_only=False)["optimizer"]["state"]
    out.unlink()
    return {f"{name}/{k}": v for name, s in state.items() for k, v in s.items()}


@pytest.mark.slow
def test_mean_reward_rises_with_the_real_training_step(inputs, tmp_path):
    summary = run(tiny_config(iterations=6), inputs, tmp_path)
    m = metrics(tmp_path)
    rewards = [r["train_reward_mean"] for r in m]
    first, last = sum(rewards[:2]) / 2, sum(rewards[-2:]) / 2
    print(f"train reward by iteration: {[round(r, 3) for r in rewards]}; "
          f"val {summary['base_val_reward']:.3f} -> best {summary['best_val_reward']:.3f}")
    assert last > first + 0.05, rewards
    assert summary["best_val_reward"] > summary["base_val_reward"]
    assert all(r["optimizer_steps"] >= 1 and r["tokens_trained"] > 0 for r in m)
    assert {"sample", "train", "eval", "pack", "weights", "checkpoint", "overhead"} <= set(m[0]["seconds"])


@pytest.mark.slow
def test_resume_after_sigkill_equals_an_uninterrupted_run(inputs, tmp_path):
    config = tiny_config(iterations=3)
    run(config, inputs, tmp_path / "straight")

    killed = tmp_path / "killed"
    script = (f"import sys; sys.path[:0] = [{str(ROOT / 'src')!r}, {str(ROOT / 'tests')!r}]\n"
              "from test_train import run, tiny_config\nfrom pathlib import Path\n"
              f"run(tiny_config(iterations=3), {{k: Path(v) for k, v in {json.dumps({k: str(v) for k, v in inputs.items()})}.items()}}, Path({str(killed)!r}), slow=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (killed / "ckpt" / "iter-0001" / ckpt.COMPLETE).exists():  # kill during iteration 2
        assert proc.poll() is None and time.monotonic() < deadline, "child ended before iteration 1"
        time.sleep(0.05)
    time.sleep(0.5)  # inside iteration 2's (slowed) sampling
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "ckpt" / "iter-0003").exists()
    # a half-written checkpoint must never be taken: fake one for iteration 2
    fake = killed / "ckpt" / "iter-0002"
    if not (fake / ckpt.COMPLETE).exists():
        fake.mkdir(exist_ok=True)
        (fake / "model.safetensors").write_bytes(b"torn")

    run(config, inputs, killed)

    a, b = tmp_path / "straight" / "ckpt" / "iter-0003", killed / "ckpt" / "iter-0003"
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    worst_w = max(float((wa[k] - wb[k]).abs().max()) for k in wa)
    oa, ob = optimizer_tensors(a), optimizer_tensors(b)
    assert oa.keys() == ob.keys() and any(k.endswith("exp_avg_sq") for k in oa)
    worst_o = max(float((torch.as_tensor(oa[k]).float() - torch.as_tensor(ob[k]).float()).abs().max()) for k in oa)
    print(f"resumed vs uninterrupted: max |dW| = {worst_w:.2e}, max |d optimizer state| = {worst_o:.2e}")
    assert worst_w <= 1e-6 and worst_o <= 1e-6
    ma, mb = metrics(tmp_path / "straight"), metrics(killed)
    assert [r["iteration"] for r in mb] == [1, 2, 3]
    for ra, rb in zip(ma, mb):  # same puzzles, same samples, same rewards
        assert ra["train_reward_mean"] == rb["train_reward_mean"] and ra["val_reward"] == rb["val_reward"]
        assert ra["tokens_trained"] == rb["tokens_trained"]
    assert json.loads((killed / "out" / "summary.json").read_text())["iterations_done"] == 3


def test_checkpoint_is_an_hf_directory_transformers_loads(inputs, tmp_path):
    from transformers import AutoModelForCausalLM

    config = tiny_config(iterations=1)
    summary = run(config, inputs, tmp_path)
    latest = Path(summary["checkpoint_latest"])
    assert (latest / ckpt.COMPLETE).is_file() and (latest / "config.json").is_file()
    hf = AutoModelForCausalLM.from_pretrained(str(latest), dtype=torch.float32).eval()
    tt = load_model(latest).eval()
    ids = torch.randint(2, 256, (1, 20), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (hf(ids).logits - tt(ids)).abs().max().item()
    assert diff < 1e-4
    base = load_file(str(inputs["model_dir"] / "model.safetensors"))
    new = load_file(str(latest / "model.safetensors"))
    assert set(base) == set(new) and any(not torch.equal(base[k], new[k]) for k in base)  # trained


def test_incomplete_checkpoints_are_ignored_and_removed(tmp_path):
    for name, complete in (("iter-0001", True), ("iter-0002", False), (".tmp-iter-0003", True)):
        (tmp_path / name).mkdir()
        if complete:
            (tmp_path / name / ckpt.COMPLETE).write_text("x")
    assert ckpt.latest_complete(tmp_path) == tmp_path / "iter-0001"
    assert sorted(ckpt.remove_incomplete(tmp_path)) == [".tmp-iter-0003", "iter-0002"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iter-0001"]


def test_reset_switch_restarts_adamw_every_iteration(inputs, tmp_path):
    keep = tiny_config(iterations=2, rows_per_device_per_step=64)
    run(keep, inputs, tmp_path / "keep")
    reset = tiny_config(iterations=2, rows_per_device_per_step=64)
    reset["training"]["optimizer"]["reset_optimizer_each_iteration"] = True
    run(reset, inputs, tmp_path / "reset")
    steps = lambda w: {float(v) for k, v in optimizer_tensors(w / "ckpt" / "iter-0002").items() if k.endswith("/step")}
    assert steps(tmp_path / "keep") == {2.0}    # one step per iteration, state carried over
    assert steps(tmp_path / "reset") == {1.0}   # fresh AdamW in iteration 2


def test_data_order_is_a_seeded_cyclic_slice():
    puzzles = list(range(10))
    order = data_order(10, 5)
    assert sorted(order) == puzzles and order == data_order(10, 5) and order != data_order(10, 6)
    seen = [p for it in (1, 2, 3) for p in iteration_puzzles(puzzles, order, it, 4)]
    assert seen[:10] == order and seen[10:] == order[:2]


def test_not_enough_gpus_stops_before_any_work(inputs, tmp_path):
    config = tiny_config()
    config["training"]["runs"]["tiny"]["gpus_required"] = 2
    with pytest.raises(TrainingError, match="needs 2 GPUs"):
        run(config, inputs, tmp_path)
    assert not (tmp_path / "ckpt").exists() and not (tmp_path / "out").exists()


def test_script_reports_user_errors_in_one_line(tmp_path):
    paths = ["--model-dir", str(tmp_path / "model"), "--train", str(tmp_path / "train.jsonl"), "--val",
             str(tmp_path / "val.jsonl"), "--out", str(tmp_path / "out"), "--checkpoints", str(tmp_path / "ckpt")]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run([sys.executable, "scripts/train.py", "--config", "workflow/config/paper.yaml",
                           "--run", "qwen2.5-14b", *paths], cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "GPU" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "scripts/train.py", "--config", "workflow/config/smoke.yaml",
                           "--run", "nope", *paths], cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "no training run 'nope'" in proc.stderr


def test_patience_stops_the_run_and_a_rerun_does_not_continue(inputs, tmp_path):
    config = tiny_config(iterations=5, patience=1)
    flat = lambda model_dir, cfg: TorchSampler(model_dir, cfg, lambda completion: 0.0)
    kw = dict(out_dir=tmp_path / "out", ckpt_root=tmp_path / "ckpt", make_sampler=flat, log=lambda m: None)
    summary = train(config, "tiny", **inputs, **kw)
    assert summary["iterations_done"] == 1 and summary["stopped_because"].startswith("patience")
    assert summary["best_iteration"] == 0 and summary["checkpoint_best"] == str(inputs["model_dir"])
    m = metrics(tmp_path)
    assert m[0]["advantages_kept"] == 0 and m[0]["optimizer_steps"] == 0  # equal rewards: nothing to learn
    again = train(config, "tiny", **inputs, **kw)
    assert again["iterations_done"] == 1 and len(metrics(tmp_path)) == 1


def test_resume_refuses_a_checkpoint_trained_under_other_settings(inputs, tmp_path):
    """A longer run resumes; an edited learning rate or train split would splice two experiments
    into one curve: refused before any work, with the changed keys named, and nothing deleted."""
    run(tiny_config(iterations=1), inputs, tmp_path)
    longer = run(tiny_config(iterations=2, val_every=2), inputs, tmp_path)  # resume-safe edits
    assert longer["iterations_done"] == 2 and [r["iteration"] for r in metrics(tmp_path)] == [1, 2]

    changed = tiny_config(iterations=3)
    changed["training"]["optimizer"]["lr"] = 1e-3
    with pytest.raises(TrainingError) as err:
        run(changed, inputs, tmp_path)
    message = str(err.value)
    assert "training.optimizer.lr" in message and "iterations" not in message
    assert str(tmp_path / "ckpt") in message
    assert (tmp_path / "ckpt" / "iter-0002" / ckpt.COMPLETE).is_file()  # nothing lost

    other_split = dict(inputs, train_file=write_puzzles(tmp_path / "other-train.jsonl", 12, "other"))
    with pytest.raises(TrainingError, match="train_file_sha256"):
        run(tiny_config(iterations=3), other_split, tmp_path)


def test_base_evaluation_is_measured_again_under_other_settings(inputs, tmp_path):
    run(tiny_config(iterations=1), inputs, tmp_path)
    base_file = tmp_path / "ckpt" / "base_eval.json"
    first = json.loads(base_file.read_text())
    assert first["settings"]["training"]["val_samples_per_puzzle"] == 2
    import shutil
    shutil.rmtree(tmp_path / "ckpt" / "iter-0001")  # no checkpoint: a fresh run under new settings
    run(tiny_config(iterations=1, val_samples_per_puzzle=1), inputs, tmp_path)
    again = json.loads(base_file.read_text())
    assert again["settings"]["training"]["val_samples_per_puzzle"] == 1 and again["val_samples"] == 3
