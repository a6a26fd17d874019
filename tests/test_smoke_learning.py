"""The smoke profile's SmolLM2 run takes real optimiser steps: its puzzles, completion length,
temperature and training-only reward shaping give groups reward variance, so at least one group
has non-zero advantage, the loss is finite and the weights change. Real vLLM sampling, the real
grader, the smoke profile's own run settings (one iteration)."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT
from deductive.config import derive_seed, load_config
from deductive.inference.model_prep import prepare_model
from deductive.puzzles.run import RunArgs, write_puzzles
from deductive.training.loop import run_config, train

pytestmark = pytest.mark.slow


def _split(config, split, n, out):
    p = config["puzzles"]
    args = RunArgs(count=n, seed=derive_seed(p["seed"], "split", split), players=tuple(p["players"]),
                   shape=None, id_prefix=split, max_questions=p.get("max_questions", 8))
    write_puzzles(out, args, workers=1)
    return out


def test_smoke_smollm2_run_takes_real_optimiser_steps(tmp_path):
    config = load_config("smoke")
    name = "smollm2-135m"
    model_dir = ROOT / "models" / name
    prepare_model(name, config["models"][name], model_dir)
    cfg = run_config(config, name)
    assert cfg.shaping["listed_answer_weight"] > 0 and cfg.sampling["temperature"] < 1
    train_file = _split(config, "train", cfg.puzzles_per_iteration, tmp_path / "train.jsonl")
    val_file = _split(config, "val", 2, tmp_path / "val.jsonl")
    summary = train(config, name, model_dir=model_dir, train_file=train_file, val_file=val_file,
                    out_dir=tmp_path / "out", ckpt_root=tmp_path / "ckpt", stop_after=1)
    record = json.loads((tmp_path / "out" / "metrics.jsonl").read_text().splitlines()[0])
    print({k: record.get(k) for k in ("train_reward_mean", "train_shaped_reward_mean",
                                      "train_complete_answer_share", "advantages_kept", "optimizer_steps",
                                      "loss", "ratio_mean")})
    assert record["advantages_kept"] > 0
    assert record["optimizer_steps"] > 0 and record["tokens_trained"] > 0
    assert math.isfinite(record["loss"]) and record["loss"] != 0
    # near on-policy: the first step's PPO ratio starts at 1 (temperature-consistent log-probs)
    assert abs(record["ratio_mean"] - 1) < 0.05
    before = load_file(str(model_dir / "model.safetensors"))
    after = load_file(str(tmp_path / "ckpt" / "iter-0001" / "model.safetensors"))
    changed = [k for k in before if k in after and not torch.equal(before[k], after[k].to(before[k].dtype))]
    assert len(changed) > len(before) // 2, f"only {len(changed)} of {len(before)} tensors changed"
    assert summary["iterations_done"] == 1
