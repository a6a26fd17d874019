"""Tables from stored summaries: accuracy (measured rows and published rows, labelled by a
`source` column) and the comparison of reproduced vs published numbers.

Inputs are only files: `<eval_root>/<entry>/<split>.summary.json`, `<split>.skipped.json`
and results/published/published.csv, so tables can be rebuilt without sampling.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from deductive.evaluation.comparison import compare
from deductive.evaluation.summary import read_summary, summary_paths
from deductive.io import atomic_write_text

KIND_ORDER = {"base": 0, "trained": 1, "api": 2}

ACCURACY_COLUMNS = ("source", "entry", "kind", "model", "split", "n_puzzles", "samples_per_puzzle", "accuracy",
                    "ci95_lo", "ci95_hi", "chance_reward", "complete_answer_share", "accuracy_when_complete",
                    "solved_share", "mean_prompt_tokens", "mean_completion_tokens",
                    "usd_per_puzzle", "usd_per_puzzle_throughput", "price_basis", "grader_mode",
                    "published_key", "stand_in", "note")
COMPARISON_COLUMNS = ("entry", "published_key", "split", "n_puzzles", "samples_per_puzzle", "stand_in",
                      "measured_accuracy", "ci95_lo", "ci95_hi", "published_accuracy", "difference",
                      "published_inside_ci", "measured_usd_per_puzzle", "published_usd_per_puzzle",
                      "measured_completion_tokens", "published_completion_tokens", "grader_mode")


def read_eval_dir(eval_root: str | Path) -> tuple[list[dict], list[dict]]:
    """(summaries, skip records) found under eval_root/<entry>/."""
    eval_root = Path(eval_root)
    summaries = [read_summary(path) for path in summary_paths(eval_root)]
    skipped = []
    for path in sorted(eval_root.glob("*/*.skipped.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        # A later successful run supersedes an old skip record of the same (entry, split).
        if not (path.parent / path.name.replace(".skipped.json", ".summary.json")).exists():
            skipped.append(record)
    return summaries, skipped


def _sort_key(summary: dict) -> tuple:
    return (summary["split"], KIND_ORDER.get(summary["kind"], 9), summary["entry"])


def accuracy_rows(summaries: list[dict], skipped: list[dict], published: dict[str, dict],
                  measured_label: str = "measured") -> list[dict]:
    rows = []
    for s in sorted(summaries, key=_sort_key):
        rows.append({
            "source": measured_label, "entry": s["entry"], "kind": s["kind"], "model": s["model"],
            "split": s["split"], "n_puzzles": s["n_puzzles"], "samples_per_puzzle": s["samples_per_puzzle"],
            "accuracy": s["accuracy"], "ci95_lo": s["ci95"][0], "ci95_hi": s["ci95"][1],
            "chance_reward": s.get("chance_reward"), "complete_answer_share": s.get("complete_answer_share"),
            "accuracy_when_complete": s.get("accuracy_when_complete"),
            "solved_share": s["solved_share"], "mean_prompt_tokens": s["mean_prompt_tokens"],
            "mean_completion_tokens": s["mean_completion_tokens"], "usd_per_puzzle": s["usd_per_puzzle"],
            "usd_per_puzzle_throughput": s.get("usd_per_puzzle_throughput"), "price_basis": s["price_basis"],
            "grader_mode": s["grader_mode"], "published_key": s.get("published_key"),
            "stand_in": s.get("stand_in", False), "note": "",
        })
    fallback: dict[str, list[str]] = {}
    for record in skipped:
        if record.get("published_key"):
            fallback.setdefault(record["published_key"], []).append(
                f"stands in for skipped entry '{record['entry']}' on {record['split']} ({record['reason']})")
    for key, p in published.items():
        rows.append({
            "source": "published", "entry": key, "kind": "published", "model": p["label"], "split": p["split"],
            "n_puzzles": p["n_puzzles"], "samples_per_puzzle": p["samples_per_puzzle"], "accuracy": p["accuracy"],
            "ci95_lo": None, "ci95_hi": None, "chance_reward": None, "complete_answer_share": None,
            "accuracy_when_complete": None, "solved_share": None, "mean_prompt_tokens": p["mean_prompt_tokens"],
            "mean_completion_tokens": p["mean_completion_tokens"], "usd_per_puzzle": p["usd_per_puzzle"],
            "usd_per_puzzle_throughput": None,
            "price_basis": f"published ({p['source_date']}); ${p['usd_per_m_input']}/M in, ${p['usd_per_m_output']}/M out",
            "grader_mode": "original", "published_key": key, "stand_in": False,
            "note": "; ".join(fallback.get(key, [])),
        })
    return rows


def comparison_rows(summaries: list[dict], published: dict[str, dict]) -> list[dict]:
    """The measured pairs of deductive.evaluation.comparison.compare (each summary on its
    published row's split), one row of COMPARISON_COLUMNS each, in measured-row order."""
    pairs = sorted((c for c in compare(summaries, published) if c.measured),
                   key=lambda c: _sort_key(c.summary))
    return [{column: getattr(c, column) for column in COMPARISON_COLUMNS} for c in pairs]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def to_csv(rows: list[dict], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def to_markdown(rows: list[dict], columns: tuple[str, ...], title: str, notes: list[str]) -> str:
    lines = [f"# {title}", ""]
    lines += [f"- {n}" for n in notes]
    lines += ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)).replace("|", "/") for c in columns) + " |")
    return "\n".join(lines) + "\n"


def write_tables(eval_root: str | Path, out_dir: str | Path, published: dict[str, dict],
                 measured_label: str = "measured", title_suffix: str = "") -> dict[str, Path]:
    summaries, skipped = read_eval_dir(eval_root)
    out_dir = Path(out_dir)
    acc = accuracy_rows(summaries, skipped, published, measured_label)
    cmp_rows = comparison_rows(summaries, published)
    notes = [
        "source 'measured': run by this project (accuracy = mean over puzzles of the mean reward over "
        "samples; ci95 = clustered bootstrap over puzzles); 'published': taken from the original "
        "publication (results/published/SOURCE.md), never measured here.",
        "usd_per_puzzle: per completion, from the model's own mean token counts and the pinned price "
        "table; usd_per_puzzle_throughput: measured device time x pinned device-hour price (self-hosted).",
        "stand_in = true: a small model standing in for the published one (smoke profile); its "
        "numbers exercise the pipeline and say nothing about the published model.",
    ]
    skipped_lines = [f"skipped: {r['entry']} on {r['split']}: {r['reason']}" for r in skipped]
    paths = {
        "accuracy_csv": out_dir / "accuracy.csv", "accuracy_md": out_dir / "accuracy.md",
        "comparison_csv": out_dir / "comparison.csv", "comparison_md": out_dir / "comparison.md",
    }
    atomic_write_text(paths["accuracy_csv"], to_csv(acc, ACCURACY_COLUMNS))
    atomic_write_text(paths["accuracy_md"], to_markdown(acc, ACCURACY_COLUMNS, f"Accuracy and cost{title_suffix}",
                                                        notes + skipped_lines))
    atomic_write_text(paths["comparison_csv"], to_csv(cmp_rows, COMPARISON_COLUMNS))
    atomic_write_text(paths["comparison_md"], to_markdown(
        cmp_rows, COMPARISON_COLUMNS, f"Reproduced vs published{title_suffix}",
        ["difference = measured - published accuracy on the same puzzles (published_val); "
         "published_inside_ci: the published value lies inside our 95% interval.",
         "The published Qwen 'after GRPO' values were selected on these very puzzles; ours were selected on "
         "the generated val split.", *notes[2:]]))
    return paths
