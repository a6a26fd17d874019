#!/usr/bin/env python
"""Evaluate one entry (base model, trained checkpoint or API baseline) on its splits.

    python scripts/evaluate.py --config workflow/config/smoke.yaml --entry tiny-qwen2
    python scripts/evaluate.py --config workflow/config/paper.yaml --entry o1 --status-out results/paper/eval/o1/api.status.json

Writes results/<profile>/eval/<entry>/<split>.{samples.jsonl.gz,summary.json} (or, for an API
baseline without its key, <split>.skipped.json and one line naming the variable to set).
Resumes after a crash or kill. Exit status 2 with one `error:` line for expected failures.
"""

import argparse
import sys
from pathlib import Path


from deductive.evaluation.cli import main_evaluate

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="workflow/config/<profile>.yaml")
    parser.add_argument("--entry", required=True, help="model key, training run or evaluation.api key")
    parser.add_argument("--splits", nargs="*", help="default: the entry's splits from the config")
    parser.add_argument("--status-out", help="write a status file listing each split as done or skipped")
    sys.exit(main_evaluate(parser.parse_args()))
