"""Regrade stored completions without sampling: recompute every reward with another grader
mode (e.g. `compat`, the original's scoring) or a changed grader, and rebuild summaries and
tables in a separate output folder. Each regraded summary counts the samples whose reward
changed (`samples_changed_by_regrade`), and `<split>.regrade-changes.jsonl` beside it lists them
with both rewards. The results under results/<profile>/eval/ are never touched.
"""

from __future__ import annotations

import json
from pathlib import Path

from deductive.config import REPO_ROOT
from deductive.evaluation.published import load_published
from deductive.evaluation.summary import summarize
from deductive.evaluation.tables import write_tables
from deductive.evaluation.chance import options_if_parsable
from deductive.io import atomic_write_json, read_jsonl, write_jsonl
from deductive.pricing import HardwarePrice, TokenPrice
from deductive.provenance import provenance, repo_relative
from deductive.io import file_sha256
from deductive.puzzles.formats import load_puzzles


class RegradeError(RuntimeError):
    pass


def regrade_summary(config: dict, summary_path: Path, mode: str, out_eval: Path) -> Path:
    from deductive.grading import grade

    old = json.loads(summary_path.read_text(encoding="utf-8"))
    samples_path = summary_path.with_name(summary_path.name.replace(".summary.json", ".samples.jsonl.gz"))
    if not samples_path.is_file():
        raise RegradeError(f"{samples_path}: completions missing; cannot regrade without sampling")
    split_info = old["provenance"]["split"]
    split_file = Path(split_info["path"])
    if not split_file.is_absolute() and not split_file.is_file():  # recorded relative to the repository
        split_file = REPO_ROOT / split_file
    if not split_file.is_file() or file_sha256(split_file) != split_info["sha256"]:
        raise RegradeError(f"{split_info['path']}: missing or changed since {summary_path.name} was made "
                           f"(sha256 differs); regrade needs the same puzzles")
    puzzles = load_puzzles(split_file)[: split_info["n_puzzles"]]
    by_id = {p.id: p for p in puzzles}
    options = {p.id: options_if_parsable(p) for p in puzzles}
    records, changes = [], []
    for record in read_jsonl(samples_path):
        pid = record["puzzle_id"]
        reward = float(grade(record["text"], by_id[pid].solution, mode=mode, options=options[pid]))
        records.append({**record, "reward": reward, "grader_mode": mode})
        if reward != float(record["reward"]):
            changes.append({"puzzle_id": pid, "sample_index": record["sample_index"],
                            "reward_before": float(record["reward"]), "reward_after": reward,
                            "text": record["text"]})
    throughput = hardware = None
    if old.get("throughput"):
        t = old["throughput"]
        throughput = {k: t[k] for k in ("sampling_seconds", "device_count", "completions", "device")}
        hardware = HardwarePrice(**t["price"])
    prov = provenance(profile=config["profile"], config=config,
                      inputs={"samples": samples_path, "puzzles": split_file},
                      regraded_from={"summary": repo_relative(summary_path),
                                     "summary_sha256": file_sha256(summary_path),
                                     "grader_mode_before": old["grader_mode"]},
                      entry=old["entry"], kind=old["kind"], model=old["provenance"].get("model"), split=split_info)
    new = summarize(entry=old["entry"], kind=old["kind"], model=old["model"], split=old["split"], puzzles=puzzles,
                    records=records, samples_per_puzzle=old["samples_per_puzzle"],
                    token_price=TokenPrice(**old["token_price"]), bootstrap_seed=old["ci"]["seed"],
                    replicates=old["ci"]["replicates"], confidence=old["ci"]["confidence"],
                    sampling=old["sampling"], grader_mode=mode, provenance=prov, throughput=throughput,
                    hardware_price=hardware,
                    extra={"published_key": old.get("published_key"), "stand_in": old.get("stand_in", False),
                           "accuracy_before_regrade": old["accuracy"],
                           "samples_changed_by_regrade": len(changes)})
    out = out_eval / old["entry"] / summary_path.name
    atomic_write_json(out, new)
    write_jsonl(out.with_name(out.name.replace(".summary.json", ".regrade-changes.jsonl")), changes)
    return out


def regrade_profile(config: dict, mode: str, eval_root: str | Path, out_root: str | Path,
                    published: str | Path) -> tuple[list[Path], dict]:
    """Regrade every summary under `eval_root` into `out_root`/{eval,tables} (tables beside the
    published numbers of the table `published`); `out_root` may be neither the evaluation folder
    nor the folder holding it."""
    eval_root, out_root = Path(eval_root), Path(out_root)
    protected = eval_root.resolve().parent
    if out_root.resolve() == protected or out_root.resolve() in protected.parents or \
            out_root.resolve() == eval_root.resolve():
        raise RegradeError(f"{out_root}: would overwrite the evaluation results; choose a separate folder")
    summaries = sorted(eval_root.glob("*/*.summary.json"))
    if not summaries:
        raise RegradeError(f"{eval_root}: no evaluation summaries to regrade; run the evaluation first")
    written = [regrade_summary(config, path, mode, out_root / "eval") for path in summaries]
    for skipped in sorted(eval_root.glob("*/*.skipped.json")):  # keep the published fallback labels
        target = out_root / "eval" / skipped.parent.name / skipped.name
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(target, json.loads(skipped.read_text(encoding="utf-8")))
    tables = write_tables(out_root / "eval", out_root / "tables", load_published(published),
                          measured_label=f"measured (regraded: {mode})", title_suffix=f" (regraded with the {mode} grader)")
    return written, tables

