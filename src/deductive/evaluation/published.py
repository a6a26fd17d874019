"""The published numbers (results/published/published.csv): loaded as their own rows, every
one labelled as taken from the publication, never merged with what this project measured."""

from __future__ import annotations

import csv
from pathlib import Path

from deductive.config import REPO_ROOT

PUBLISHED_CSV = REPO_ROOT / "results" / "published" / "published.csv"  # where it is committed
_FLOATS = ("accuracy", "usd_per_puzzle", "usd_per_m_input", "usd_per_m_output", "mean_prompt_tokens",
           "mean_completion_tokens")
_INTS = ("n_puzzles", "samples_per_puzzle")
REQUIRED = ("key", "label", "split", *_INTS, *_FLOATS, "price_key", "source", "source_date", "note")


def load_published(path: str | Path) -> dict[str, dict]:
    """key -> row of the table at `path` (the caller names it: a rule's input, or PUBLISHED_CSV),
    numbers parsed (an empty cell is None) and `source_kind` = 'published'."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no published table")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        rows: dict[str, dict] = {}
        for row in reader:
            parsed = dict(row)
            for col in _FLOATS:
                parsed[col] = float(row[col]) if row[col] else None
            for col in _INTS:
                parsed[col] = int(row[col]) if row[col] else None
            parsed["source_kind"] = "published"
            if parsed["key"] in rows:
                raise ValueError(f"{path}: duplicate key {parsed['key']}")
            rows[parsed["key"]] = parsed
    return rows
