"""The LoRA-against-full benchmark (deductive.bench.lora, scripts/bench_lora.py) on a tiny random
Qwen2: each arm in its own process under its profile's training settings, same rows for both."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from training_fixtures import make_tiny_qwen2


@pytest.mark.slow
def test_lora_and_full_arms_train_the_same_rows_and_differ_where_lora_should(tmp_path):
    model_dir = make_tiny_qwen2(tmp_path / "m")
    out = tmp_path / "bench" / "lora_vs_full"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_lora.py"), "--arms", "learn-room-2x2",
                           "learn-room-2x2-lora", "--run", "smollm2-135m", "--model-dir", str(model_dir),
                           "--prompt-len", "200", "--repeats", "2", "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    full, lora = json.loads(out.with_suffix(".json").read_text())["arms"]
    assert (full["method"], lora["method"]) == ("full", "LoRA rank 16")
    assert lora["learning_rate"] == 10 * full["learning_rate"]
    for key in ("rows", "real_tokens", "completion_tokens", "total_params"):
        assert key == "total_params" or full[key] == lora[key] > 0, key
    assert full["trainable_params"] == full["total_params"]
    assert 0 < lora["trainable_params"] < full["trainable_params"] / 2
    # AdamW keeps two moments per trainable parameter: the optimiser state shrinks with them
    assert lora["checkpoint_optimizer_bytes"] < full["checkpoint_optimizer_bytes"] / 2
    assert lora["checkpoint_adapter_bytes"] > 0 == full["checkpoint_adapter_bytes"]
    # both hand the engine a full set of (merged) weights
    assert lora["checkpoint_weights_bytes"] == full["checkpoint_weights_bytes"] > 0
    assert all(r["step_seconds_best"] > 0 and r["peak_rss_gib"] >= r["peak_rss_gib_loaded"] > 0 for r in (full, lora))
    assert all(0 < r["peak_rss_gib_timed_steps"] <= r["peak_rss_gib_after_steps"] * 1.01 for r in (full, lora))
    table = out.with_suffix(".md").read_text()
    assert "| full |" in table and "| LoRA rank 16 |" in table and "learn-room-2x2-lora" in table


def test_a_missing_model_is_refused_with_the_rule_to_run(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_lora.py"), "--arms", "learn-room-2x2",
                           "--run", "smollm2-135m", "--model-dir", str(tmp_path / "none"), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "prepare_model" in proc.stderr and not (tmp_path / "o.json").exists()
