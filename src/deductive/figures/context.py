"""What every figure module receives, and what it hands back for its caption."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deductive.figures.data import Inputs

from deductive.config import fill_defaults, load_schema


@dataclass(frozen=True)
class Settings:
    """The `figures` section of a profile's config; its defaults are the schema's."""

    smoothing_weight: float
    accuracy_split: str
    comparison_split: str
    dpi: int
    published_reference: bool

    @classmethod
    def from_config(cls, section: dict | None) -> "Settings":
        schema = load_schema()["properties"]["figures"]
        return cls(**fill_defaults(dict(section or {}), schema))


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
