"""Rollout benchmark: completions/s and generated tokens/s of the vLLM Sampler for the smoke
models, on whatever this machine is (CPU, or a GPU node), plus engine start and live weight
reload times. Writes results/bench/rollout.csv and rollout.md with machine information.

python scripts/bench_rollout.py [--models tiny-qwen2 smollm2-135m] [--puzzles 4 --samples 2
    --max-tokens 64] [--out results/bench]
Early abort is off so every run generates comparable token counts.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine_info() -> dict:
    import torch
    import vllm

    from deductive.bench.peers import cpu_model

    cpu = cpu_model()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": gpu, "gpus": torch.cuda.device_count(),
            "torch": torch.__version__, "vllm": vllm.__version__, "python": platform.python_version(),
            "loadavg_1m_at_start": round(os.getloadavg()[0], 2)}


def bench_model(name: str, args, config) -> dict:
    from deductive.inference.rollout import EarlyAbort, Sampler, SamplingConfig, engine_kwargs
    from deductive.puzzles.formats import load_puzzles

    model_dir = ROOT / "models" / name
    puzzles = load_puzzles(ROOT / "data" / "temporal-clue" / "val.json")[: args.puzzles]
    sampling = SamplingConfig.from_config(config["sampling"]).replace(
        max_tokens=args.max_tokens, early_abort={"enabled": False})
    kwargs = engine_kwargs(config["sampling"])
    start = time.monotonic()
    sampler = Sampler(model_dir, **kwargs)
    engine_s = time.monotonic() - start
    try:
        sampler.sample(puzzles[:1], 1, sampling.replace(max_tokens=4))  # warm-up
        start = time.monotonic()
        records = sampler.sample(puzzles, args.samples, sampling)
        seconds = time.monotonic() - start
        reload_s = sampler.load_weights(model_dir)
    finally:
        sampler.close()
    tokens = sum(r["completion_tokens"] for r in records)
    return {"model": name, "completions": len(records), "generated_tokens": tokens, "seconds": round(seconds, 2),
            "completions_per_s": round(len(records) / seconds, 3), "tokens_per_s": round(tokens / seconds, 1),
            "mean_prompt_tokens": round(sum(r["prompt_tokens"] for r in records) / len(records), 1),
            "max_tokens": args.max_tokens, "engine_start_s": round(engine_s, 1),
            "load_weights_s": round(reload_s, 2), "dtype": kwargs["dtype"]}


def main(argv=None) -> int:
    from deductive.config import load_config
    from deductive.io import atomic_write_text
    from deductive.provenance import provenance

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(ROOT / "workflow" / "config" / "smoke.yaml"))
    p.add_argument("--models", nargs="+", default=["tiny-qwen2", "smollm2-135m"])
    p.add_argument("--puzzles", type=int, default=4)
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--out", default=str(ROOT / "results" / "bench"))
    args = p.parse_args(argv)
    config = load_config(args.config)
    for name in args.models:
        if not (ROOT / "models" / name / "manifest.json").is_file():
            print(f"error: models/{name} is not prepared; run scripts/prepare_model.py --config {args.config} "
                  f"--name {name} --out models/{name}", file=sys.stderr)
            return 2
    info = machine_info()
    rows = []
    for name in args.models:
        row = bench_model(name, args, config)
        print(f"bench_rollout: {name}: {row['completions_per_s']} completions/s, {row['tokens_per_s']} "
              f"generated tokens/s ({row['completions']} completions, {row['generated_tokens']} tokens in "
              f"{row['seconds']} s); engine start {row['engine_start_s']} s, load_weights {row['load_weights_s']} s",
              flush=True)
        rows.append(row)
    info["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    out = Path(args.out)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) + ["device"], lineterminator="\n")
    writer.writeheader()
    device = info["gpu"] if info["gpus"] else f"CPU: {info['cpu']} ({info['cores']} cores)"
    for row in rows:
        writer.writerow({**row, "device": device})
    atomic_write_text(out / "rollout.csv", buf.getvalue())
    prov = provenance(profile=config["profile"], config=config)
    lines = ["# Rollout benchmark (vLLM Sampler)", "",
             f"Measured {prov['date']} with `{prov['command']}` at commit {prov['code']['commit'][:10]}"
             f"{' (dirty tree)' if prov['code']['dirty'] else ''}.", "",
             f"Machine: {device}; torch {info['torch']}, vLLM {info['vllm']}, Python {info['python']}; "
             f"1-minute load average {info['loadavg_1m_at_start']} at start, {info['loadavg_1m_at_end']} at end "
             f"(other processes share this machine: treat the numbers as noisy).", "",
             f"Workload: the first {args.puzzles} published val puzzles x {args.samples} samples, at most "
             f"{args.max_tokens} new tokens each, temperature 1, early abort off, one batch; after a warm-up request.", "",
             "| model | completions/s | generated tokens/s | completions | tokens | seconds | engine start s | load_weights s | dtype |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['completions_per_s']} | {r['tokens_per_s']} | {r['completions']} | "
                     f"{r['generated_tokens']} | {r['seconds']} | {r['engine_start_s']} | {r['load_weights_s']} | {r['dtype']} |")
    atomic_write_text(out / "rollout.md", "\n".join(lines) + "\n")
    print(f"bench_rollout: wrote {out / 'rollout.csv'} and {out / 'rollout.md'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
