#!/usr/bin/env python3
"""Render every figure and table from the committed results (no GPU, no network, no model).

    python scripts/make_figures.py --results results --out figures [--profile smoke]

Writes figures/<profile>/<name>.{png,pdf,caption.md} (and tables as .md/.tex) for each profile
with results, plus the published-only figures of the `paper` profile. Only reads results/.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deductive.config import ConfigError, load_config
from deductive.figures.data import FigureInputError
from deductive.figures.render import render_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="results root (read only)")
    parser.add_argument("--out", type=Path, default=Path("figures"), help="figures root")
    parser.add_argument("--profile", action="append", help="only this profile (repeatable)")
    parser.add_argument("--config", type=Path, help="resolved figures config of the workflow (its profile's settings)")
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(f"error: no results folder at {args.results}", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        sections = {}
        if args.config:
            job = load_config(args.config)
            sections[job["profile"]] = job.get("figures") or {}
        done = render_all(args.results, args.out, args.profile, sections)
    except (ConfigError, FigureInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    count = 0
    for profile, items in done.items():
        for item in items:
            count += 1
            print(f"{profile}/{item.name}: " + ", ".join(p.name for p in item.files), file=sys.stderr)
    print(f"make_figures: done, {count} figures/tables for {len(done)} profile(s) "
          f"({', '.join(done) or 'none'}) in {time.monotonic() - start:.1f} s -> {args.out}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
