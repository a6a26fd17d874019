"""Per-iteration metrics of a training run: the local JSON Lines file is the source of truth.

`iteration_record` turns one iteration's samples, packing, optimiser statistics, evaluation and
phase timings into one flat record; `MetricsFile` keeps results/<profile>/train/<run>/
metrics.jsonl equal to the records of the complete iterations (rewritten atomically each time,
reconciled with the checkpoint on resume). W&B mirrors the records when `logging.wandb.mode`
(or WANDB_MODE) is offline/online; it is never needed and never asks for an account.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from deductive.io import read_jsonl, write_jsonl


def reward_stats(samples: list[dict], prefix: str) -> dict:
    rewards = np.array([float(s["reward"]) for s in samples], dtype=np.float64)
    completion = np.array([len(s.get("completion_token_ids") or []) or s.get("completion_tokens") or 0
                           for s in samples], dtype=np.float64)
    if rewards.size == 0:
        return {f"{prefix}_reward_mean": None, f"{prefix}_reward_std": None,
                f"{prefix}_accuracy": None, f"{prefix}_samples": 0}
    return {
        f"{prefix}_reward_mean": float(rewards.mean()),
        f"{prefix}_reward_std": float(rewards.std()),
        f"{prefix}_accuracy": float((rewards >= 1.0).mean()),  # share of samples fully solved
        f"{prefix}_samples": int(rewards.size),
        f"{prefix}_completion_tokens_mean": float(completion.mean()),
        f"{prefix}_truncated_share": float(np.mean([s.get("finish_reason") != "stop" for s in samples])),
        f"{prefix}_complete_answer_share": complete_answer_share(samples),
    }


def complete_answer_share(samples: list[dict]) -> float | None:
    """Share of completions with a complete answer block: every question answered with one of
    the puzzle's listed options, right or wrong (the sampler's `listed` field); None when the
    records do not carry it."""
    answered = [s.get("listed") for s in samples]
    if not answered or any(a is None for a in answered):
        return None
    return float(np.mean([a >= 1.0 for a in answered]))


def entropy_estimate(samples: list[dict]) -> float | None:
    """Mean negative sampled-token log-prob: a Monte Carlo estimate of the policy's entropy."""
    values = [-x for s in samples for x in (s.get("logprobs") or []) if x is not None and np.isfinite(x)]
    return float(np.mean(values)) if values else None


def iteration_record(iteration: int, *, samples: list[dict], kept: int, packing: dict,
                     step: dict, val_samples: list[dict], seconds: dict, lr: float) -> dict:
    record = {"iteration": iteration, "learning_rate": lr}
    record.update(reward_stats(samples, "train"))
    record["entropy_estimate"] = entropy_estimate(samples)
    record["advantages_kept"] = kept
    record["advantages_kept_share"] = kept / len(samples) if samples else 0.0
    record.update(packing)
    record.update(step)
    val = reward_stats(val_samples, "val")
    record["val_reward"] = val.pop("val_reward_mean")
    record.update(val)
    phases = dict(seconds)
    phases["overhead"] = phases["total"] - phases.get("sample", 0.0) - phases.get("train", 0.0) \
        - phases.get("eval", 0.0)
    record["seconds"] = {k: round(v, 4) for k, v in phases.items()}
    tokens = step.get("tokens_trained") or 0
    record["train_tokens_per_second"] = tokens / phases["train"] if phases.get("train") else None
    return record


class MetricsFile:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: list[dict] = []

    def reconcile(self, history: list[dict], last_iteration: int) -> None:
        """Keep the file's records of complete iterations; fill gaps from the checkpoint."""
        on_disk = {r["iteration"]: r for r in read_jsonl(self.path)} if self.path.exists() else {}
        merged = {r["iteration"]: r for r in history}
        for it, record in on_disk.items():
            if it <= last_iteration:
                merged[it] = record  # the file's copy also has the checkpoint time
        self.records = [merged[i] for i in sorted(merged) if i <= last_iteration]
        self.write()

    def append(self, record: dict) -> None:
        self.records = [r for r in self.records if r["iteration"] < record["iteration"]] + [record]
        self.write()

    def write(self) -> None:
        write_jsonl(self.path, self.records)


class Wandb:
    """Optional mirror to Weights & Biases; off unless the mode (or WANDB_MODE) says otherwise."""

    def __init__(self, cfg: dict, run: str, config: dict, enabled: bool = True):
        mode = os.environ.get("WANDB_MODE") or cfg["mode"]  # cfg: the resolved logging.wandb section
        self.run = None
        if not enabled or mode == "disabled":
            return
        import wandb

        self.run = wandb.init(project=cfg["project"], name=run, mode=mode,
                              config=config, resume="allow", id=run.replace("/", "-"))

    def log(self, record: dict) -> None:
        if self.run is not None:
            flat = {k: v for k, v in record.items() if isinstance(v, (int, float)) and v is not None}
            flat.update({f"seconds/{k}": v for k, v in record.get("seconds", {}).items()})
            self.run.log(flat, step=record["iteration"])

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
