"""Reading puzzle files of either format into one record type.

Two formats exist:
- this project's JSON Lines (`generate_puzzles.py`): one object a line with at least `id`,
  `prompt`, `solution`, `shape`, `num_clues`;
- the original's JSON array (`data/temporal-clue/val.json`): objects with `num_clues`,
  `prompt`, `solution` and no id; ids are made from the file's stem and the position.
The format is detected from the content, not the file name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deductive.io import iter_jsonl


@dataclass(frozen=True)
class Puzzle:
    id: str
    prompt: str
    solution: dict[str, str]
    num_clues: int | None = None
    shape: dict[str, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def letters(self) -> list[str]:
        return sorted(self.solution)


class PuzzleFileError(ValueError):
    pass


def detect_format(path: str | Path) -> str:
    """'jsonl' or 'json-array', from the first non-blank character of the file."""
    with open(path, "r", encoding="utf-8") as handle:
        while True:
            char = handle.read(1)
            if not char:
                raise PuzzleFileError(f"{path}: empty file, expected puzzles")
            if not char.isspace():
                return "json-array" if char == "[" else "jsonl"


def _check(record: Any, where: str) -> None:
    if not isinstance(record, dict):
        raise PuzzleFileError(f"{where}: expected an object, got {type(record).__name__}")
    for key in ("prompt", "solution"):
        if key not in record:
            raise PuzzleFileError(f"{where}: missing key '{key}'")
    if not isinstance(record["solution"], dict) or not record["solution"]:
        raise PuzzleFileError(f"{where}: 'solution' must be a non-empty object letter -> answer")


def load_puzzles(path: str | Path) -> list[Puzzle]:
    path = Path(path)
    if not path.exists():
        raise PuzzleFileError(f"{path}: no such puzzle file")
    fmt = detect_format(path)
    puzzles: list[Puzzle] = []
    if fmt == "json-array":
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise PuzzleFileError(f"{path}: not valid JSON ({exc})") from None
        for i, record in enumerate(records):
            _check(record, f"{path}[{i}]")
            puzzles.append(Puzzle(
                id=f"{path.stem}-{i:04d}",
                prompt=record["prompt"],
                solution=dict(record["solution"]),
                num_clues=record.get("num_clues"),
                extra={k: v for k, v in record.items() if k not in ("prompt", "solution", "num_clues")},
            ))
        return puzzles
    known = {"id", "prompt", "solution", "num_clues", "shape"}
    for i, record in enumerate(iter_jsonl(path)):
        _check(record, f"{path}:{i + 1}")
        if "id" not in record:
            raise PuzzleFileError(f"{path}:{i + 1}: missing key 'id'")
        puzzles.append(Puzzle(
            id=str(record["id"]),
            prompt=record["prompt"],
            solution=dict(record["solution"]),
            num_clues=record.get("num_clues"),
            shape=record.get("shape"),
            extra={k: v for k, v in record.items() if k not in known},
        ))
    ids = [p.id for p in puzzles]
    if len(set(ids)) != len(ids):
        raise PuzzleFileError(f"{path}: duplicate puzzle ids")
    return puzzles
