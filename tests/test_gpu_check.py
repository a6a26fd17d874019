"""`make gpu-check`'s script on CPU (issue 11, item 7): the same code path with a tiny model,
two ranks (FSDP2 + CPU offload over gloo), 12 iterations of different packings, checkpoint and
resume. Flex attention and its compilation need CUDA and are not exercised here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deductive.training.gpu_check import TINY, iteration_samples, model_flops
from deductive.training.packing import pack

ROOT = Path(__file__).resolve().parents[1]


def test_model_flops_by_hand():
    arch = dict(TINY, hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                num_key_value_heads=1, vocab_size=10)
    samples = [{"puzzle_id": "p", "sample_index": j, "prompt_token_ids": [2, 3, 4],
                "completion_token_ids": [5] * n, "logprobs": [-1.0] * n, "advantage": 1.0} for j, n in enumerate((2, 1))]
    rows = pack(samples, 8)
    # layer: q,o 2*64 + k,v 2*8*4 + mlp 3*8*16 = 576; 6 real tokens; attended pairs: prompt 6,
    # completion 1: 2*3 + 3 = 9, completion 2: 1*3 + 1 = 4 -> 19; 3 completion tokens
    assert model_flops(rows, arch) == 6 * 576 * 6 + 12 * 8 * 19 + 6 * 10 * 8 * 3


def test_iterations_pack_into_different_shapes():
    from deductive.training.packing import used_columns

    packed = [pack(iteration_samples(it, row_tokens=4096, vocab=151936), 4096) for it in range(1, 13)]
    assert len({(len(rows), used_columns(rows)) for rows in packed}) == 12


@pytest.mark.slow
@pytest.mark.distributed
@pytest.mark.parametrize("lora", [False, True])
def test_gpu_check_runs_on_cpu_with_two_ranks(tmp_path, lora):
    out = tmp_path / "gc"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "scripts/gpu_check.py", "--tiny", "--device", "cpu", "--out", str(out)] + ["--lora"] * lora,
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((out / "gpu_check.json").read_text())
    assert result["ok"] and result["world"] == 2 and result["bf16_parameters"]
    assert result["distinct_packings"] == 12 and len(result["distinct_step_shapes"]) <= len(result["buckets"])
    assert result["resume"] == dict(result["resume"], same_weights=True, same_optimizer=True, same_next_loss=True,
                                    all_ranks=True)
    assert result["tokens_per_second"] > 0 and not result["fallback_messages"]
    assert "gpu-check on cpu x2" in proc.stdout and "OK" in proc.stdout
    assert (result["lora"] is not None) == lora  # LoRA: adapters trained, saved and resumed over the frozen base
    if lora:
        assert result["lora"]["rank"] == 16 and 0 < result["trainable_parameters"] < 100_000  # of 1.3M (per rank)


def test_full_rows_fill_every_position_but_the_prompt():
    from deductive.training.gpu_check import full_row_samples

    rows = pack(full_row_samples(1, rows=2, row_tokens=1024, vocab=500), 1024)
    assert len(rows) == 2 and bool((rows.doc_ids >= 0).all())
    assert rows.completion_tokens == 2 * (1024 - 1024 // 16)


def test_paper_shapes_take_the_paper_profiles_training_settings():
    from deductive.training.gpu_check import paper_settings

    cfg = paper_settings("qwen2.5-32b")
    assert (cfg["row_tokens"], cfg["rows_per_device_per_step"], cfg["num_output_chunks"]) == (16384, 2, 8)
    assert cfg["memory"]["fsdp_cpu_offload"] and cfg["memory"]["activation_checkpointing"]
    assert cfg["optimizer"]["eps"] > 0  # the schema's default filled in


def test_a_paper_shape_runs_its_steps_save_and_resume_on_cpu(tmp_path, monkeypatch):
    """The paper-shape branch end to end on one CPU rank: a tiny architecture stands in for the
    14B one, rows of 256 tokens for 16384; everything else is the paper run's settings."""
    import argparse

    from deductive import memory_plan
    from deductive.training import gpu_check

    import socket

    with socket.socket() as sock:  # a free port for the one-rank process group
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in dict(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                           MASTER_PORT=str(port)).items():
        monkeypatch.setenv(key, value)  # run() would set them for good otherwise
    monkeypatch.setitem(memory_plan.KNOWN, "Qwen/Qwen2.5-14B-Instruct",
                        memory_plan.Arch(4, 64, 128, 256, 4, 2))
    real = gpu_check.paper_settings
    monkeypatch.setattr(gpu_check, "paper_settings", lambda run, profile="paper": dict(real(run, profile), row_tokens=256))
    args = argparse.Namespace(shape="qwen2.5-14b", tiny=False, lora=False, layers=2, device="cpu", iterations=0, row_tokens=0,
                              rows_per_device=2, peak_tflops=None, out=str(tmp_path / "gc"))
    result = gpu_check.run(args)
    assert result["ok"] and result["iterations"] == 3 and result["architecture"]["num_hidden_layers"] == 2
    assert not result["architecture"]["tie_word_embeddings"]
    assert result["distinct_step_shapes"] == [(2, 256)]
    assert result["memory"]["plan"]["step_allocated_gib"] > 0 and result["memory"]["measured"] is None
    assert json.loads((tmp_path / "gc" / "gpu_check.json").read_text())["shape"] == "qwen2.5-14b"


def test_the_gpu_check_imports_nothing_a_gpu_machine_lacks(tmp_path):
    """Issue 19, item 2: a GPU machine with torch, torchtune and torchao only. The check runs
    with jsonschema, OR-Tools, vLLM, Snakemake and the API clients made unimportable, and none
    of them is imported."""
    blocked = ["jsonschema", "ortools", "vllm", "snakemake", "openai", "anthropic"]
    code = f"""
import importlib.abc, sys
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is not installed on this GPU machine")
sys.meta_path.insert(0, Block())
from deductive.training.gpu_check import main
rc = main(["--tiny", "--device", "cpu", "--iterations", "2", "--out", {str(tmp_path / "gc")!r}])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print("LOADED", loaded)
sys.exit(rc or bool(loaded))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(env, PYTHONPATH=str(ROOT / "src")))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "LOADED []" in proc.stdout
