"""Preflight: stops at once without GPUs, plans API baselines without printing keys."""

import subprocess
import sys
from pathlib import Path

from deductive.config import load_config
from deductive.preflight import check, disk_estimate_gb, gpu_requirement

ROOT = Path(__file__).resolve().parents[1]
H100S = [("NVIDIA H100 80GB HBM3", 79.6)] * 4


def test_paper_without_gpus_exits_2_with_the_reason():
    report = check(load_config("paper"), gpus=[], free_gb=1e6, environ={})
    assert report.fatal and "needs 4 GPUs" in report.fatal[0]
    assert report.will_run == []  # stops before planning anything


def test_preflight_script_on_this_machine(tmp_path):
    smoke = subprocess.run([sys.executable, "scripts/preflight.py", "--profile", "smoke"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert smoke.returncode == 0, smoke.stderr
    assert "preflight: ok" in smoke.stdout
    from deductive.preflight import gpu_inventory

    if not gpu_inventory():  # this CPU machine and CI: the paper profile must refuse at once
        paper = subprocess.run([sys.executable, "scripts/preflight.py", "--profile", "paper"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
        assert paper.returncode == 2
        assert paper.stderr.startswith("error: profile paper needs") and "Traceback" not in paper.stderr


def test_gpu_requirement_reads_the_training_runs():
    need, mem, reasons = gpu_requirement(load_config("paper"))
    assert need == 4 and mem >= 75 and len(reasons) == 2
    assert gpu_requirement(load_config("smoke"))[0] == 0


def test_api_keys_missing_and_present_never_print_values():
    config = load_config("paper")
    missing = check(config, gpus=H100S, free_gb=1e6, environ={})
    assert not missing.fatal
    assert any(s.startswith("o1: skipped, set OPENAI_API_KEY; the figures use the published number")
               for s in missing.skipped)
    present = check(config, gpus=H100S, free_gb=1e6, environ={"OPENAI_API_KEY": "sk-secret-value"})
    text = present.text()
    assert "sk-secret-value" not in text
    assert any(r.startswith("o1: API baseline (OPENAI_API_KEY is set)") for r in present.will_run)
    assert not any(s.startswith("o1:") for s in present.skipped)


def test_too_little_disk_is_fatal():
    config = load_config("paper")
    estimate, parts = disk_estimate_gb(config)
    assert estimate > 100 and parts
    report = check(config, gpus=H100S, free_gb=estimate / 2, environ={})
    assert any("GB free" in f for f in report.fatal)


# ---------------------------------------------------------------- memory plan (issues 11, 19)

def _hand_step(layers, hidden, intermediate, vocab, heads, kv_heads, gpus, rows=2, row_tokens=16384, chunks=8):
    """The optimiser step's tensors of deductive.memory_plan written out by hand (GiB per GPU,
    bf16, CPU offload, activation checkpointing): the held parts and the larger working set."""
    kv = hidden // heads * kv_heads
    layer = (hidden * hidden + hidden) + 2 * (hidden * kv + kv) + hidden * hidden + 3 * hidden * intermediate + 2 * hidden
    root = 2 * vocab * hidden + hidden
    params = layers * layer + root
    T = rows * row_tokens
    gib = 2**30
    held = {"root unit gathered": root * 2 * (1 + 1 / gpus) / gib, "output gradient": vocab * hidden * 2 / gib,
            "checkpointed inputs": (layers + 2) * T * hidden * 2 / gib}
    recompute = (2 * layer * 2 * (1 + 1 / gpus) + layer * 2
                 + T * (16 * hidden + 12 * hidden + 4 * kv + 6 * intermediate)) / gib
    chunk = (-(-T // chunks) * vocab * 16 + layer * 2 * (1 + 1 / gpus)) / gib
    return params, held, {"layer recompute": recompute, "output chunk": chunk}


def test_memory_plan_matches_a_hand_computation_for_14b_on_2_and_32b_on_4():
    from deductive.memory_plan import ALLOCATOR_OVERHEAD, KNOWN, run_plans

    plans, notes = run_plans(load_config("paper"), 79.6, ROOT / "no-models-here")
    assert not notes and [p.run for p in plans] == ["qwen2.5-14b", "qwen2.5-32b"]
    for p, arch_numbers, gpus, billions, name, peak in (
            (plans[0], (48, 5120, 13824, 152064, 40, 8), 2, 14.77, "Qwen/Qwen2.5-14B-Instruct", "output chunk"),
            (plans[1], (64, 5120, 27648, 152064, 40, 8), 4, 32.76, "Qwen/Qwen2.5-32B-Instruct", "layer recompute")):
        params, held, working = _hand_step(*arch_numbers, gpus=gpus)
        assert abs(params / 1e9 - billions) < 0.01  # the published parameter counts
        assert KNOWN[name].params == params
        assert p.gpus == gpus and p.fatal is None
        assert max(working, key=working.get) == peak
        hand = dict(held, **{peak: working[peak]})
        tensors = {k: v for k, v in p.step.items() if v and k in hand}
        assert tensors.keys() == hand.keys()
        for key in hand:
            assert abs(tensors[key] - hand[key]) < 1e-9, key
        assert abs(p.step_allocated_gib - sum(hand.values())) < 1e-9
        assert abs(p.step["allocator"] - ALLOCATOR_OVERHEAD * sum(hand.values())) < 1e-9
        # the engine keeps 0.6 of the GPU while it samples
        assert abs(p.sampling["engine"] - 0.6 * 79.6) < 1e-9
        print(p.run, {k: round(v, 2) for k, v in p.step.items()}, round(p.total, 1))
    assert 44 < plans[0].step_total < 47 and 54 < plans[1].step_total < 56


def test_memory_plan_is_at_most_10_percent_above_every_measured_peak():
    """results/gpu-check: the peaks `make gpu-check` measured on a GPU. The plan of the same
    architecture, settings and world size may be above a measurement (by at most 10%), never below."""
    import json

    from deductive.memory_plan import Arch, plan

    measured = sorted((ROOT / "results" / "gpu-check").glob("*/*.json"))
    assert len(measured) >= 6
    for path in measured:
        r = json.loads(path.read_text())
        s = r["settings"]
        p = plan(Arch.from_hf_config(r["architecture"]), run="check", gpus=r["world"], gpu_gib=r["memory"]["plan"]["gpu_gib"],
                 row_tokens=s["row_tokens"], rows=s["rows_per_device_per_step"], dtype=s["dtype"],
                 cpu_offload=s["memory"]["fsdp_cpu_offload"], activation_checkpointing=s["memory"]["activation_checkpointing"],
                 output_chunks=s["num_output_chunks"], sleep_engine=True)
        ratio = p.step_allocated_gib / r["memory"]["measured"]["max_allocated_gib"]
        assert 1.0 <= ratio <= 1.10, (path.name, ratio)
        if "expandable" in path.name:  # the allocator's reserve beyond its tensors, as planned
            reserved = r["memory"]["measured"]["max_reserved_gib"]
            assert reserved <= p.step_allocated_gib + p.step["allocator"], path.name


def test_memory_plan_refuses_with_the_setting_to_change():
    from deductive.memory_plan import KNOWN, plan

    arch = KNOWN["Qwen/Qwen2.5-14B-Instruct"]
    base = dict(run="qwen2.5-14b", gpus=2, gpu_gib=79.6, row_tokens=16384, rows=2, output_chunks=8, dtype="bfloat16",
                cpu_offload=True, activation_checkpointing=True, sleep_engine=True)
    awake = plan(arch, **dict(base, sleep_engine=False), vllm_utilization=0.6)  # the engine keeps 0.6 of the GPU
    assert awake.fatal and "training.sleep_engine_while_training" in awake.fatal
    no_offload = plan(arch, **dict(base, cpu_offload=False))  # 14.8B x (2+2+4) bytes / 2 GPUs = 55 GiB more
    assert no_offload.fatal and "training.memory.fsdp_cpu_offload" in no_offload.fatal
    rows = plan(arch, **dict(base, rows=8))
    assert rows.fatal and "training.rows_per_device_per_step" in rows.fatal
    config = load_config("paper")
    config["training"]["sleep_engine_while_training"] = False
    report = check(config, gpus=H100S, free_gb=1e6, environ={})
    assert any("sleep_engine_while_training" in f for f in report.fatal)
    assert any(line.startswith("memory plan qwen2.5-14b") for line in report.lines)


def test_plan_for_a_node_shape_without_its_gpus():
    """`scripts/preflight.py --profile paper --plan 4x80` plans without GPUs, disk or keys: exit 0
    when every run fits; a node it cannot use exits 2 naming what to change."""
    run = lambda *a: subprocess.run([sys.executable, "scripts/preflight.py", "--profile", "paper", *a], cwd=ROOT,
                                    capture_output=True, text=True, timeout=120)
    ok = run("--plan", "4x80")
    assert ok.returncode == 0, ok.stderr
    assert "memory plan qwen2.5-32b (estimate, GiB per GPU of 80, 4 GPUs) - fits" in ok.stdout
    assert "training run qwen2.5-14b: 4 process(es)" in ok.stdout and "API keys: not checked" in ok.stdout
    assert "3 checkpoints at once" in ok.stdout and "tokens/s" in ok.stdout
    small = run("--plan", "4x40")
    assert small.returncode == 2 and "error: profile paper needs 4 GPUs with >= 75 GiB" in small.stderr
    assert run("--plan", "four").returncode == 2


def test_a_node_shape_the_engine_cannot_use_is_refused_with_the_setting():
    config = load_config("paper")
    config["training"]["runs"]["qwen2.5-14b"]["world_size"] = 6
    report = check(config, planned=(8, 80.0))
    assert any("tensor parallel over 6 GPUs" in f and "world_size" in f for f in report.fatal)


def test_disk_counts_three_checkpoints_with_their_optimiser_state():
    estimate, parts = disk_estimate_gb(load_config("paper"))
    # models 2 x (14 + 32) + runs 3 x (2 + 4) bytes x (14 + 32) B parameters
    assert abs(estimate - (2 * 46 + 18 * 46)) < 1e-9


# ---------------------------------------------------------------- LoRA and the engine's share (issue 22)

LORA = {"rank": 16, "alpha": 32, "dropout": 0.0, "attn_modules": ["q_proj", "k_proj", "v_proj", "output_proj"],
        "mlp": True, "output": False}


def test_lora_trainable_parameters_and_step_match_a_hand_computation():
    """Rank-16 adapters on q, k, v, o and the MLP of the 14B shape (H 5120, KV 8 x 128 = 1024,
    MLP 13824, 48 layers): r x (in + out) per adapted matrix."""
    from deductive.memory_plan import KNOWN, plan

    arch = KNOWN["Qwen/Qwen2.5-14B-Instruct"]
    r, H, kv, I, V = 16, 5120, 1024, 13824, 152064
    per_layer = r * (H + H) + r * (H + kv) + r * (H + kv) + r * (H + H) + 3 * r * (H + I)
    assert per_layer == 1_433_600 and arch.lora_layer_params(LORA) == per_layer
    assert arch.lora_params(LORA) == 48 * per_layer == 68_812_800
    assert arch.lora_params(dict(LORA, output=True)) == 68_812_800 + r * (H + V)
    assert arch.lora_params(dict(LORA, attn_modules=["q_proj", "v_proj"], mlp=False)) == 48 * r * (2 * H + H + kv)

    # without CPU offload on 2 GPUs: frozen base plus adapters stored, gradients and moments of the adapters only
    gib, A, P = 2**30, 68_812_800, arch.params
    base = dict(run="lora", gpus=2, gpu_gib=80.0, row_tokens=16384, rows=2, output_chunks=8, dtype="bfloat16",
                cpu_offload=False, activation_checkpointing=True, sleep_engine=True)
    full, lora = plan(arch, **base), plan(arch, **base, lora=LORA)
    assert abs(lora.step["parameter shards"] - (P + A) * 2 / 2 / gib) < 1e-9
    assert abs(lora.step["gradient shards"] - A * 2 / 2 / gib) < 1e-9
    assert abs(lora.step["optimizer state"] - 2 * A * 2 / 2 / gib) < 1e-9
    assert lora.step["output gradient"] == 0 and full.step["output gradient"] == V * H * 2 / gib
    for same in ("checkpointed inputs", "root unit gathered"):
        assert lora.step[same] == full.step[same]
    # host memory: rank 0's full copy of the base weights and the adapters' state (no offloaded copy here)
    assert abs(lora.cpu_gib - (P * 2 + 4 * A * 2) / gib) < 1e-9
    offloaded = plan(arch, **dict(base, cpu_offload=True), lora=LORA)
    assert abs(offloaded.cpu_gib - (2 * P * 2 + 4 * A * 2) / gib) < 1e-9
    assert offloaded.step["parameter shards"] == offloaded.step["gradient shards"] == 0


def _plan_lines(profile, node):
    proc = subprocess.run([sys.executable, "scripts/preflight.py", "--profile", profile, "--plan", node], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    return proc


def test_paper_lora_plans_14b_and_32b_on_one_gpu():
    """The verdict workflow/config/paper-lora.yaml and docs/gpu.md state (an estimate, not
    measured): 14B fits one 80 GiB GPU with room in the KV cache; 32B fits one 80 GiB GPU but its
    engine's KV cache holds under 2 sequences of max_model_len (slow); one 141 GiB H200 holds > 10."""
    config = load_config("paper-lora")
    plans = {}
    for node in ((1, 80.0), (1, 141.0)):
        report = check(config, planned=node)
        assert not report.fatal, report.fatal
        from deductive.memory_plan import run_plans

        plans[node[1]] = {p.run: p for p in run_plans(config, node[1], ROOT / "no-models-here", visible_gpus=1)[0]}
    for gib, p14, p32 in ((g, ps["qwen2.5-14b"], ps["qwen2.5-32b"]) for g, ps in plans.items()):
        assert p14.gpus == p32.gpus == 1 and p14.engine_tp == 1 and p14.lora and p32.lora
        assert p14.fatal is None and p32.fatal is None
        assert p14.total < gib and p32.total < gib
        assert p14.step["output gradient"] == 0 and p14.step["gradient shards"] == 0  # offloaded adapters
        print(gib, "\n".join(p14.lines() + p32.lines()))
    kv_sequences = lambda p: p.engine["KV cache"] / p.engine["KV per sequence"]
    assert kv_sequences(plans[80.0]["qwen2.5-14b"]) > 10
    assert 1 < kv_sequences(plans[80.0]["qwen2.5-32b"]) < 2
    assert kv_sequences(plans[141.0]["qwen2.5-32b"]) > 10
    assert 50 < plans[80.0]["qwen2.5-32b"].cpu_gib < 130  # frozen weights twice (offloaded, rank 0), not AdamW
    for node in ("1x80", "1x141"):
        proc = _plan_lines("paper-lora", node)
        assert proc.returncode == 0, proc.stderr
        assert "memory plan qwen2.5-32b (estimate, LoRA, GiB per GPU of" in proc.stdout
        assert "not measured on a GPU" in proc.stdout and "sequences of 16384 tokens" in proc.stdout


def test_the_engine_share_must_hold_the_model():
    """The sampling phase fits in total but the engine's share is too small for its weights and
    one sequence of KV cache: refused naming gpu_memory_utilization (or more GPUs)."""
    config = load_config("paper-lora")
    config["training"]["sampling"]["engine"]["gpu_memory_utilization"] = 0.6  # 48 GiB < the 32B's 61 GiB
    report = check(config, planned=(1, 80.0))
    assert len(report.fatal) == 1 and "qwen2.5-32b" in report.fatal[0]
    assert "training.sampling.engine.gpu_memory_utilization" in report.fatal[0]
    assert "raise training.sampling.engine.gpu_memory_utilization to at least 0.87" in report.fatal[0]
    # full fine-tuning too: 14B on 2 GPUs with a tenth of each for the engine (8 GiB < 13.8 GiB of weights)
    paper = load_config("paper")
    paper["training"]["runs"]["qwen2.5-14b"]["sampling"]["engine"] = {"gpu_memory_utilization": 0.1}
    report = check(paper, planned=(4, 80.0))
    assert len(report.fatal) == 1 and "qwen2.5-14b" in report.fatal[0]
    assert "gpu_memory_utilization" in report.fatal[0]
    # where no share fits beside the rest, the way out is more GPUs
    from deductive.memory_plan import KNOWN, plan

    big = plan(KNOWN["Qwen/Qwen2.5-32B-Instruct"], run="r", gpus=1, gpu_gib=64.0, row_tokens=16384, rows=2,
               output_chunks=8, dtype="bfloat16", cpu_offload=True, activation_checkpointing=True, sleep_engine=True,
               vllm_utilization=0.95, max_model_len=16384, lora=LORA)
    assert big.fatal and "add GPUs" in big.fatal and "gpus_required" in big.fatal
