#!/usr/bin/env python3
"""Check GPUs, GPU memory per training run, disk and API keys for a profile and print what will
run (before `make reproduce`).

    python scripts/preflight.py --profile paper
    python scripts/preflight.py --profile paper --plan 4x80   # a node of 4 x 80 GiB, without it

Exit 0 when the run can start, 2 with an `error:` line when it cannot (no GPUs, a training run
that does not fit its GPUs' memory (the line names the setting to change), too little disk,
bad config). Never prints key values.
"""

from __future__ import annotations

import argparse
import sys


from deductive.config import ConfigError, load_config
from deductive.preflight import check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", required=True, help="profile name or config path")
    parser.add_argument("--plan", metavar="NxGIB", help="plan for a node of N GPUs of GIB GiB each (e.g. 4x80) "
                        "without looking at this machine's GPUs, disk or keys")
    args = parser.parse_args(argv)
    planned = None
    if args.plan:
        try:
            count, gib = args.plan.lower().split("x")
            planned = (int(count), float(gib))
            if planned[0] < 1 or planned[1] <= 0:
                raise ValueError
        except ValueError:
            print(f"error: --plan takes N GPUs x GiB each, e.g. 4x80 (got {args.plan!r})", file=sys.stderr)
            return 2
    try:
        config = load_config(args.profile)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = check(config, planned=planned)
    print(f"preflight for profile {config['profile']}:")
    print(report.text())
    for problem in report.fatal:
        print(f"error: {problem}", file=sys.stderr)
    if report.fatal:
        return 2
    print(f"preflight: ok, {len(report.will_run)} stages will run, {len(report.skipped)} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
