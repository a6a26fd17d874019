"""`make gpu-check`: the training step's GPU path in minutes, on any CUDA machine with torch,
torchtune and torchao (no vLLM, jsonschema, OR-Tools or model hub): scripts/gpu_check.py.

One run, under torchrun (one process per GPU; one GPU is enough: the process group is
started even for one rank, so FSDP2 is in play), of one `--shape`:

- `qwen2.5-1.5b` (default): a random-weight model of Qwen2.5-1.5B-Instruct's shape; the loop's
  own `optimise` (packed rows, flex attention, fixed step shapes) over `iterations` (12)
  iterations whose packings all differ in shape; it fails on torch's recompile-limit message
  or the unfused flex-attention fallback ("materializes the full scores matrix").
- `qwen2.5-14b`, `qwen2.5-32b`: the paper's models' layer and vocabulary shapes (untied output)
  with the paper profile's training settings for that run (workflow/config/paper.yaml: rows of
  2 x 16384 tokens, 8 output chunks, CPU offload, activation checkpointing), `--layers` of the
  decoder's layers (default all; a full 14B or 32B model's offloaded AdamW state needs more
  host memory than most single-GPU machines have, and the check says so before it starts),
  `iterations` (3) optimiser steps on rows filled with completion tokens (the plan's worst
  case).

Every shape: bf16 FSDP2 with CPU offload (`cuda:nccl,cpu:gloo`), activation checkpointing,
weights loaded from rank 0 only; per step the peak GPU memory (`max_memory_allocated` and
`max_memory_reserved`) beside the memory plan's figure for the same shape and world size
(deductive.memory_plan: `step_allocated_gib`); a checkpoint (weights written once through the
hand-off directory, sharded AdamW state), then a resume into a fresh model and optimiser:
weights, optimiser state and the next step's loss must match the run that continues; tokens per
second and model FLOPs utilisation (MFU: 6 x non-embedding parameters per token, plus the
attention of the packed documents and the output projection of completion tokens, against the
GPU's dense bf16 peak).
`--shape tiny --device cpu` runs the same code with a tiny model on CPU (gloo) for the test
suite (tests/test_gpu_check.py); flex attention and its compilation then are not exercised.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist

if TYPE_CHECKING:
    from deductive.settings import LoraSettings, MemorySettings

QWEN2_5_1_5B = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536,
                "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
                "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 32768,
                "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True,
                "torch_dtype": "bfloat16"}
TINY = dict(QWEN2_5_1_5B, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=256, max_position_embeddings=4096)
# paper shapes: (hub name of the architecture, training run of the paper profile)
PAPER_SHAPES = {"qwen2.5-14b": ("Qwen/Qwen2.5-14B-Instruct", "qwen2.5-14b"),
                "qwen2.5-32b": ("Qwen/Qwen2.5-32B-Instruct", "qwen2.5-32b")}
SHAPES = ("tiny", "qwen2.5-1.5b", *PAPER_SHAPES)
# the settings of the shapes that are not the paper's (the paper shapes read paper.yaml)
SMALL_SETTINGS = {
    "rows_per_device_per_step": 2, "num_output_chunks": 8, "flex_attention": True, "fixed_step_shapes": True,
    "epochs_per_iteration": 1, "dtype": "bfloat16", "sampling": {"temperature": 1.0},
    "loss": {"epsilon": 0.2, "kl_coef": 0.0, "entropy_coef": 0.0},
    "optimizer": {"lr": 1e-5, "betas": [0.9, 0.99], "weight_decay": 0.1, "eps": 1e-8, "max_grad_norm": None},
    "memory": {"fsdp_cpu_offload": True, "activation_checkpointing": True, "reshard_after_forward": True}}
# dense bf16 peak FLOP/s by device name (no sparsity)
PEAK_BF16 = (("H200", 989e12), ("H100", 989e12), ("H800", 989e12), ("A100", 312e12), ("A800", 312e12),
             ("L40S", 362e12), ("A10", 125e12))
FALLBACK_MESSAGES = ("materializes the full scores matrix", "recompile_limit", "recompile limit")


class _Caught(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        msg = record.getMessage()
        if any(m in msg for m in FALLBACK_MESSAGES):
            self.messages.append(msg.splitlines()[0])


def iteration_samples(it: int, *, row_tokens: int, vocab: int, seed: int = 0) -> list[dict]:
    """Synthetic graded samples of iteration `it`: the number of puzzles, completions and their
    lengths change with `it`, so every iteration packs into a different (rows, length)."""
    from deductive.training.advantages import assign_advantages

    g = torch.Generator().manual_seed(seed * 1000 + it)
    prompt_len = row_tokens // 16
    longest = max(8, int((row_tokens - prompt_len) * (0.08 + 0.9 * ((it * 7) % 12) / 11)))
    samples = []
    for p in range(1 + it % 3):
        prompt = torch.randint(2, vocab, (prompt_len + p,), generator=g).tolist()
        for j in range(2 + it % 4):
            n = int(torch.randint(max(1, longest // 3), longest + 1, (1,), generator=g))
            samples.append({"puzzle_id": f"it{it}-p{p}", "sample_index": j, "prompt_token_ids": prompt,
                            "completion_token_ids": torch.randint(2, vocab, (n,), generator=g).tolist(),
                            "logprobs": (-math.log(vocab) + 0.1 * torch.randn(n, generator=g)).tolist(),
                            "reward": float(torch.rand(1, generator=g))})
    return assign_advantages(samples)


def full_row_samples(it: int, *, rows: int, row_tokens: int, vocab: int, seed: int = 0) -> list[dict]:
    """Synthetic graded samples that fill `rows` packing rows exactly: per row one puzzle, a prompt
    of row_tokens/16 tokens and 8 completions of the rest (every position but the prompt's
    predicts a completion token: the memory plan's worst case)."""
    from deductive.training.advantages import assign_advantages

    g = torch.Generator().manual_seed(seed * 1000 + it)
    prompt_len = row_tokens // 16
    rest = row_tokens - prompt_len
    lengths = [rest // 8 + (1 if j < rest % 8 else 0) for j in range(8)]
    samples = []
    for r in range(rows):
        prompt = torch.randint(2, vocab, (prompt_len,), generator=g).tolist()
        for j, n in enumerate(lengths):
            samples.append({"puzzle_id": f"it{it}-r{r}", "sample_index": j, "prompt_token_ids": prompt,
                            "completion_token_ids": torch.randint(2, vocab, (n,), generator=g).tolist(),
                            "logprobs": (-math.log(vocab) + 0.1 * torch.randn(n, generator=g)).tolist(),
                            "reward": float(torch.rand(1, generator=g))})
    return assign_advantages(samples)


def paper_settings(run: str, profile: str = "paper") -> dict:
    """The training settings of `run` in `profile` (paper, or paper-lora), merged and with the
    schema's defaults (read without jsonschema: the GPU machine needs only torch, torchtune and
    torchao)."""
    from deductive.config import drop_removed_entries, fill_defaults, load_schema, profile_config_files, read_config_files
    from deductive.settings import training_section

    raw = drop_removed_entries(read_config_files(profile_config_files(profile)))
    return training_section(fill_defaults(raw, load_schema()), run)


def shape_of(args) -> tuple[dict, dict, str]:
    """(HF config of the model, training settings, description) of `args.shape`."""
    if args.shape in PAPER_SHAPES:
        from deductive.memory_plan import KNOWN

        name, run = PAPER_SHAPES[args.shape]
        arch = KNOWN[name].hf_config()
        full_layers = arch["num_hidden_layers"]
        layers = args.layers or full_layers
        arch["num_hidden_layers"] = layers
        depth = "all layers" if layers == full_layers else f"{layers} of its {full_layers} layers"
        profile = "paper-lora" if args.lora else "paper"
        return arch, paper_settings(run, profile), f"{name} shape, {depth} (random weights; {profile} run {run}'s settings)"
    from deductive.settings import with_training_defaults

    arch = dict(TINY if args.shape == "tiny" else QWEN2_5_1_5B)
    if args.layers:
        arch["num_hidden_layers"] = args.layers
    cfg = with_training_defaults(dict(SMALL_SETTINGS, row_tokens=args.row_tokens or (256 if args.shape == "tiny" else 4096),
                                      rows_per_device_per_step=args.rows_per_device))
    if args.lora:  # the paper-lora profile's adapters
        cfg["lora"] = paper_settings("qwen2.5-14b", "paper-lora")["lora"]
    label = "tiny" if args.shape == "tiny" else "Qwen2.5-1.5B shape (random weights)"
    return arch, cfg, label + (", LoRA" if args.lora else "")


def host_memory_gib() -> float | None:
    """MemAvailable of /proc/meminfo in GiB (None where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def model_flops(rows, arch: dict) -> float:
    """Training FLOPs (forward + backward) of packed `rows` (see the module docstring)."""
    H, L, V = arch["hidden_size"], arch["num_hidden_layers"], arch["vocab_size"]
    kv = H // arch["num_attention_heads"] * arch["num_key_value_heads"]
    layer = 2 * H * H + 2 * H * kv + 3 * H * arch["intermediate_size"]
    real = rows.real_tokens
    pairs = 0
    for r in range(len(rows)):
        docs = rows.doc_ids[r]
        counts = torch.bincount(docs[docs >= 0])
        if counts.numel():
            c0 = int(counts[0])
            pairs += sum(int(c) * (int(c) + 1) // 2 for c in counts) + c0 * int(counts[1:].sum())
    return 6 * L * layer * real + 12 * L * H * pairs + 6 * V * H * rows.completion_tokens


def peak_flops(device: torch.device, override_tflops: float | None) -> float | None:
    if override_tflops:
        return override_tflops * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_BF16 if key in name), None)


def random_tune_state(model_dir: Path, dtype: torch.dtype, seed: int, lora: LoraSettings | None = None,
                      adapters: bool = True) -> dict[str, torch.Tensor]:
    """Random weights (normal, std 0.02; norms 1) in torchtune names, on the CPU. With `lora`:
    the base weights the same for a seed, plus fresh adapters (`adapters`) as a LoRA run starts."""
    from deductive.training.tune_model import build_model, initial_adapters, is_adapter_key

    meta = build_model(model_dir, dtype=dtype, device="meta", lora=lora)
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, p in meta.state_dict().items():
        if is_adapter_key(name):
            continue
        out[name] = (torch.ones(p.shape, dtype=dtype) if p.dim() == 1 and "bias" not in name
                     else (torch.randn(p.shape, generator=g) * 0.02).to(dtype))
    if lora and adapters:
        out.update({k: v.to(dtype) for k, v in initial_adapters(meta, seed + 1).items()})
    return out


def resume_state(saved: Path, model_dir: Path, dtype: torch.dtype, lora: LoraSettings | None) -> dict[str, torch.Tensor]:
    """What a resume loads, as training/loop.py does (tune_model.starting_weights): the
    checkpoint's weights, or with LoRA the frozen base (here: the same random weights again) and
    the checkpoint's adapters."""
    from deductive.training.tune_model import starting_weights

    return starting_weights(model_dir, saved, lora, adapter_dtype=dtype,
                            base=lambda: random_tune_state(model_dir, dtype, seed=0, lora=lora, adapters=False))


def build(model_dir: Path, full: dict, d, *, dtype: torch.dtype, max_len: int, memory: MemorySettings,
          lora: LoraSettings | None):
    from deductive.training import distributed
    from deductive.training.tune_model import build_model

    model = build_model(model_dir, dtype=dtype, device="meta", max_seq_len=max_len, lora=lora)
    if memory.activation_checkpointing:
        distributed.activation_checkpointing(model)
    distributed.shard(model, cpu_offload=memory.fsdp_cpu_offload, reshard_after_forward=memory.reshard_after_forward)
    distributed.load_full_state(model, full, d, cpu_offload=memory.fsdp_cpu_offload)
    with torch.device(d.device):
        for m in model.modules():
            if hasattr(m, "rope_init"):
                m.rope_init()
    return model


def _sync(d) -> None:
    if d.device.type == "cuda":
        torch.cuda.synchronize(d.device)


def _memory(d) -> dict | None:
    if d.device.type != "cuda":
        return None
    return {"max_allocated_gib": torch.cuda.max_memory_allocated(d.device) / 2**30,
            "max_reserved_gib": torch.cuda.max_memory_reserved(d.device) / 2**30,
            "allocated_gib": torch.cuda.memory_allocated(d.device) / 2**30}


def _reset_peak(d) -> None:
    if d.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(d.device)


def plan_for(arch: dict, cfg: dict, d) -> dict:
    """The memory plan of this shape and world size (deductive.memory_plan), as a mapping."""
    from deductive.memory_plan import Arch, plan

    gib = (torch.cuda.get_device_properties(d.device).total_memory / 2**30 if d.device.type == "cuda" else 80.0)
    p = plan(Arch.from_hf_config(arch), run="gpu-check", gpus=d.world, gpu_gib=gib, row_tokens=int(cfg["row_tokens"]),
             rows=int(cfg["rows_per_device_per_step"]), dtype=cfg["dtype"],
             cpu_offload=bool(cfg["memory"]["fsdp_cpu_offload"]),
             activation_checkpointing=bool(cfg["memory"]["activation_checkpointing"]),
             output_chunks=int(cfg["num_output_chunks"] or 1), sleep_engine=True, lora=cfg["lora"])
    return {"gpu_gib": gib, "step_gib": p.step, "step_allocated_gib": p.step_allocated_gib,
            "host_gib": p.cpu_gib}


def run(args) -> dict:
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict, set_optimizer_state_dict

    from deductive.settings import LoraSettings, MemorySettings, StepSettings
    from deductive.training import checkpoint as ckpt
    from deductive.training import distributed
    from deductive.training.packing import length_buckets, pack, step_batches
    from deductive.training.step import init_adamw_state, make_optimizer, optimise
    from deductive.training.tune_model import is_adapter_key, merged_weights, tune_to_hf

    started = time.monotonic()
    use_cuda = torch.cuda.is_available() if args.device == "auto" else args.device == "cuda"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():  # even for one rank: FSDP2 and its collectives are the point
        if "RANK" not in os.environ:
            os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                              MASTER_PORT=str(29500 + os.getpid() % 1000))
        dist.init_process_group(backend=distributed.backend(use_cuda, cpu_offload=True))
    d = distributed.init("cuda" if use_cuda else "cpu", cpu_offload=True)
    arch, cfg, label = shape_of(args)  # cfg: the mapping (recorded); typed below
    step_cfg, memory = StepSettings.from_mapping(cfg), MemorySettings.from_mapping(cfg["memory"])
    lora = LoraSettings.from_mapping(cfg["lora"])
    paper = args.shape in PAPER_SHAPES
    dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32}[cfg["dtype"]]
    row_tokens = int(cfg["row_tokens"])
    iterations = args.iterations or (3 if paper else 12)
    memory_plan = plan_for(arch, cfg, d)
    host = host_memory_gib()
    if host is not None and memory_plan["host_gib"] > 0.9 * host:
        distributed.close(d)
        raise SystemExit(f"error: {label} needs about {memory_plan['host_gib']:.0f} GiB of host memory (offloaded "
                         f"parameters, gradients and AdamW state, and rank 0's full copy) and {host:.0f} GiB are "
                         "available: pass --layers with fewer layers")
    work = Path(args.out)
    model_dir, ckpt_root = work / "model", work / "ckpt"
    if d.is_main:
        shutil.rmtree(work, ignore_errors=True)
        model_dir.mkdir(parents=True)
        (model_dir / "config.json").write_text(json.dumps(arch, indent=2))
    d.barrier()

    caught = _Caught()
    for name in ("torch._dynamo", "torch._inductor", "torch"):
        logging.getLogger(name).addHandler(caught)

    t = time.monotonic()
    full = distributed.on_rank0(d, lambda: random_tune_state(model_dir, dtype, seed=0, lora=lora))
    model = build(model_dir, full, d, dtype=dtype, max_len=row_tokens, memory=memory, lora=lora)
    del full
    setup_s = time.monotonic() - t
    resident = _memory(d)
    optimizer = make_optimizer(model, step_cfg.optimizer)
    per_step = step_cfg.rows_per_device_per_step * d.world

    def samples_of(it: int) -> list[dict]:
        if paper:
            return full_row_samples(it, rows=per_step, row_tokens=row_tokens, vocab=arch["vocab_size"])
        return iteration_samples(it, row_tokens=row_tokens, vocab=arch["vocab_size"])

    packings, step_shapes, per_iter = set(), set(), []
    with warnings.catch_warnings(record=True) as warned:
        warnings.filterwarnings("always", message=".*materializes the full scores matrix.*")
        for it in range(1, iterations + 1):
            rows = pack(samples_of(it), row_tokens, rows_multiple_of=d.world)
            packings.add((len(rows), int((rows.doc_ids >= 0).any(0).nonzero().max()) + 1))
            for _, local in step_batches(rows, per_step, d.rank, d.world, fixed_shapes=True):
                step_shapes.add(tuple(local.tokens.shape))
            _sync(d)
            _reset_peak(d)
            t = time.monotonic()
            stats = optimise(model, optimizer, rows, step_cfg, d)
            _sync(d)
            seconds = time.monotonic() - t
            per_iter.append({"iteration": it, "seconds": seconds, "tokens": rows.real_tokens,
                             "flops": model_flops(rows, arch), "steps": stats["optimizer_steps"],
                             "loss": stats["loss"], "memory": _memory(d)})
            if d.is_main:
                peak = per_iter[-1]["memory"]
                mem = (f", peak {peak['max_allocated_gib']:.1f} GiB allocated / {peak['max_reserved_gib']:.1f} "
                       "reserved" if peak else "")
                print(f"gpu-check: iteration {it:2d}: {len(rows)} rows, {stats['optimizer_steps']} steps, "
                      f"{rows.real_tokens / seconds:,.0f} tokens/s, {seconds:.1f}s{mem}", flush=True)
    caught.messages += [str(w.message).splitlines()[0] for w in warned
                        if any(m in str(w.message) for m in FALLBACK_MESSAGES)]

    # ---- checkpoint (weights written once: the hand-off directory, linked), then resume
    t = time.monotonic()
    state = distributed.full_state(model, d)
    adapters = {k: v for k, v in state.items() if is_adapter_key(k)} if lora else None
    hf = tune_to_hf(merged_weights(state, lora), model_dir)  # the engine's weights (LoRA: merged)
    del state
    handoff = ckpt.write_handoff(ckpt_root, hf, model_dir) if d.is_main else None
    del hf
    saved = ckpt.save(ckpt_root, 1, hf_state=None, weights_from=handoff, base_model_dir=model_dir,
                      optimizer_state=get_optimizer_state_dict(model, optimizer), state={"iteration": 1},
                      rank=d.rank, barrier=d.barrier, adapters=adapters)
    save_s = time.monotonic() - t
    t = time.monotonic()
    full = distributed.on_rank0(d, lambda: resume_state(saved, model_dir, dtype, lora))
    resumed = build(model_dir, full, d, dtype=dtype, max_len=row_tokens, memory=memory, lora=lora)
    del full
    opt2 = make_optimizer(resumed, step_cfg.optimizer)
    init_adamw_state(opt2)
    set_optimizer_state_dict(resumed, opt2, ckpt.load_optimizer(saved, get_optimizer_state_dict(resumed, opt2)))
    resume_s = time.monotonic() - t
    same_weights = all(torch.equal(a.to_local() if hasattr(a, "to_local") else a,
                                   b.to_local() if hasattr(b, "to_local") else b)
                       for a, b in zip(model.parameters(), resumed.parameters()))
    sa, sb = get_optimizer_state_dict(model, optimizer), get_optimizer_state_dict(resumed, opt2)
    local = lambda x: x.to_local() if hasattr(x, "to_local") else x  # noqa: E731
    same_optimizer = all(torch.equal(local(sa["state"][k][f]), local(sb["state"][k][f]))
                         for k in sa["state"] for f in ("exp_avg", "exp_avg_sq", "step"))
    del sa, sb
    rows = pack(samples_of(iterations + 1), row_tokens, rows_multiple_of=d.world)
    rows = rows.select(slice(0, per_step))  # one step each
    cont = optimise(model, optimizer, rows, step_cfg, d)["loss"]
    again = optimise(resumed, opt2, rows, step_cfg, d)["loss"]
    same_step = cont is not None and again is not None and abs(cont - again) <= 1e-6 * max(1.0, abs(cont))

    # ---- figures
    steady = per_iter[len(per_iter) // 2:]  # after the compiles of the first iterations
    total_s = sum(r["seconds"] for r in per_iter)
    steady_s = sum(r["seconds"] for r in steady)
    peak = peak_flops(d.device, args.peak_tflops)
    mfu = (sum(r["flops"] for r in steady) / steady_s / (peak * d.world)) if peak else None
    dtype_ok = all(p.dtype == dtype for p in model.parameters())
    peaks = [r["memory"] for r in per_iter if r["memory"]]
    measured = ({"max_allocated_gib": max(m["max_allocated_gib"] for m in peaks),
                 "max_reserved_gib": max(m["max_reserved_gib"] for m in peaks),
                 "resident_after_build_gib": resident["allocated_gib"] if resident else None} if peaks else None)
    result = {
        "device": torch.cuda.get_device_name(d.device) if d.device.type == "cuda" else "cpu",
        "torch": torch.__version__, "world": d.world, "shape": args.shape, "model": label,
        "architecture": arch, "settings": {k: cfg[k] for k in ("row_tokens", "rows_per_device_per_step",
                                                               "num_output_chunks", "dtype", "memory")},
        "lora": cfg["lora"], "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "dtype": str(dtype), "bf16_parameters": dtype_ok, "fsdp_cpu_offload": memory.fsdp_cpu_offload,
        "activation_checkpointing": memory.activation_checkpointing, "row_tokens": row_tokens,
        "rows_per_device_per_step": step_cfg.rows_per_device_per_step,
        "iterations": iterations, "distinct_packings": len(packings),
        "distinct_step_shapes": sorted(step_shapes), "buckets": list(length_buckets(row_tokens)),
        "flex_attention": d.device.type == "cuda", "fallback_messages": caught.messages,
        "tokens_per_second": sum(r["tokens"] for r in per_iter) / total_s,
        "tokens_per_second_steady": sum(r["tokens"] for r in steady) / steady_s,
        "mfu_steady": mfu, "peak_flops_per_gpu": peak,
        "memory": {"measured": measured, "plan": memory_plan,
                   "measured_over_plan": (measured["max_allocated_gib"] / memory_plan["step_allocated_gib"]
                                          if measured else None),
                   "host_available_gib": host},
        "seconds": {"setup": setup_s, "train": total_s, "checkpoint": save_s, "resume": resume_s,
                    "total": time.monotonic() - started},
        "resume": {"same_weights": same_weights, "same_optimizer": same_optimizer, "same_next_loss": same_step,
                   "loss_continued": cont, "loss_resumed": again},
        "per_iteration": per_iter,
    }
    checks = d.gather_objects((same_weights, same_optimizer))
    result["resume"]["all_ranks"] = all(a and b for a, b in checks)
    result["ok"] = bool(result["resume"]["all_ranks"] and same_step and not caught.messages and dtype_ok
                        and len(step_shapes) <= len(length_buckets(row_tokens)))
    if d.is_main:
        (work / "gpu_check.json").write_text(json.dumps(result, indent=2, default=str))
        print(summary(result), flush=True)
    distributed.close(d)
    return result


def summary(r: dict) -> str:
    mfu = f"{100 * r['mfu_steady']:.1f}%" if r["mfu_steady"] is not None else "n/a (unknown peak; --peak-tflops)"
    s = r["seconds"]
    mem = r["memory"]
    if mem["measured"]:
        m = mem["measured"]
        memory = (f"  peak GPU memory {m['max_allocated_gib']:.1f} GiB allocated, {m['max_reserved_gib']:.1f} reserved; "
                  f"plan {mem['plan']['step_allocated_gib']:.1f} GiB (measured/plan {mem['measured_over_plan']:.2f})")
    else:
        memory = f"  GPU memory not measured (no CUDA); plan {mem['plan']['step_allocated_gib']:.1f} GiB"
    return "\n".join([
        f"gpu-check on {r['device']} x{r['world']}: {r['model']}, {r['dtype']}, FSDP2 + CPU offload "
        f"{r['fsdp_cpu_offload']}, activation checkpointing {r['activation_checkpointing']}",
        f"  {r['iterations']} iterations of {r['rows_per_device_per_step']} x {r['row_tokens']} tokens per device, "
        f"{r['distinct_packings']} distinct packings -> step shapes "
        f"{r['distinct_step_shapes']} (buckets {r['buckets']}); flex attention: {r['flex_attention']}; "
        f"recompile/fallback messages: {len(r['fallback_messages'])}",
        f"  tokens/s {r['tokens_per_second']:,.0f} overall, {r['tokens_per_second_steady']:,.0f} steady; "
        f"MFU (steady) {mfu}",
        memory,
        f"  checkpoint {s['checkpoint']:.1f}s, resume {s['resume']:.1f}s: weights {r['resume']['same_weights']}, "
        f"optimiser {r['resume']['same_optimizer']}, next-step loss {r['resume']['same_next_loss']}",
        f"  total {s['total']:.0f}s: {'OK' if r['ok'] else 'FAILED'}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GPU check of the training step (see make gpu-check)")
    parser.add_argument("--shape", choices=SHAPES, default="qwen2.5-1.5b")
    parser.add_argument("--tiny", action="store_true", help="the same as --shape tiny")
    parser.add_argument("--layers", type=int, default=0, help="decoder layers (default: the shape's own)")
    parser.add_argument("--lora", action="store_true", help="LoRA with the paper-lora profile's settings")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--iterations", type=int, default=0, help="default 12 (paper shapes: 3)")
    parser.add_argument("--row-tokens", type=int, default=0,
                        help="default 4096 (tiny: 256; paper shapes: the paper profile's)")
    parser.add_argument("--rows-per-device", type=int, default=2, help="(paper shapes: the paper profile's)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak per GPU")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "deductive-gpu-check"))
    args = parser.parse_args(argv)
    if args.tiny:
        args.shape = "tiny"
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device (use --device cpu --shape tiny for the CPU path)", file=sys.stderr)
        return 2
    return 0 if run(args)["ok"] else 1
