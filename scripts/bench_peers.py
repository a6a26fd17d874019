#!/usr/bin/env python
"""Side-by-side benchmark (deductive.bench.peers): this project's vLLM Sampler against
transformers' `generate`, and one GRPO iteration of this project's loop against TRL's
`GRPOTrainer`, on the same prompts, model and sizes; writes results/bench/peers.{md,json}
with versions, machine, load average and peak memory.

python scripts/bench_peers.py [--model smollm2-135m] [--puzzles 2 --completions 4 --max-tokens 64]
    [--trl-python .venv-trl/bin/python] [--sides vllm_sampler hf_generate project_iteration trl_iteration]
Each side runs in its own process; the TRL side in .venv-trl (`make bench-peers` creates it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deductive.bench import peers
from deductive.config import REPO_ROOT


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m", help="prepared model directory under models/")
    p.add_argument("--puzzle-file", type=Path, default=REPO_ROOT / "data" / "temporal-clue" / "val.json")
    p.add_argument("--puzzles", type=int, default=2)
    p.add_argument("--completions", type=int, default=4, help="completions per prompt (GRPO group size)")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--trl-micro-batch", type=int, default=1, help="completions per TRL forward/backward "
                   "(gradient accumulation up to one optimiser step over all of them)")
    p.add_argument("--trl-python", default=str(REPO_ROOT / ".venv-trl" / "bin" / "python"))
    p.add_argument("--sides", nargs="+", choices=peers.SIDES, default=list(peers.SIDES))
    p.add_argument("--work", type=Path, default=REPO_ROOT / "work" / "bench-peers")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "bench" / "peers")
    p.add_argument("--child", choices=sorted(peers.CHILDREN), help=argparse.SUPPRESS)
    p.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--render", action="store_true", help="only rewrite OUT.md from an existing OUT.json")
    p.add_argument("--update", action="store_true", help="keep the other sides of an existing OUT.json "
                   "(same work) and replace only those run now")
    p.add_argument("--no-activation-checkpointing", action="store_true",
                   help="this project's step without activation checkpointing (needs ~10 GB more RAM)")
    return peers.run(p.parse_args(argv), script=Path(__file__).resolve(),
                     trl_script=REPO_ROOT / "scripts" / "bench_peers_trl.py")


if __name__ == "__main__":
    sys.exit(main())
