#!/usr/bin/env python3
"""Render every figure and table from the committed results (no GPU, no network, no model).

    python scripts/make_figures.py --results results --out figures [--profile smoke]
    python scripts/make_figures.py --config work/smoke/config/figures.json --profile-results results/smoke \\
        --published results/published/published.csv --out-dir figures/smoke

The first form (`make figures`) writes figures/<profile>/<name>.{png,pdf,caption.md} (and tables
as .md/.tex) for each profile with results under --results, plus the published-only figures of
the `paper` profile, each with its pinned settings. The second (the workflow's figures rule)
draws one profile with its resolved settings from exactly the folders and file it is given.
Only reads results.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deductive.config import ConfigError, load_config
from deductive.figures.context import Context, Settings
from deductive.figures.data import FigureInputError
from deductive.figures.render import render_all, render_profile

ONE_PROFILE = ("profile_results", "published", "out_dir")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    every = parser.add_argument_group("every profile (make figures)")
    every.add_argument("--results", type=Path, help="results root (read only; default results)")
    every.add_argument("--out", type=Path, help="figures root (default figures)")
    every.add_argument("--profile", action="append", help="only this profile (repeatable)")
    one = parser.add_argument_group("one profile, every path given (the workflow's figures rule)")
    one.add_argument("--config", type=Path, help="the resolved figures config of the workflow (profile and settings)")
    one.add_argument("--profile-results", type=Path, help="the profile's results folder (results/<profile>)")
    one.add_argument("--published", type=Path, help="the published numbers (results/published/published.csv)")
    one.add_argument("--out-dir", type=Path, help="the profile's figures folder (figures/<profile>)")
    args = parser.parse_args(argv)
    if args.config:
        missing = [f"--{name.replace('_', '-')}" for name in ONE_PROFILE if getattr(args, name) is None]
        mixed = [f"--{name}" for name in ("results", "out", "profile") if getattr(args, name)]
        if missing or mixed:
            parser.error(f"--config draws one profile: give {', '.join(missing) or 'nothing more'}"
                         + (f", not {', '.join(mixed)}" if mixed else ""))
    elif any(getattr(args, name) is not None for name in ONE_PROFILE):
        parser.error("--profile-results, --published and --out-dir go with --config")
    results, out = (args.profile_results, args.out_dir) if args.config else (args.results or Path("results"),
                                                                              args.out or Path("figures"))
    if not results.is_dir():
        print(f"error: no results folder at {results}", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        if args.config:
            job = load_config(args.config)
            ctx = Context(profile=job["profile"], profile_dir=results, published=args.published, out_dir=out,
                          settings=Settings.from_config(job.get("figures")))
            done = {ctx.profile: render_profile(ctx)}
        else:
            done = render_all(results, out, args.profile)
    except (ConfigError, FigureInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    count = 0
    for profile, items in done.items():
        for item in items:
            count += 1
            print(f"{profile}/{item.name}: " + ", ".join(p.name for p in item.files), file=sys.stderr)
    print(f"make_figures: done, {count} figures/tables for {len(done)} profile(s) "
          f"({', '.join(done) or 'none'}) in {time.monotonic() - start:.1f} s -> {out}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
