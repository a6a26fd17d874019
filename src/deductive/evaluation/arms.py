"""Experiment arms against a baseline, from committed results only (no sampling): each arm is a
learning profile that changes one thing of the baseline profile and evaluates on the
byte-identical splits. Per split: base and trained accuracy with their intervals, and the
trained model's difference to the baseline's trained model on the same puzzles with a paired
interval (deductive.evaluation.paired); per arm: what its training run did (iterations, the
checkpoint chosen on val, minutes, completions trained on per iteration).

A profile's results folder holds one base and one trained evaluation per split
(`results/<profile>/eval/<entry>/<split>.{summary.json,samples.jsonl.gz}`, told apart by the
summary's `kind`) and its training run (`results/<profile>/train/<run>/{summary.json,metrics.jsonl}`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deductive.evaluation.paired import paired_difference, rewards_by_puzzle
from deductive.io import read_json_object, read_jsonl


class ArmsError(ValueError):
    """Results missing or not comparable (shown as `error: ...`)."""


@dataclass(frozen=True)
class Evaluation:
    summary: dict
    rewards: dict[str, list[float]]  # puzzle id -> rewards of its samples

    @property
    def puzzles_sha256(self) -> str:
        return self.summary["provenance"]["inputs"]["puzzles"]["sha256"]


@dataclass(frozen=True)
class ProfileResult:
    profile: str
    base: dict[str, Evaluation]  # split -> the base model's evaluation
    trained: dict[str, Evaluation]  # split -> the trained model's
    training: dict  # the training run's summary.json
    metrics: list[dict]  # its metrics.jsonl


def load_profile(results: Path, profile: str, splits: list[str]) -> ProfileResult:
    folder = Path(results) / profile
    if not folder.is_dir():
        raise ArmsError(f"no results for profile '{profile}' ({folder} is missing); run its DAG first")
    base, trained = {}, {}
    for split in splits:
        for summary_path in sorted((folder / "eval").glob(f"*/{split}.summary.json")):
            summary = read_json_object(summary_path, ArmsError)
            kind = summary.get("kind")
            if kind not in ("base", "trained"):
                continue
            found = base if kind == "base" else trained
            if split in found:
                raise ArmsError(f"{folder / 'eval'}: more than one {kind} evaluation of '{split}'")
            samples = read_jsonl(summary_path.with_name(f"{split}.samples.jsonl.gz"))
            found[split] = Evaluation(summary, rewards_by_puzzle(samples))
        for kind, found in (("base", base), ("trained", trained)):
            if split not in found:
                raise ArmsError(f"{folder / 'eval'}: no {kind} evaluation of split '{split}'")
    runs = sorted((folder / "train").glob("*/summary.json"))
    if len(runs) != 1:
        raise ArmsError(f"{folder / 'train'}: expected one training run, found {len(runs)}")
    return ProfileResult(profile, base, trained, read_json_object(runs[0], ArmsError),
                         read_jsonl(runs[0].with_name("metrics.jsonl")))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ci(e: Evaluation) -> str:
    lo, hi = e.summary["ci95"]
    return f"{_pct(e.summary['accuracy'])} [{100 * lo:.1f}, {100 * hi:.1f}]"


def _training_row(p: ProfileResult) -> str:
    m = p.metrics
    minutes = sum(r["seconds"]["total"] for r in m) / 60
    kept = np.mean([r["advantages_kept"] for r in m]) if m else float("nan")
    sampled = np.mean([r["train_samples"] for r in m]) if m else float("nan")
    none_kept = sum(r["advantages_kept"] == 0 for r in m)
    t = p.training
    return (f"| `{p.profile}` | {t['iterations_done']} | {t['best_iteration']} | {_pct(t['best_val_reward'])} | "
            f"{minutes:.1f} | {sampled:.0f} | {kept:.1f} | {none_kept} |")


def comparison_markdown(baseline: ProfileResult, arms: list[ProfileResult], splits: list[str]) -> str:
    """The two tables; refused (ArmsError) where an arm's split is not the baseline's puzzles."""
    for arm in arms:
        for split in splits:
            for kind in ("base", "trained"):
                mine, theirs = getattr(arm, kind)[split], getattr(baseline, kind)[split]
                if mine.puzzles_sha256 != theirs.puzzles_sha256:
                    raise ArmsError(f"'{arm.profile}' evaluated {kind} on other '{split}' puzzles than "
                                    f"'{baseline.profile}' (sha256 {mine.puzzles_sha256[:12]} against "
                                    f"{theirs.puzzles_sha256[:12]}): a paired comparison needs the same puzzles")
    lines = [f"## Accuracy against the baseline `{baseline.profile}`", "",
             "Accuracy is the mean over puzzles of the mean reward of the puzzle's samples, with its 95% clustered "
             "bootstrap interval. The difference is the trained model's accuracy minus the baseline's trained model's "
             "on the same puzzles, with a 95% paired bootstrap interval over puzzles (seed and replicates of the "
             "baseline's trained evaluation); 'better / worse' counts the puzzles where the arm's mean reward is "
             "higher / lower. Each row is one training run: the interval covers the draw of puzzles, not the "
             "training noise of a rerun.", "",
             "| profile | split | puzzles x samples | chance | base | trained | trained - baseline | better / worse |",
             "|---|---|---|---|---|---|---|---|"]
    for split in splits:
        ci = baseline.trained[split].summary["ci"]
        for p in [baseline, *arms]:
            t = p.trained[split]
            if p is baseline:
                diff = "(baseline)"
                counts = ""
            else:
                d = paired_difference(t.rewards, baseline.trained[split].rewards, seed=int(ci["seed"]),
                                      replicates=int(ci["replicates"]), confidence=float(ci["confidence"]))
                diff = f"{100 * d.difference:+.1f} [{100 * d.lo:+.1f}, {100 * d.hi:+.1f}]"
                counts = f"{d.arm_better} / {d.baseline_better}"
            s = t.summary
            lines.append(f"| `{p.profile}` | {split} | {s['n_puzzles']} x {s['samples_per_puzzle']} | "
                         f"{_pct(s['chance_reward'])} | {_ci(p.base[split])} | {_ci(t)} | {diff} | {counts} |")
    lines += ["", "## Training", "",
              "Minutes: the iterations' own measured time (sampling, step, validation, checkpoints), without the "
              "evaluations. Samples: completions sampled per iteration (with dynamic sampling, the refills too); "
              "trained on: completions with a non-zero advantage per iteration; idle: iterations with none.", "",
              "| profile | iterations | chosen (val) | val reward there | minutes | samples / it | trained on / it | idle |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [_training_row(p) for p in [baseline, *arms]]
    return "\n".join(lines) + "\n"
