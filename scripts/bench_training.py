#!/usr/bin/env python
"""Training benchmarks (scripts/training_bench.py): throughput of the real training step,
packing efficiency of prompt-shared rows, and per-iteration overhead; writes
results/bench/training.{csv,md}. `--gpu` adds tokens/s and MFU of Qwen2.5 shapes on a GPU."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["tiny-qwen2", "smollm2-135m"],
                        help="prepared model directories under models/")
    parser.add_argument("--no-vllm", action="store_true", help="skip timing Sampler.load_weights")
    parser.add_argument("--gpu", nargs="*", metavar="SHAPE", help="Qwen2.5 shapes for the GPU MFU run "
                        "(qwen2.5-1.5b, qwen2.5-7b)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="GPU dense bf16 peak (H100 SXM: 989)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "training")
    args = parser.parse_args(argv)
    from deductive.io import atomic_write_text
    from deductive.progress import Progress
    from deductive.provenance import provenance
    import training_bench as bench  # scripts/training_bench.py, beside this script

    rows: list[dict] = []

    def add(metric, subject, value, unit, note=""):
        rows.append({"metric": metric, "subject": subject, "value": f"{value:.4g}", "unit": unit, "note": note})

    scenarios = {  # (row_tokens, prompt tokens, completion length range, samples per puzzle)
        "paper-shape": (16384, 1220, (300, 8192), 50),
        "smoke-shape": (4096, 700, (8, 32), 4),
    }
    for name, (row, prompt, lengths, k) in scenarios.items():
        eff = bench.packing_efficiency(row, prompt, lengths, k)
        note = f"row {row}, prompt {prompt}, completions log-uniform {lengths[0]}-{lengths[1]}, {k}/puzzle, 32 puzzles"
        add("packing_real_token_share", name, eff["real_token_share"], "share", note)
        add("packing_rows", name, eff["rows"], "rows", note)
    missing = [m for m in args.models if not (ROOT / "models" / m / "config.json").is_file()]
    if missing:
        print(f"error: models not prepared: {', '.join(missing)} (run the prepare_model rule first)", file=sys.stderr)
        return 2
    progress = Progress(total=len(args.models), label="bench training", unit="models", interval=0)
    for m in args.models:
        model_dir = ROOT / "models" / m
        tp = bench.training_throughput(model_dir, row_tokens=1024, prompt_len=700, completion_lengths=(16, 64),
                                       k=8, puzzles=2)
        note = f"{tp['rows']} rows of <=1024 tokens, prompt 700, 8 completions of 16-64 per puzzle, best of 2"
        add("train_completion_tokens_per_s", m, tp["completion_tokens_per_s"], "tokens/s", note)
        add("train_real_tokens_per_s", m, tp["real_tokens_per_s"], "tokens/s", note)
        ov = bench.iteration_overhead(model_dir, with_vllm=not args.no_vllm)
        for key, value in ov.items():
            add(f"overhead_{key}", m, value, "MB" if key.endswith("_mb") else ("M params" if key == "params_m" else "s"))
        progress.advance()
    for shape in args.gpu or []:
        r = bench.gpu_mfu(shape, row_tokens=16384, peak_tflops=args.peak_tflops)
        add("gpu_tokens_per_s", shape, r["tokens_per_s"], "tokens/s", "bf16, rows of 16384, activation checkpointing")
        add("gpu_mfu", shape, r["mfu"], "share", f"peak {args.peak_tflops} TFLOPS")
        add("gpu_peak_memory", shape, r["peak_mem_gib"], "GiB")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["metric", "subject", "value", "unit", "note"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".csv"), buf.getvalue())
    prov = provenance(machine=bench.machine())
    md = ["# Training benchmarks", "", f"Machine: {prov['machine']}. Date: {prov['date']}, code "
          f"{prov['code']['commit'][:12]}{' (dirty)' if prov['code']['dirty'] else ''}. CPU timings on a shared "
          "machine are noisy; compare within one run only.", "",
          "| metric | subject | value | unit | note |", "|---|---|---|---|---|"]
    md += [f"| {r['metric']} | {r['subject']} | {r['value']} | {r['unit']} | {r['note']} |" for r in rows]
    atomic_write_text(args.out.with_suffix(".md"), "\n".join(md) + "\n")
    print(progress.summary(f"wrote {args.out.with_suffix('.csv')} and .md"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
