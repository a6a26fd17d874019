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
    """What one profile's figures read and write; every path is given (the workflow's rule passes
    them, `make figures` takes them from the results and figures folders)."""

    profile: str  # the name the titles and captions show
    profile_dir: Path  # the profile's results (results/<profile>/): eval/, train/, tables/
    published: Path  # the published numbers (results/published/published.csv)
    out_dir: Path  # where its figures go (figures/<profile>/)
    settings: Settings

    def new_inputs(self) -> Inputs:
        # captions name each file relative to the folder holding the results folder
        return Inputs(root=self.profile_dir.parent)


@dataclass
class Rendered:
    """One rendered figure or table: its files, its inputs and the caption's body text."""

    name: str
    title: str
    files: list[Path]
    inputs: Inputs
    description: str
