"""Issue 11, items 3 and 4 in the loop: the new weights are written once per iteration (the
hand-off directory the engine reloads from), and the checkpoint hard-links those files instead
of writing the model a second time; with `sleep_engine_while_training` the engine sleeps at
level 2 and is woken weights first, reloaded, then its KV cache."""

import os
from pathlib import Path

import torch
from safetensors.torch import load_file

from deductive.training import checkpoint as ckpt
from deductive.training.loop import train
from test_train import good_token_share
from training_fixtures import TorchSampler, make_tiny_qwen2, tiny_config, write_puzzles


def _state(scale: float) -> dict:
    return {"model.embed_tokens.weight": torch.full((8, 4), scale), "model.norm.weight": torch.ones(4) * scale,
            "lm_b.weight": torch.arange(8.0) * scale}


def _save(root: Path, it: int, handoff: Path, base: Path) -> Path:
    return ckpt.save(root, it, hf_state=None, weights_from=handoff, base_model_dir=base,
                     optimizer_state={"state": {}, "param_groups": []}, state={"iteration": it})


def test_checkpoint_links_the_handoff_files(tmp_path, monkeypatch):
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    root = tmp_path / "ckpt"
    extra = {"lm_head.weight": torch.full((8, 4), 7.0)}
    for shard_bytes in (ckpt.SHARD_BYTES, 64):  # one file, then sharded with an index
        monkeypatch.setattr(ckpt, "SHARD_BYTES", shard_bytes)
        handoff = ckpt.write_handoff(root, _state(1.0), base, engine_extra=extra)
        engine = {}
        for f in handoff.glob("*.safetensors"):
            engine.update(load_file(str(f)))
        assert "lm_head.weight" in engine  # the engine gets the tied head's copy
        it = 1 if shard_bytes > 64 else 2
        saved = _save(root, it, handoff, base)
        weights = sorted(saved.glob("*.safetensors"))
        assert weights and ckpt.ENGINE_EXTRA not in [w.name for w in weights]
        for w in weights:  # the same bytes on disk, written once
            assert os.stat(w).st_ino == os.stat(handoff / w.name).st_ino
        got = {}
        for w in weights:
            got.update(load_file(str(w)))
        assert set(got) == set(_state(1.0))
        if shard_bytes == 64:
            import json

            index = json.loads((saved / "model.safetensors.index.json").read_text())
            assert set(index["weight_map"]) == set(_state(1.0))
            assert "lm_head.weight" in json.loads((handoff / "model.safetensors.index.json").read_text())["weight_map"]
        # the next iteration's hand-off does not touch the checkpoint's files
        ckpt.write_handoff(root, _state(2.0), base, engine_extra=extra)
        for w in weights:
            assert all(torch.equal(v, _state(1.0)[k]) for k, v in load_file(str(w)).items())
    assert ckpt.remove_incomplete(root) == [] and not (root / ckpt.HANDOFF).exists()  # swept, not reported


def test_loop_sleeps_level_2_and_hands_weights_over_once(tmp_path):
    model_dir = make_tiny_qwen2(tmp_path / "model", tied=True)
    train_file, val_file = write_puzzles(tmp_path / "train.jsonl", 8, "train"), write_puzzles(tmp_path / "val.jsonl", 2, "val")
    samplers = []

    def make(d, cfg):
        samplers.append(TorchSampler(d, cfg, good_token_share))
        return samplers[-1]

    summary = train(tiny_config(iterations=1, sleep_engine_while_training=True), "tiny", model_dir=model_dir,
                    train_file=train_file, val_file=val_file, out_dir=tmp_path / "out", ckpt_root=tmp_path / "ckpt",
                    make_sampler=make, log=lambda msg: None)
    assert samplers[0].calls == [("sleep", 2), ("wake_up", ["weights"]), ("load_weights",), ("wake_up", ["kv_cache"])]
    latest = Path(summary["checkpoint_latest"])
    handoff = tmp_path / "ckpt" / ckpt.HANDOFF
    assert os.stat(latest / "model.safetensors").st_ino == os.stat(handoff / "model.safetensors").st_ino
    assert "lm_head.weight" not in load_file(str(latest / "model.safetensors"))  # standard tied layout
    # the engine got exactly the trained weights (its tied head included)
    engine = samplers[0].model.state_dict()
    saved = load_file(str(latest / "model.safetensors"))
    assert all(torch.equal(engine[k], saved[k]) for k in saved)
    assert torch.equal(engine["lm_head.weight"], saved["model.embed_tokens.weight"])
