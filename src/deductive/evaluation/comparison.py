"""Reproduced versus published: which measured result reproduces which published row, and the
numbers of each pair. The one owner of that pairing; the comparison table
(deductive.evaluation.tables) and the figure (deductive.figures.published_compare) both
render what `compare` returns.

A measured result (an evaluation summary) reproduces the published row named by its
`published_key` when it was measured on the comparison split: the published row's own split
(the puzzles the publication used) unless a caller names another one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

DEFAULT_PUBLISHED_SPLIT = "published_val"


@dataclass(frozen=True)
class Comparison:
    """One published row and, when measured, the result that reproduces it."""

    published_key: str
    published_label: str
    published_split: str
    published_accuracy: float
    published_usd_per_puzzle: float | None
    published_completion_tokens: float | None
    # The measured side: all None (stand_in False) when no result reproduces the published row.
    entry: str | None = None
    split: str | None = None
    n_puzzles: int | None = None
    samples_per_puzzle: int | None = None
    stand_in: bool = False  # a small model standing in for the published one (smoke)
    measured_accuracy: float | None = None
    ci95_lo: float | None = None
    ci95_hi: float | None = None
    difference: float | None = None  # measured - published accuracy
    published_inside_ci: bool | None = None
    measured_usd_per_puzzle: float | None = None
    measured_completion_tokens: float | None = None
    grader_mode: str | None = None
    summary: dict | None = field(default=None, compare=False, repr=False)  # the measured summary

    @property
    def measured(self) -> bool:
        return self.entry is not None

    @property
    def ci95(self) -> tuple[float, float] | None:
        return None if self.ci95_lo is None or self.ci95_hi is None else (self.ci95_lo, self.ci95_hi)


def published_split(row: dict) -> str:
    return row.get("split") or DEFAULT_PUBLISHED_SPLIT


def summary_ci95(summary: dict) -> tuple[float, float] | None:
    """An evaluation summary's 95% interval (lo, hi), or None when it has none."""
    ci = summary.get("ci95")
    return (float(ci[0]), float(ci[1])) if isinstance(ci, (list, tuple)) and len(ci) == 2 else None


def pair(row: dict, summary: dict | None) -> Comparison:
    """The numbers of one published row (a row of deductive.evaluation.published.load_published)
    and the summary that reproduces it (None: not measured)."""
    published = dict(published_key=row["key"], published_label=row.get("label") or row["key"],
                     published_split=published_split(row), published_accuracy=row["accuracy"],
                     published_usd_per_puzzle=row.get("usd_per_puzzle"),
                     published_completion_tokens=row.get("mean_completion_tokens"))
    if summary is None:
        return Comparison(**published)
    lo, hi = summary_ci95(summary) or (None, None)
    accuracy = summary["accuracy"]
    return Comparison(
        **published, entry=summary["entry"], split=summary.get("split"), n_puzzles=summary.get("n_puzzles"),
        samples_per_puzzle=summary.get("samples_per_puzzle"), stand_in=summary.get("stand_in", False),
        measured_accuracy=accuracy, ci95_lo=lo, ci95_hi=hi, difference=accuracy - row["accuracy"],
        published_inside_ci=None if lo is None else lo <= row["accuracy"] <= hi,
        measured_usd_per_puzzle=summary.get("usd_per_puzzle"),
        measured_completion_tokens=summary.get("mean_completion_tokens"),
        grader_mode=summary.get("grader_mode"), summary=summary)


def compare(summaries: Iterable[dict], published: dict[str, dict], split: str | None = None) -> list[Comparison]:
    """Every published row (in the published table's order) with each summary reproducing it.

    A summary reproduces published row p when its `published_key` is p's key and its split is
    `split`, or p's own split when `split` is None. A published row with no such summary comes
    back once, not measured; one with several comes back once per summary, in the given order.
    """
    summaries = list(summaries)
    out = []
    for key, row in published.items():
        wanted = split or published_split(row)
        matches = [s for s in summaries if s.get("published_key") == key and s.get("split") == wanted]
        out += [pair(row, s) for s in matches] or [pair(row, None)]
    return out
