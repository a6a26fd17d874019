"""Model preparation: both smoke models load in transformers and torchtune with equal logits;
preparation is deterministic, idempotent and atomic; the hub path fails with one line offline."""

import json
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from deductive.config import load_config
from deductive.inference.model_prep import (ModelPrepError, build_torchtune_model, prepare_model,
                                        read_manifest, torchtune_spec)



def smoke_models() -> dict:
    """The smoke profile's model specs (read when a test asks, not when the module is imported)."""
    return load_config("smoke")["models"]
MODELS_DIR = ROOT / "models"


def smoke_model(name: str):
    """The smoke model directory (prepared once, reused: preparation is idempotent)."""
    out = MODELS_DIR / name
    prepare_model(name, smoke_models()[name], out)
    return out


@pytest.mark.parametrize("name", ["tiny-qwen2", "smollm2-135m"])
def test_transformers_and_torchtune_agree(name, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = smoke_model(name)
    manifest = read_manifest(model_dir)
    assert manifest["name"] == name and manifest["weights_sha256"]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "Who killed Mr. Boddy?"}],
                                        add_generation_prompt=True, tokenize=True, return_dict=False)
    assert tokenizer.chat_template and len(ids) > 5
    hf = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    tt, _ = build_torchtune_model(model_dir, output_dir=tmp_path)
    tt.eval()
    x = torch.tensor([ids])
    with torch.no_grad():
        a = hf(x).logits.float()
        b = tt(x).float()
    assert a.shape == b.shape
    diff = (a - b).abs().max().item()
    assert diff < 1e-3, f"{name}: transformers vs torchtune logits differ by {diff}"
    if name == "smollm2-135m":
        builder, model_type, kwargs = torchtune_spec(model_dir)
        assert model_type == "LLAMA3_2" and kwargs["tie_word_embeddings"] and kwargs["scale_factor"] == 1
        # a real model: its greedy answer to a chat prompt is English text, not noise
        out = hf.generate(x, max_new_tokens=8, do_sample=False)
        assert any(c.isalpha() for c in tokenizer.decode(out[0, len(ids):]))


def test_random_qwen2_deterministic_idempotent_atomic(tmp_path):
    spec = dict(smoke_models()["tiny-qwen2"], num_hidden_layers=1)
    a = prepare_model("tiny-qwen2", spec, tmp_path / "a")
    b = prepare_model("tiny-qwen2", spec, tmp_path / "b")
    assert a["weights_sha256"] == b["weights_sha256"]  # same seed -> byte-identical weights
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["hidden_size"] // config["num_attention_heads"] == 64
    mtime = (tmp_path / "a" / "model.safetensors").stat().st_mtime_ns
    assert prepare_model("tiny-qwen2", spec, tmp_path / "a") == a  # idempotent: kept as is
    assert (tmp_path / "a" / "model.safetensors").stat().st_mtime_ns == mtime
    c = prepare_model("tiny-qwen2", dict(spec, seed=spec["seed"] + 1), tmp_path / "a")
    assert c["weights_sha256"] != a["weights_sha256"]  # a changed spec rebuilds
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no temp dirs left behind


def test_hub_offline_is_one_line_error(tmp_path):
    spec = {"source": "hub", "repo_id": "Qwen/Qwen2.5-14B-Instruct",
            "revision": "cf98f3b3bbb457ad9e2bb7baf9a0125b6b88caa8"}
    cfg = tmp_path / "c.yaml"
    paper = load_config("paper")
    import yaml

    cfg.write_text(yaml.safe_dump(paper))
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HF_HOME": str(tmp_path / "hf"),
           "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "prepare_model.py"), "--config", str(cfg),
                           "--name", "qwen2.5-14b-instruct", "--out", str(tmp_path / "m")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert lines[-1].startswith("error: cannot download Qwen/Qwen2.5-14B-Instruct@cf98f3b"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "m").exists()
    with pytest.raises(ModelPrepError):
        prepare_model("x", dict(spec, source="nope"), tmp_path / "n")
