#!/usr/bin/env python
"""LoRA against full fine-tuning, the trainer's side of one iteration (deductive.bench.lora):
one process per arm, each under its profile's training settings; writes OUT.json and OUT.md.

    python scripts/bench_lora.py --arms learn-room-2x2 learn-room-2x2-lora --run smollm2-135m \\
        --model-dir models/smollm2-135m --out results/bench/lora_vs_full
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arms", nargs="+", required=True, help="profiles, the first is the reference")
    parser.add_argument("--run", required=True, help="the training run both profiles define")
    parser.add_argument("--model-dir", type=Path, required=True, help="the prepared model the run trains")
    parser.add_argument("--prompt-len", type=int, default=690, help="prompt tokens (learn-room-2x2: 611-762)")
    parser.add_argument("--completion-lengths", type=int, nargs=2, default=(8, 24),
                        help="completion lengths drawn log-uniformly (learn-room-2x2: at most 24 tokens)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True, help="OUT.json and OUT.md are written")
    args = parser.parse_args(argv)
    if not (args.model_dir / "config.json").is_file():
        print(f"error: {args.model_dir} is not a prepared model (run the prepare_model rule first)", file=sys.stderr)
        return 2
    from deductive.bench import lora
    from deductive.io import atomic_write_json, atomic_write_text
    from deductive.provenance import provenance

    results = lora.compare(args.arms, args.run, args.model_dir, prompt_len=args.prompt_len,
                           completion_lengths=tuple(args.completion_lengths), repeats=args.repeats)
    prov = provenance(machine=f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end")
    atomic_write_json(args.out.with_suffix(".json"), {"arms": results, "provenance": prov,
                                                      "prompt_len": args.prompt_len,
                                                      "completion_lengths": list(args.completion_lengths)})
    md = ["# LoRA against full fine-tuning: the trainer's side of one iteration", "",
          f"`scripts/bench_lora.py --arms {' '.join(args.arms)} --run {args.run}`; machine: {prov['machine']}; "
          f"date {prov['date']}; code {prov['code']['commit'][:12]}{' (dirty)' if prov['code']['dirty'] else ''}. "
          f"Rows: one iteration's groups, prompts of {args.prompt_len} tokens, completions of "
          f"{args.completion_lengths[0]}-{args.completion_lengths[1]}; step time over {args.repeats} passes after a "
          "warm-up; peak RSS of the arm's own process.", "", *lora.table(results)]
    atomic_write_text(args.out.with_suffix(".md"), "\n".join(md) + "\n")
    print("\n".join(lora.table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
