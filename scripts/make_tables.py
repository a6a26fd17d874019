#!/usr/bin/env python
"""Build results/<profile>/tables/{accuracy,comparison}.{csv,md} from the stored evaluation
summaries, skip records and results/published/published.csv (no sampling).

    python scripts/make_tables.py --config workflow/config/smoke.yaml
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from deductive.evaluation.cli import main_tables  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--eval-root", help="default results/<profile>/eval")
    parser.add_argument("--out", help="default results/<profile>/tables")
    sys.exit(main_tables(parser.parse_args()))
