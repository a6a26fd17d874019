#!/usr/bin/env python
"""Build results/<profile>/tables/{accuracy,comparison}.{csv,md} from the stored evaluation
summaries, skip records and the published numbers (no sampling).

    python scripts/make_tables.py --eval-root results/smoke/eval \\
        --published results/published/published.csv --out results/smoke/tables
"""

import argparse
import sys

from deductive.evaluation.cli import main_tables

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-root", required=True, help="results/<profile>/eval")
    parser.add_argument("--published", required=True, help="the published numbers (results/published/published.csv)")
    parser.add_argument("--out", required=True, help="results/<profile>/tables")
    sys.exit(main_tables(parser.parse_args()))
