"""What every figure module receives, and what it hands back for its caption."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deductive.figures.data import Inputs

DEFAULTS = {
    "smoothing_weight": 0.6,
    "accuracy_split": "test",
    "comparison_split": "published_val",
    "dpi": 150,
}


@dataclass(frozen=True)
class Settings:
    """The `figures` section of a profile's config, with the schema's documented defaults."""

    smoothing_weight: float = DEFAULTS["smoothing_weight"]
    accuracy_split: str = DEFAULTS["accuracy_split"]
    comparison_split: str = DEFAULTS["comparison_split"]
    dpi: int = DEFAULTS["dpi"]

    @classmethod
    def from_config(cls, section: dict | None) -> "Settings":
        section = section or {}
        return cls(**{key: section.get(key, default) for key, default in DEFAULTS.items()})


@dataclass
class Context:
    profile: str
    results: Path  # the results root (results/)
    out_dir: Path  # figures/<profile>/
    settings: Settings

    @property
    def profile_dir(self) -> Path:
        return self.results / self.profile

    def new_inputs(self) -> Inputs:
        return Inputs(root=self.results)


@dataclass
class Rendered:
    """One rendered figure or table: its files, its inputs and the caption's body text."""

    name: str
    title: str
    files: list[Path]
    inputs: Inputs
    description: str
