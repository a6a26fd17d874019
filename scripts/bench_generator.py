#!/usr/bin/env python3
"""Seconds per puzzle of the generator, one worker, for several size settings.

  python scripts/bench_generator.py [--quick] [--out results/bench]

Each puzzle is timed on its own (generation only, in this process, after imports). Prints a
table of median, p90 and max, and writes results/bench/generator.csv and generator.md with the
machine and provenance.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import statistics
import sys
import time
from pathlib import Path


from deductive.io import atomic_write_text
from deductive.provenance import provenance
from deductive.puzzles.generator import generate
from deductive.puzzles.world import Shape

# (label, players, shape, puzzles, puzzles with --quick)
SETTINGS = [
    ("players 1:2", (1, 2), None, 40, 10),
    ("players 1:6 (default)", (1, 6), None, 60, 15),
    ("shape 5,5,5,5", (1, 6), Shape(5, 5, 5, 5), 15, 4),
    ("shape 8,8,8,9", (1, 6), Shape(8, 8, 8, 9), 4, 1),
]
SEED = 2026


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(2, f"error: {message}\n")


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer puzzles per setting")
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    args = parser.parse_args(argv)
    rows = []
    for label, players, shape, n, n_quick in SETTINGS:
        count = n_quick if args.quick else n
        seconds, clues = [], []
        for i in range(count):
            start = time.perf_counter()
            record = generate(SEED, i, players=players, shape=shape)
            seconds.append(time.perf_counter() - start)
            clues.append(record["num_clues"])
        row = {"setting": label, "puzzles": count, "median_s": round(statistics.median(seconds), 3),
               "p90_s": round(_p90(seconds), 3), "max_s": round(max(seconds), 3),
               "mean_s": round(statistics.fmean(seconds), 3),
               "median_clues": statistics.median(clues)}
        rows.append(row)
        print(f"{label:<24} n={count:<3} median {row['median_s']:>7.3f} s  p90 {row['p90_s']:>7.3f} s"
              f"  max {row['max_s']:>7.3f} s  (median {row['median_clues']} clues)", flush=True)
    machine = (f"{platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()} "
               f"{platform.release()}, Python {platform.python_version()}")
    prov = provenance(seed=SEED, quick=args.quick, machine=machine,
                      note="one worker, seconds per puzzle after imports; shared machine, timings noisy")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "generator.csv", buffer.getvalue())
    lines = ["# Puzzle generator: seconds per puzzle (one worker)", "",
             f"Machine: {machine}. Seed {SEED}{', --quick' if args.quick else ''}.",
             f"Measured {prov['date']} at commit {prov['code']['commit'][:12]}"
             f"{' (uncommitted changes)' if prov['code']['dirty'] else ''}; command `{prov['command']}`.",
             "Each puzzle timed on its own in one process (imports excluded). The machine may be "
             "shared, so timings are noisy.", "",
             "| setting | puzzles | median s | p90 s | max s | mean s | median clues |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['setting']} | {r['puzzles']} | {r['median_s']} | {r['p90_s']} | {r['max_s']} "
              f"| {r['mean_s']} | {r['median_clues']} |" for r in rows]
    atomic_write_text(args.out / "generator.md", "\n".join(lines) + "\n")
    print(f"wrote {args.out / 'generator.csv'} and {args.out / 'generator.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
