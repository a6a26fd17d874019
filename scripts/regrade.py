#!/usr/bin/env python
"""Recompute rewards, summaries and tables from stored completions, without sampling.

    python scripts/regrade.py --config workflow/config/smoke.yaml --grader compat

`--grader compat` reproduces the original's scoring. Output goes to
results/<profile>/regrade-<grader>/ (or --out); the evaluation results are never overwritten.
"""

import argparse
import sys
from pathlib import Path


from deductive.evaluation.cli import main_regrade

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--grader", required=True, choices=["fixed", "compat"])
    parser.add_argument("--out", help="default results/<profile>/regrade-<grader>")
    sys.exit(main_regrade(parser.parse_args()))
