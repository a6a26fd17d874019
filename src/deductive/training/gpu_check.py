"""`make gpu-check`: the training step's GPU path in minutes, on any CUDA machine with torch,
torchtune and torchao (no vLLM, no model hub): scripts/gpu_check.py.

One run, under torchrun (one process per GPU; one GPU is enough: the process group is
started even for one rank, so FSDP2 is in play):
- a random-weight model of Qwen2.5-1.5B-Instruct's shape (config.json written here, bf16);
- bf16 FSDP2 with CPU offload (`cuda:nccl,cpu:gloo`), activation checkpointing, weights loaded
  from rank 0 only; the loop's own `optimise` (packed rows, flex attention, fixed step shapes)
  over `iterations` (12) iterations whose packings all differ in shape; it fails on torch's
  recompile-limit message or the unfused flex-attention fallback ("materializes the full
  scores matrix");
- a checkpoint (weights written once through the hand-off directory, sharded AdamW state),
  then a resume into a fresh model and optimiser: weights, optimiser state and the next step's
  loss must match the run that continues;
- tokens per second and model FLOPs utilisation (MFU: 6 x non-embedding parameters per token,
  plus the attention of the packed documents and the output projection of completion tokens,
  against the GPU's dense bf16 peak).
`--tiny --device cpu` runs the same code with a tiny model on CPU (gloo) for the test suite
(tests/test_gpu_check.py); flex attention and its compilation then are not exercised.
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

import torch
import torch.distributed as dist

QWEN2_5_1_5B = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536,
                "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
                "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 32768,
                "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True,
                "torch_dtype": "bfloat16"}
TINY = dict(QWEN2_5_1_5B, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=256, max_position_embeddings=4096)
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


def random_tune_state(model_dir: Path, dtype: torch.dtype, seed: int) -> dict[str, torch.Tensor]:
    """Random weights (normal, std 0.02; norms 1) in torchtune names, on the CPU."""
    from deductive.training.tune_model import build_model

    meta = build_model(model_dir, dtype=dtype, device="meta")
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, p in meta.state_dict().items():
        out[name] = (torch.ones(p.shape, dtype=dtype) if p.dim() == 1 and "bias" not in name
                     else (torch.randn(p.shape, generator=g) * 0.02).to(dtype))
    return out


def build(model_dir: Path, full: dict, d, *, dtype: torch.dtype, max_len: int):
    from deductive.training import distributed
    from deductive.training.tune_model import build_model

    model = build_model(model_dir, dtype=dtype, device="meta", max_seq_len=max_len)
    distributed.activation_checkpointing(model)
    distributed.shard(model, cpu_offload=True)
    distributed.load_full_state(model, full, d, cpu_offload=True)
    with torch.device(d.device):
        for m in model.modules():
            if hasattr(m, "rope_init"):
                m.rope_init()
    return model


def _sync(d) -> None:
    if d.device.type == "cuda":
        torch.cuda.synchronize(d.device)


def run(args) -> dict:
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict, set_optimizer_state_dict

    from deductive.training import checkpoint as ckpt
    from deductive.training import distributed
    from deductive.training.loop import init_adamw_state, make_optimizer, optimise
    from deductive.training.tune_model import hf_to_tune, load_hf_state_dict, tune_to_hf
    from deductive.training.packing import length_buckets, pack, step_batches

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
    dtype = torch.bfloat16
    arch = TINY if args.tiny else QWEN2_5_1_5B
    row_tokens = args.row_tokens or (256 if args.tiny else 4096)
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
    full = distributed.on_rank0(d, lambda: random_tune_state(model_dir, dtype, seed=0))
    model = build(model_dir, full, d, dtype=dtype, max_len=row_tokens)
    del full
    setup_s = time.monotonic() - t
    from deductive.settings import with_training_defaults

    cfg = with_training_defaults({
        "rows_per_device_per_step": args.rows_per_device, "num_output_chunks": 8, "flex_attention": True,
        "fixed_step_shapes": True, "sampling": {"temperature": 1.0},
        "loss": {"epsilon": 0.2, "kl_coef": 0.0, "entropy_coef": 0.0},
        "optimizer": {"lr": 1e-5, "betas": [0.9, 0.99], "weight_decay": 0.1, "max_grad_norm": None}})
    optimizer = make_optimizer(model, cfg["optimizer"])
    per_step = args.rows_per_device * d.world
    packings, step_shapes, per_iter = set(), set(), []
    with warnings.catch_warnings(record=True) as warned:
        warnings.filterwarnings("always", message=".*materializes the full scores matrix.*")
        for it in range(1, args.iterations + 1):
            rows = pack(iteration_samples(it, row_tokens=row_tokens, vocab=arch["vocab_size"]), row_tokens,
                        rows_multiple_of=d.world)
            packings.add((len(rows), int((rows.doc_ids >= 0).any(0).nonzero().max()) + 1))
            for _, local in step_batches(rows, per_step, d.rank, d.world, fixed_shapes=True):
                step_shapes.add(tuple(local.tokens.shape))
            _sync(d)
            t = time.monotonic()
            stats = optimise(model, optimizer, rows, cfg, d)
            _sync(d)
            seconds = time.monotonic() - t
            per_iter.append({"iteration": it, "seconds": seconds, "tokens": rows.real_tokens,
                             "flops": model_flops(rows, arch), "steps": stats["optimizer_steps"],
                             "loss": stats["loss"]})
            if d.is_main:
                print(f"gpu-check: iteration {it:2d}: {len(rows)} rows, {stats['optimizer_steps']} steps, "
                      f"{rows.real_tokens / seconds:,.0f} tokens/s, {seconds:.1f}s", flush=True)
    caught.messages += [str(w.message).splitlines()[0] for w in warned
                        if any(m in str(w.message) for m in FALLBACK_MESSAGES)]

    # ---- checkpoint (weights written once: the hand-off directory, linked), then resume
    t = time.monotonic()
    hf = tune_to_hf(distributed.full_state(model, d), model_dir)
    handoff = ckpt.write_handoff(ckpt_root, hf, model_dir) if d.is_main else None
    del hf
    saved = ckpt.save(ckpt_root, 1, hf_state=None, weights_from=handoff, base_model_dir=model_dir,
                      optimizer_state=get_optimizer_state_dict(model, optimizer), state={"iteration": 1},
                      rank=d.rank, barrier=d.barrier)
    save_s = time.monotonic() - t
    t = time.monotonic()
    full = distributed.on_rank0(d, lambda: hf_to_tune(load_hf_state_dict(saved), model_dir))
    resumed = build(model_dir, full, d, dtype=dtype, max_len=row_tokens)
    del full
    opt2 = make_optimizer(resumed, cfg["optimizer"])
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
    rows = pack(iteration_samples(args.iterations + 1, row_tokens=row_tokens, vocab=arch["vocab_size"]),
                row_tokens, rows_multiple_of=d.world)
    rows = rows.select(slice(0, per_step))  # one step each
    cont = optimise(model, optimizer, rows, cfg, d)["loss"]
    again = optimise(resumed, opt2, rows, cfg, d)["loss"]
    same_step = cont is not None and again is not None and abs(cont - again) <= 1e-6 * max(1.0, abs(cont))

    # ---- figures
    steady = per_iter[len(per_iter) // 2:]  # after the compiles of the first iterations
    total_s = sum(r["seconds"] for r in per_iter)
    steady_s = sum(r["seconds"] for r in steady)
    peak = peak_flops(d.device, args.peak_tflops)
    mfu = (sum(r["flops"] for r in steady) / steady_s / (peak * d.world)) if peak else None
    dtype_ok = all(p.dtype == dtype for p in model.parameters())
    result = {
        "device": torch.cuda.get_device_name(d.device) if d.device.type == "cuda" else "cpu",
        "world": d.world, "model": "tiny" if args.tiny else "Qwen2.5-1.5B shape (random weights)",
        "dtype": str(dtype), "bf16_parameters": dtype_ok, "fsdp_cpu_offload": True,
        "activation_checkpointing": True, "row_tokens": row_tokens, "rows_per_device_per_step": args.rows_per_device,
        "iterations": args.iterations, "distinct_packings": len(packings),
        "distinct_step_shapes": sorted(step_shapes), "buckets": list(length_buckets(row_tokens)),
        "flex_attention": d.device.type == "cuda", "fallback_messages": caught.messages,
        "tokens_per_second": sum(r["tokens"] for r in per_iter) / total_s,
        "tokens_per_second_steady": sum(r["tokens"] for r in steady) / steady_s,
        "mfu_steady": mfu, "peak_flops_per_gpu": peak,
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
    return "\n".join([
        f"gpu-check on {r['device']} x{r['world']}: {r['model']}, {r['dtype']}, FSDP2 + CPU offload, "
        "activation checkpointing",
        f"  {r['iterations']} iterations, {r['distinct_packings']} distinct packings -> step shapes "
        f"{r['distinct_step_shapes']} (buckets {r['buckets']}); flex attention: {r['flex_attention']}; "
        f"recompile/fallback messages: {len(r['fallback_messages'])}",
        f"  tokens/s {r['tokens_per_second']:,.0f} overall, {r['tokens_per_second_steady']:,.0f} steady; "
        f"MFU (steady) {mfu}",
        f"  checkpoint {s['checkpoint']:.1f}s, resume {s['resume']:.1f}s: weights {r['resume']['same_weights']}, "
        f"optimiser {r['resume']['same_optimizer']}, next-step loss {r['resume']['same_next_loss']}",
        f"  total {s['total']:.0f}s: {'OK' if r['ok'] else 'FAILED'}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GPU check of the training step (see make gpu-check)")
    parser.add_argument("--tiny", action="store_true", help="tiny model (CPU test of this script)")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--row-tokens", type=int, default=0, help="default 4096 (tiny: 256)")
    parser.add_argument("--rows-per-device", type=int, default=2)
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak per GPU")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "deductive-gpu-check"))
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device (use --device cpu --tiny for the CPU path)", file=sys.stderr)
        return 2
    return 0 if run(args)["ok"] else 1
