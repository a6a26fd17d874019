"""One (entry, split) evaluation: completeness check, ordering, and the summary record.

A summary is written only for a complete set: every puzzle of the split x every sample index
present exactly once. A partial set raises `IncompleteEvaluation` instead of being reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from deductive.evaluation import bootstrap
from deductive.evaluation.chance import chance_if_parsable, options_if_parsable
from deductive.evaluation.cost import throughput_cost, token_cost
from deductive.grading import grade_details
from deductive.io import read_json_object
from deductive.pricing import HardwarePrice, TokenPrice
from deductive.puzzles.formats import Puzzle

def summary_paths(eval_root: str | Path, split: str | None = None) -> list[Path]:
    """<eval_root>/<entry>/<split>.summary.json (every split when None), sorted by path."""
    return sorted(Path(eval_root).glob(f"*/{split or '*'}.summary.json"))


def read_summary(path: str | Path) -> dict:
    """One evaluation summary (the one reader of the format); ValueError names a bad file."""
    return read_json_object(path)


class IncompleteEvaluation(RuntimeError):
    """Some puzzle x sample records are missing (or foreign); nothing is summarised."""


def complete_records(records: Sequence[dict], puzzles: Sequence[Puzzle], k: int) -> list[dict]:
    """The records ordered by (puzzle order, sample index); raise unless every pair is present.

    A duplicated (puzzle, sample) keeps its first record (a resumed writer never duplicates,
    but a record repeated by hand must not be counted twice). Records of other puzzles or sample
    indices (e.g. an earlier run with more samples) are left out, never mixed in.
    """
    order = {p.id: i for i, p in enumerate(puzzles)}
    chosen: dict[tuple[str, int], dict] = {}
    for record in records:
        pid, idx = record.get("puzzle_id"), record.get("sample_index")
        if pid not in order or not isinstance(idx, int) or not 0 <= idx < k:
            continue
        chosen.setdefault((pid, idx), record)
    missing = [(p.id, i) for p in puzzles for i in range(k) if (p.id, i) not in chosen]
    if missing:
        first = ", ".join(f"{pid}#{i}" for pid, i in missing[:3])
        raise IncompleteEvaluation(f"{len(missing)} of {len(puzzles) * k} puzzle x sample records are "
                                   f"missing (first: {first}); rerun to resume")
    return sorted(chosen.values(), key=lambda r: (order[r["puzzle_id"]], r["sample_index"]))


def rewards_by_puzzle(records: Sequence[dict], puzzles: Sequence[Puzzle]) -> list[list[float]]:
    by_id: dict[str, list[float]] = {p.id: [] for p in puzzles}
    for record in records:
        by_id[record["puzzle_id"]].append(float(record["reward"]))
    return [by_id[p.id] for p in puzzles]


def summarize(*, entry: str, kind: str, model: str, split: str, puzzles: Sequence[Puzzle],
              records: Sequence[dict], samples_per_puzzle: int, token_price: TokenPrice,
              bootstrap_seed: int, replicates: int, confidence: float, sampling: dict,
              grader_mode: str, provenance: dict, throughput: dict | None = None,
              hardware_price: HardwarePrice | None = None, extra: dict | None = None) -> dict:
    """The summary record of interface 7 for a complete set of graded records.

    `throughput`, for self-hosted entries: {"sampling_seconds", "device_count", "completions",
    "device"}; priced with `hardware_price`.
    """
    ordered = complete_records(records, puzzles, samples_per_puzzle)
    rewards = rewards_by_puzzle(ordered, puzzles)
    lo, hi = bootstrap.clustered_bootstrap_ci(rewards, seed=bootstrap_seed, replicates=replicates,
                                              confidence=confidence)
    cost = token_cost(ordered, token_price)
    basis = (f"tokens: own mean prompt/completion tokens x '{token_price.key}' "
             f"(${token_price.usd_per_m_input}/M in, ${token_price.usd_per_m_output}/M out, "
             f"{token_price.kind}, {token_price.date})")
    answers = answer_format(ordered, puzzles, grader_mode)
    summary = {
        "entry": entry,
        "kind": kind,
        "model": model,
        "split": split,
        "n_puzzles": len(puzzles),
        "samples_per_puzzle": samples_per_puzzle,
        "accuracy": bootstrap.accuracy(rewards),
        "solved_share": bootstrap.solved_share(rewards),
        "ci95": [lo, hi],
        "ci": {"method": "clustered percentile bootstrap over puzzles (samples kept together)",
               "confidence": confidence, "replicates": replicates, "seed": bootstrap_seed},
        # exact expected reward of uniformly random answers from each puzzle's own lists
        "chance_reward": chance_if_parsable(puzzles),
        **answers,
        "mean_prompt_tokens": cost["mean_prompt_tokens"],
        "mean_completion_tokens": cost["mean_completion_tokens"],
        "usd_per_puzzle": cost["usd_per_puzzle"],
        "price_basis": basis,
        "token_price": cost["price"],
        "finish_reasons": _count(ordered, "finish_reason"),
        "sampling": sampling,
        "grader_mode": grader_mode,
        "provenance": provenance,
    }
    if throughput is not None:
        if hardware_price is None:
            raise ValueError("a throughput cost needs a hardware price")
        block = throughput_cost(price=hardware_price, **throughput)
        summary.update(block)
        summary["price_basis"] += (f"; throughput: measured device-seconds per completion x "
                                   f"'{hardware_price.key}' (${hardware_price.usd_per_hour}/h, {hardware_price.date})")
    if extra:
        summary.update(extra)
    return summary


def answer_format(records: Sequence[dict], puzzles: Sequence[Puzzle], grader_mode: str) -> dict:
    """How much of the accuracy is format and how much deduction. A complete answer block answers
    every question with one of the puzzle's listed options (right or wrong, as the grader reads
    it); random picks would score exactly `chance_reward` on such blocks, so
    `accuracy_when_complete` above chance is deduction. Also the mean share of questions
    answered at all. None where a prompt is not readable (synthetic test puzzles)."""
    by_id = {p.id: p for p in puzzles}
    options = {p.id: options_if_parsable(p) for p in puzzles}
    details = [grade_details(r.get("text") or "", by_id[r["puzzle_id"]].solution, grader_mode,
                             options=options[r["puzzle_id"]]) for r in records]
    answered = [d.answered_share for d in details]
    out = {"answered_share": sum(answered) / len(answered) if answered else None,
           "complete_answer_share": None, "accuracy_when_complete": None}
    if records and all(options[r["puzzle_id"]] is not None for r in records):
        complete = [d.listed_share() >= 1.0 for d in details]
        rewards = [float(r["reward"]) for r, c in zip(records, complete) if c]
        out["complete_answer_share"] = sum(complete) / len(complete)
        out["accuracy_when_complete"] = sum(rewards) / len(rewards) if rewards else None
    return out


def _count(records: Sequence[dict], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        value = str(record.get(key))
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
