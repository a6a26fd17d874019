"""Training benchmarks (run by scripts/bench_training.py): throughput of the real step, packing
efficiency, iteration overhead.

- throughput: `loop.optimise` (forward + backward + AdamW on packed rows, the code the loop
  runs) on a prepared model directory, completion tokens and all real tokens per second;
- packing: share of non-padding positions when rows have the fixed budget (`row_tokens`),
  for stated prompt / completion length distributions (pure arithmetic on `packing.pack`);
- overhead: the non-sampling, non-training work of an iteration: gathering the weights and
  converting them to HF names, `Sampler.load_weights` into a live vLLM engine (optional),
  writing the atomic checkpoint;
- on a GPU (`--gpu`; not run on the CPU machine this was written on): tokens per second and model FLOPs utilisation of a random-weight
  Qwen2.5-architecture model (6 * params * tokens + attention FLOPs, against the GPU's dense
  bf16 peak given by `--peak-tflops`).
"""

from __future__ import annotations

import csv
import io
import math
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deductive.training import checkpoint as ckpt
from deductive.training import distributed
from deductive.training.advantages import assign_advantages
from deductive.settings import OptimizerSettings, StepSettings, with_training_defaults
from deductive.training.step import make_optimizer, optimise
from deductive.training.tune_model import engine_state, load_model, tune_to_hf
from deductive.training.packing import pack

# Qwen2.5 shapes (config.json of the published models) for the GPU benchmark.
QWEN25 = {
    "qwen2.5-1.5b": dict(vocab_size=151936, num_layers=28, num_heads=12, num_kv_heads=2, embed_dim=1536,
                         intermediate_dim=8960, tie_word_embeddings=True),
    "qwen2.5-7b": dict(vocab_size=152064, num_layers=28, num_heads=28, num_kv_heads=4, embed_dim=3584,
                       intermediate_dim=18944, tie_word_embeddings=False),
}


def synthetic_group_samples(rng: np.random.Generator, *, puzzles: int, k: int, prompt_len: int,
                            completion_lengths: tuple[int, int], vocab: int) -> list[dict]:
    """Samples shaped like an iteration: per puzzle one prompt, k completions with lengths drawn
    log-uniformly from `completion_lengths`, rewards in {0, 1/3, 2/3, 1}."""
    lo, hi = completion_lengths
    out = []
    for p in range(puzzles):
        prompt = rng.integers(10, vocab, prompt_len).tolist()
        for j in range(k):
            n = int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
            out.append({"puzzle_id": f"p{p}", "sample_index": j, "prompt_token_ids": prompt,
                        "completion_token_ids": rng.integers(10, vocab, n).tolist(),
                        "logprobs": (-rng.exponential(1.0, n)).tolist(),
                        "reward": float(rng.integers(0, 4) / 3)})
    return out


def packing_efficiency(row_tokens: int, prompt_len: int, completion_lengths: tuple[int, int], k: int,
                       puzzles: int = 32, seed: int = 0) -> dict:
    samples = assign_advantages(synthetic_group_samples(np.random.default_rng(seed), puzzles=puzzles, k=k,
                                                        prompt_len=prompt_len,
                                                        completion_lengths=completion_lengths, vocab=1000))
    rows = pack(samples, row_tokens)
    completion = rows.completion_tokens
    return {"rows": len(rows), "real_token_share": rows.real_tokens / rows.tokens.numel(),
            "completion_token_share": completion / rows.tokens.numel(),
            "unshared_prompt_rows_tokens": sum(prompt_len + len(s["completion_token_ids"]) for s in samples)}


def training_throughput(model_dir: Path, *, row_tokens: int, prompt_len: int, completion_lengths, k: int,
                        puzzles: int, repeats: int = 2, device: str = "cpu", seed: int = 0) -> dict:
    d = distributed.Dist(world=1, rank=0, local_rank=0, device=torch.device(device))
    model = load_model(model_dir, device=device, max_seq_len=row_tokens)
    vocab = model.tok_embeddings.num_embeddings
    samples = assign_advantages(synthetic_group_samples(np.random.default_rng(seed), puzzles=puzzles, k=k,
                                                        prompt_len=prompt_len,
                                                        completion_lengths=completion_lengths, vocab=vocab))
    rows = pack(samples, row_tokens)
    cfg = StepSettings.from_mapping(with_training_defaults({
        "rows_per_device_per_step": 2, "loss": {"epsilon": 0.2}, "sampling": {"temperature": 1.0},
        "optimizer": {"lr": 6e-6, "betas": [0.9, 0.99], "weight_decay": 0.1}}))
    optimizer = make_optimizer(model, cfg.optimizer)
    optimise(model, optimizer, rows.select(slice(0, 2)), cfg, d)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        optimise(model, optimizer, rows, cfg, d)
        times.append(time.perf_counter() - t)
    best = min(times)
    return {"rows": len(rows), "completion_tokens": rows.completion_tokens, "real_tokens": rows.real_tokens,
            "seconds": best, "completion_tokens_per_s": rows.completion_tokens / best,
            "real_tokens_per_s": rows.real_tokens / best}


def iteration_overhead(model_dir: Path, *, with_vllm: bool) -> dict:
    """Seconds of the loop's non-sampling, non-training work for one iteration of `model_dir`."""
    d = distributed.Dist(world=1, rank=0, local_rank=0, device=torch.device("cpu"))
    model = load_model(model_dir)
    optimizer = make_optimizer(model, OptimizerSettings.from_mapping(with_training_defaults(
        {"optimizer": {"lr": 6e-6, "betas": [0.9, 0.99], "weight_decay": 0.1}})["optimizer"]))
    from deductive.training.step import init_adamw_state

    init_adamw_state(optimizer)
    out: dict[str, float] = {}
    t = time.perf_counter()
    hf = tune_to_hf(distributed.full_state(model, d), model_dir)
    out["gather_weights_s"] = time.perf_counter() - t
    if with_vllm:
        from deductive.inference.rollout import Sampler

        sampler = Sampler(str(model_dir), max_model_len=1024, gpu_memory_utilization=0.5, dtype="float32")
        try:
            sampler.load_weights(engine_state(hf, model_dir))  # first call warms up
            t = time.perf_counter()
            sampler.load_weights(engine_state(hf, model_dir))
            out["load_weights_vllm_s"] = time.perf_counter() - t
        finally:
            sampler.close()
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    root = Path(tempfile.mkdtemp(prefix="bench-ckpt-"))
    try:
        t = time.perf_counter()
        ckpt.save(root, 1, hf_state=hf, base_model_dir=model_dir,
                  optimizer_state=get_optimizer_state_dict(model, optimizer), state={"iteration": 1})
        out["checkpoint_s"] = time.perf_counter() - t
        out["checkpoint_mb"] = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out["params_m"] = sum(p.numel() for p in model.parameters()) / 1e6
    return out


def gpu_mfu(name: str, *, row_tokens: int, peak_tflops: float, steps: int = 3) -> dict:
    """Tokens/s and MFU of the training step on one GPU for a random-weight Qwen2.5 shape."""
    from torchtune.models.qwen2._component_builders import qwen2

    from deductive.training.packing import PackedRows

    torch.manual_seed(0)
    with torch.device("cuda"):
        model = qwen2(max_seq_len=row_tokens, norm_eps=1e-6, rope_base=1_000_000.0, **QWEN25[name]).to(torch.bfloat16)
    distributed.activation_checkpointing(model)
    d = distributed.Dist(world=1, rank=0, local_rank=0, device=torch.device("cuda"))
    vocab = QWEN25[name]["vocab_size"]
    samples = assign_advantages(synthetic_group_samples(np.random.default_rng(0), puzzles=2, k=16,
                                                        prompt_len=1220, completion_lengths=(400, 4000),
                                                        vocab=vocab))
    rows = pack(samples, row_tokens)
    rows = rows.select(slice(0, 2 * steps))
    cfg = StepSettings.from_mapping(with_training_defaults({
        "rows_per_device_per_step": 2, "loss": {"epsilon": 0.2}, "sampling": {"temperature": 1.0}, "num_output_chunks": 8,
        "flex_attention": True, "optimizer": {"lr": 6e-6, "betas": [0.9, 0.99], "weight_decay": 0.1}}))
    optimizer = make_optimizer(model, cfg.optimizer)
    optimise(model, optimizer, rows.select(slice(0, 2)), cfg, d)
    torch.cuda.synchronize()
    t = time.perf_counter()
    optimise(model, optimizer, rows, cfg, d)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t
    params = sum(p.numel() for p in model.parameters())
    c = QWEN25[name]
    # dense FLOPs: 6 N per token, plus attention scores 12 * layers * dim * seq per token
    # (causal, halved), with activation recomputation (one extra forward: 8 N instead of 6 N)
    tokens = rows.real_tokens
    attn = 6 * c["num_layers"] * c["embed_dim"] * row_tokens
    flops = (8 * params + attn) * tokens
    return {"model": name, "params_b": params / 1e9, "tokens": tokens, "seconds": seconds,
            "tokens_per_s": tokens / seconds, "mfu": flops / seconds / (peak_tflops * 1e12),
            "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30}


def machine() -> str:
    return f"{platform.machine()}, {torch.get_num_threads()} torch threads, {platform.processor() or 'cpu'}"


def run(args) -> int:
    """The whole benchmark for scripts/bench_training.py's parsed `args`: OUT.{csv,md}."""
    from deductive.config import REPO_ROOT
    from deductive.io import atomic_write_text
    from deductive.progress import Progress
    from deductive.provenance import provenance

    rows: list[dict] = []

    def add(metric, subject, value, unit, note=""):
        rows.append({"metric": metric, "subject": subject, "value": f"{value:.4g}", "unit": unit, "note": note})

    scenarios = {  # (row_tokens, prompt tokens, completion length range, samples per puzzle)
        "paper-shape": (16384, 1220, (300, 8192), 50),
        "smoke-shape": (4096, 700, (8, 32), 4),
    }
    for name, (row, prompt, lengths, k) in scenarios.items():
        eff = packing_efficiency(row, prompt, lengths, k)
        note = f"row {row}, prompt {prompt}, completions log-uniform {lengths[0]}-{lengths[1]}, {k}/puzzle, 32 puzzles"
        add("packing_real_token_share", name, eff["real_token_share"], "share", note)
        add("packing_rows", name, eff["rows"], "rows", note)
    missing = [m for m in args.models if not (REPO_ROOT / "models" / m / "config.json").is_file()]
    if missing:
        print(f"error: models not prepared: {', '.join(missing)} (run the prepare_model rule first)", file=sys.stderr)
        return 2
    progress = Progress(total=len(args.models), label="bench training", unit="models", interval=0)
    for m in args.models:
        model_dir = REPO_ROOT / "models" / m
        tp = training_throughput(model_dir, row_tokens=1024, prompt_len=700, completion_lengths=(16, 64),
                                       k=8, puzzles=2)
        note = f"{tp['rows']} rows of <=1024 tokens, prompt 700, 8 completions of 16-64 per puzzle, best of 2"
        add("train_completion_tokens_per_s", m, tp["completion_tokens_per_s"], "tokens/s", note)
        add("train_real_tokens_per_s", m, tp["real_tokens_per_s"], "tokens/s", note)
        ov = iteration_overhead(model_dir, with_vllm=not args.no_vllm)
        for key, value in ov.items():
            add(f"overhead_{key}", m, value, "MB" if key.endswith("_mb") else ("M params" if key == "params_m" else "s"))
        progress.advance()
    for shape in args.gpu or []:
        r = gpu_mfu(shape, row_tokens=16384, peak_tflops=args.peak_tflops)
        add("gpu_tokens_per_s", shape, r["tokens_per_s"], "tokens/s", "bf16, rows of 16384, activation checkpointing")
        add("gpu_mfu", shape, r["mfu"], "share", f"peak {args.peak_tflops} TFLOPS")
        add("gpu_peak_memory", shape, r["peak_mem_gib"], "GiB")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["metric", "subject", "value", "unit", "note"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".csv"), buf.getvalue())
    prov = provenance(machine=machine())
    md = ["# Training benchmarks", "", f"Machine: {prov['machine']}. Date: {prov['date']}, code "
          f"{prov['code']['commit'][:12]}{' (dirty)' if prov['code']['dirty'] else ''}. CPU timings on a shared "
          "machine are noisy; compare within one run only.", "",
          "| metric | subject | value | unit | note |", "|---|---|---|---|---|"]
    md += [f"| {r['metric']} | {r['subject']} | {r['value']} | {r['unit']} | {r['note']} |" for r in rows]
    atomic_write_text(args.out.with_suffix(".md"), "\n".join(md) + "\n")
    print(progress.summary(f"wrote {args.out.with_suffix('.csv')} and .md"), file=sys.stderr)
    return 0

