"""Sample K graded completions per puzzle with vLLM into a JSON Lines file (resumable).

python scripts/sample.py --model models/tiny-qwen2 --puzzles FILE --samples K --out FILE
    [--config workflow/config/smoke.yaml] [--temperature T --top-p P --top-k K --max-tokens N
    --seed S --no-early-abort --abort-threshold X --grader-mode fixed|compat]
Defaults come from the config's `sampling` section; every option overrides one parameter.
"""

from __future__ import annotations

import argparse
import sys



def main(argv: list[str] | None = None) -> int:
    from deductive.config import ConfigError, load_config
    from deductive.inference.rollout import RolloutError, Sampler, SamplingConfig, engine_kwargs, sample_to_file
    from deductive.puzzles.formats import PuzzleFileError, load_puzzles

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--puzzles", required=True)
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--config", default="workflow/config/smoke.yaml")
    p.add_argument("--limit", type=int, help="only the first N puzzles")
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-p", type=float)
    p.add_argument("--top-k", type=int)
    p.add_argument("--min-p", type=float)
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--no-early-abort", action="store_true")
    p.add_argument("--abort-threshold", type=float)
    p.add_argument("--grader-mode", choices=["fixed", "compat"], default="fixed")
    p.add_argument("--max-model-len", type=int)
    args = p.parse_args(argv)
    try:
        config = load_config(args.config)
        if args.samples < 1:
            raise ConfigError("--samples must be at least 1")
        sampling = SamplingConfig.from_config(config["sampling"])
        overrides = {k: v for k, v in {"temperature": args.temperature, "top_p": args.top_p, "top_k": args.top_k,
                                       "min_p": args.min_p, "max_tokens": args.max_tokens,
                                       "seed": args.seed}.items() if v is not None}
        ea = {}
        if args.no_early_abort:
            ea["enabled"] = False
        if args.abort_threshold is not None:
            ea["threshold"] = args.abort_threshold
        if ea:
            overrides["early_abort"] = ea
        sampling = sampling.replace(**overrides)
        puzzles = load_puzzles(args.puzzles)[: args.limit]
        kwargs = engine_kwargs(config["sampling"])
        if args.max_model_len:
            kwargs["max_model_len"] = args.max_model_len
        sampler = Sampler(args.model, **kwargs)
    except (ConfigError, PuzzleFileError, RolloutError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        summary = sample_to_file(sampler, puzzles, args.samples, sampling, args.out,
                                 grader_mode=args.grader_mode)
    except RolloutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        sampler.close()
    print(f"sample: {summary['records']} records in {args.out} ({summary['new']} new, "
          f"{summary['resumed']} resumed), mean reward {summary['mean_reward']:.3f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
