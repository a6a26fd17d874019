"""Typed settings of each stage, built in one place from a resolved config with one merge.

The config is resolved once (deductive.config.resolve_config: schema defaults filled, cross
references checked); the functions here turn the sections a stage uses into frozen dataclasses.
Overrides are merged one way only, `deep_merge` (nested mappings merged key by key, anything
else replaced):

- training: `training` (without `runs`) <- `training.runs.<run>`; its sampling is the shared
  `sampling` <- `training.sampling` <- `training.runs.<run>.sampling`;
- evaluation: its sampling is the shared `sampling` (without `engine`) <- `evaluation.sampling`.

Defaults live in the schema (`default:`), nowhere else.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from deductive.config import ConfigError, fill_defaults, load_schema
from deductive.merge import deep_merge  # noqa: F401 - the one merge, used here and re-exported


# ------------------------------------------------------------------------------ training

def training_section(config: dict, run: str) -> dict:
    """The merged training settings of `run` as a mapping (what TrainingSettings holds)."""
    training = config.get("training") or {}
    runs = training.get("runs") or {}
    if run not in runs:
        raise ConfigError(f"no training run '{run}' in the config (known: {', '.join(sorted(runs)) or 'none'})")
    merged = deep_merge({k: v for k, v in training.items() if k != "runs"}, runs[run])
    merged["sampling"] = deep_merge(config.get("sampling") or {}, merged.get("sampling") or {})
    if isinstance(merged.get("lora"), dict):  # a run's own `lora` gets the schema's defaults too
        fill_defaults(merged["lora"], load_schema()["properties"]["training"]["properties"]["lora"])
    return merged


def with_training_defaults(cfg: dict) -> dict:
    """A partial training mapping (benchmarks, tests) completed with the schema's defaults."""
    return fill_defaults(copy.deepcopy(cfg), load_schema()["properties"]["training"])


# ------------------------------------------------------------------------------ evaluation

def evaluation_sampling(config: dict) -> dict:
    """The shared `sampling` section (its `engine` part dropped) with `evaluation.sampling` over it."""
    base = {k: v for k, v in (config.get("sampling") or {}).items() if k != "engine"}
    return deep_merge(base, (config.get("evaluation") or {}).get("sampling") or {})


@dataclass(frozen=True)
class EvaluationSettings:
    """The `evaluation` section of a resolved config."""

    seed: int
    splits: tuple[str, ...]
    samples_per_puzzle: int
    grader_mode: str
    bootstrap_replicates: int
    bootstrap_confidence: float
    device: str  # hardware price key of the throughput cost
    limit_puzzles: dict[str, int] = field(default_factory=dict)
    sampling: dict[str, Any] = field(default_factory=dict)  # merged, see evaluation_sampling

    @classmethod
    def from_config(cls, config: dict) -> "EvaluationSettings":
        ev = config["evaluation"]
        return cls(seed=ev["seed"], splits=tuple(ev["splits"]),
                   samples_per_puzzle=ev["samples_per_puzzle"], grader_mode=ev["grader_mode"],
                   bootstrap_replicates=ev["bootstrap"]["replicates"],
                   bootstrap_confidence=ev["bootstrap"]["confidence"], device=ev["device"],
                   limit_puzzles=dict(ev.get("limit_puzzles") or {}), sampling=evaluation_sampling(config))

    def limit(self, split: str) -> int | None:
        return self.limit_puzzles.get(split)
