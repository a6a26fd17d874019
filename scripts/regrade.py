#!/usr/bin/env python
"""Recompute rewards, summaries and tables from stored completions, without sampling.

    python scripts/regrade.py --config workflow/config/smoke.yaml --grader compat \
        --eval-root results/smoke/eval --out results/smoke/regrade-compat

`--grader compat` reproduces the original's scoring; `--grader fixed` regrades with the
current grader (after a grader change). Output goes to --out/{eval,tables}: each regraded summary
records `accuracy_before_regrade` and `samples_changed_by_regrade`, and
<entry>/<split>.regrade-changes.jsonl lists those samples with both rewards. The evaluation
results are never overwritten.
"""

import argparse
import sys

from deductive.evaluation.cli import main_regrade
from deductive.evaluation.published import PUBLISHED_CSV

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--grader", required=True, choices=["fixed", "compat"])
    parser.add_argument("--eval-root", required=True, help="evaluation folder, e.g. results/<profile>/eval")
    parser.add_argument("--out", required=True, help="output folder, e.g. results/<profile>/regrade-<grader>")
    parser.add_argument("--published", default=str(PUBLISHED_CSV),
                        help="the published numbers the tables show beside the regraded ones "
                             "(default: the committed results/published/published.csv)")
    sys.exit(main_regrade(parser.parse_args()))
