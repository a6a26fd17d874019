#!/usr/bin/env python
"""Side-by-side benchmark (scripts/peers_bench.py): this project's vLLM Sampler against
transformers' `generate`, and one GRPO iteration of this project's loop against TRL's
`GRPOTrainer`, on the same prompts, model and sizes; writes results/bench/peers.{md,json}
with versions, machine, load average and peak memory.

python scripts/bench_peers.py [--model smollm2-135m] [--puzzles 2 --completions 4 --max-tokens 64]
    [--trl-python .venv-trl/bin/python] [--sides vllm_sampler hf_generate project_iteration trl_iteration]
Each side runs in its own process; the TRL side in .venv-trl (`make bench-peers` creates it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main(argv=None) -> int:
    import peers_bench as bp  # scripts/peers_bench.py, beside this script

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m", help="prepared model directory under models/")
    p.add_argument("--puzzle-file", type=Path, default=ROOT / "data" / "temporal-clue" / "val.json")
    p.add_argument("--puzzles", type=int, default=2)
    p.add_argument("--completions", type=int, default=4, help="completions per prompt (GRPO group size)")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--trl-micro-batch", type=int, default=1, help="completions per TRL forward/backward "
                   "(gradient accumulation up to one optimiser step over all of them)")
    p.add_argument("--trl-python", default=str(ROOT / ".venv-trl" / "bin" / "python"))
    p.add_argument("--sides", nargs="+", choices=bp.SIDES, default=list(bp.SIDES))
    p.add_argument("--work", type=Path, default=ROOT / "work" / "bench-peers")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "peers")
    p.add_argument("--child", choices=sorted(bp.CHILDREN), help=argparse.SUPPRESS)
    p.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--render", action="store_true", help="only rewrite OUT.md from an existing OUT.json")
    p.add_argument("--update", action="store_true", help="keep the other sides of an existing OUT.json "
                   "(same work) and replace only those run now")
    p.add_argument("--no-activation-checkpointing", action="store_true",
                   help="this project's step without activation checkpointing (needs ~10 GB more RAM)")
    args = p.parse_args(argv)
    if args.child:
        return bp.child_main(args.child, args.spec, args.result)
    if args.render:
        report = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        args.out.with_suffix(".md").write_text(bp.render_markdown(report), encoding="utf-8")
        return 0

    from deductive.config import load_config
    from deductive.io import atomic_write_json, atomic_write_text
    from deductive.provenance import provenance

    model_dir = ROOT / "models" / args.model
    if not (model_dir / "config.json").is_file():
        print(f"error: models/{args.model} is not prepared (run scripts/prepare_model.py)", file=sys.stderr)
        return 2
    if "trl_iteration" in args.sides and not Path(args.trl_python).is_file():
        print(f"error: {args.trl_python} missing; `make bench-peers` creates .venv-trl", file=sys.stderr)
        return 2
    opt = load_config("smoke")["training"]["optimizer"]
    args.work.mkdir(parents=True, exist_ok=True)
    spec = bp.make_spec(model_dir=model_dir, puzzle_file=args.puzzle_file, puzzles=args.puzzles,
                        completions=args.completions, max_new_tokens=args.max_tokens, seed=args.seed,
                        lr=float(opt["lr"]), weight_decay=float(opt["weight_decay"]), betas=tuple(opt["betas"]),
                        work_dir=args.work.resolve(), trl_micro_batch=args.trl_micro_batch,
                        activation_checkpointing=not args.no_activation_checkpointing)
    spec_file = args.work / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    sides = {}
    previous = args.out.with_suffix(".json")
    if args.update and previous.is_file():
        old = json.loads(previous.read_text(encoding="utf-8"))
        sides = old["sides"]
        for r in sides.values():
            if "measured_at" not in r:
                r.setdefault("run_finished_at", old["date"])
    for side in args.sides:
        result = args.work / f"{side}.json"
        if side == "trl_iteration":
            trl_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
            cmd = [args.trl_python, str(ROOT / "scripts" / "bench_peers_trl.py"), "--spec", str(spec_file),
                   "--out", str(result)]
            sides[side] = bp.run_side(side, cmd, result, env=trl_env)
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", side, "--spec", str(spec_file),
                   "--result", str(result)]
            sides[side] = bp.run_side(side, cmd, result, env=env)
    versions = {}
    for side in ("vllm_sampler", "project_iteration", "hf_generate"):
        versions.update({k: v for k, v in sides.get(side, {}).get("versions", {}).items()})
    trl_v = sides.get("trl_iteration", {}).get("versions", {})
    if "trl_iteration" in sides and not trl_v and Path(args.trl_python).is_file():
        trl_v = bp.venv_versions(args.trl_python)  # the side failed: ask its interpreter
    if trl_v:
        versions["trl"] = trl_v["trl"]
        for k in ("torch", "transformers"):
            if trl_v[k] != versions.get(k):
                versions[f"trl_{k}"] = trl_v[k]
    if "transformers" not in versions:
        import transformers

        versions["transformers"] = transformers.__version__
    prov = provenance()
    report = {"date": prov["date"], "command": prov["command"],
              "commit": prov["code"]["commit"][:12] + (" (dirty tree)" if prov["code"]["dirty"] else ""),
              "machine": bp.machine_info(), "versions": versions,
              "spec": {k: v for k, v in spec.items() if k != "val_prompt"}, "sides": sides}
    report["spec"]["prompts"] = [{"id": i["id"], "prompt_tokens": len(i["prompt_token_ids"])}
                                 for i in spec["prompts"]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out.with_suffix(".json"), report)
    atomic_write_text(args.out.with_suffix(".md"), bp.render_markdown(report))
    print(f"bench_peers: wrote {args.out.with_suffix('.md')} and .json", flush=True)
    return 0 if all(not s.get("error") for s in sides.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
