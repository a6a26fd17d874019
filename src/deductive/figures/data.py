"""Reading the results a figure is drawn from, remembering every file read.

Figures only read committed results (pinned interfaces 6 and 7 of the project):
  results/published/published.csv                       numbers taken from the publication
  results/<profile>/eval/<entry>/<split>.summary.json    measured accuracy, CI, cost
  results/<profile>/train/<run>/metrics.jsonl, summary.json   training curves
An `Inputs` object records each file read (path and sha256) and the code commit in its
provenance block, so a caption can name exactly what its figure came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deductive.evaluation import published
from deductive.evaluation import summary as eval_summary
from deductive.evaluation.comparison import published_split, summary_ci95
from deductive.io import file_sha256, read_json_object, read_jsonl

MEASURED = "measured"
PUBLISHED = "published"


class FigureInputError(ValueError):
    """A results file a figure needs is malformed; the message names the file."""


@dataclass(frozen=True)
class Point:
    """One model's result on one split, measured here or taken from the publication."""

    key: str  # evaluation entry, or the published model name
    label: str
    accuracy: float  # mean per-puzzle reward, 0..1
    usd_per_puzzle: float | None
    source: str  # MEASURED or PUBLISHED
    kind: str | None = None  # base | trained | api (None if unknown)
    ci95: tuple[float, float] | None = None
    split: str | None = None
    model: str | None = None
    published_key: str | None = None  # the published row this result reproduces
    stand_in: bool = False  # a small model standing in for the published one (smoke)
    chance: float | None = None  # expected accuracy of uniformly random answers on the same puzzles
    complete_answer_share: float | None = None  # completions answering every question


@dataclass
class Inputs:
    """Files read for one figure: display path -> sha256, and the commits they came from."""

    root: Path  # the results folder; paths are shown relative to its parent
    files: dict[str, str] = field(default_factory=dict)
    commits: set[str] = field(default_factory=set)

    def _name(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve().parent).as_posix()
        except ValueError:
            return path.as_posix()

    def add(self, path: Path, provenance: dict | None = None) -> None:
        self.files[self._name(path)] = file_sha256(path)
        if isinstance(provenance, dict):
            commit = (provenance.get("code") or {}).get("commit")
            if commit:
                dirty = (provenance.get("code") or {}).get("dirty")
                self.commits.add(f"{commit}{' (uncommitted changes)' if dirty else ''}")

    def merge(self, other: "Inputs") -> None:
        self.files.update(other.files)
        self.commits |= other.commits


def _read_json(path: Path) -> dict:
    return read_json_object(path, FigureInputError)


def _float(value, where: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FigureInputError(f"{where}: not a number: {value!r}") from None


# --- published numbers -------------------------------------------------------------------

def published_path(results: Path) -> Path:
    return results / "published" / "published.csv"


def published_kind(row: dict) -> str:
    """base | trained | api for a published row (column `kind` when present).

    Otherwise: a key ending in '+grpo' is a GRPO-trained model, a Hugging Face repo id
    ('org/name') an open-weight base model, anything else an API model.
    """
    if row.get("kind"):
        return row["kind"]
    key = row["key"]
    if key.endswith("+grpo"):
        return "trained"
    return "base" if "/" in key else "api"


def load_published_rows(path: Path, inputs: Inputs) -> dict[str, dict]:
    """key -> row of the published table `path` (read by deductive.evaluation.published, the one
    reader of that file), in file order, each checked; {} if the file is absent."""
    if not path.is_file():
        return {}
    try:
        rows = published.load_published(path)
    except ValueError as exc:
        raise FigureInputError(str(exc)) from None
    inputs.add(path)
    for number, row in enumerate(rows.values(), 2):
        where = f"{path}:{number}"
        for column in ("key", "accuracy"):
            if row.get(column) in (None, ""):
                raise FigureInputError(f"{where}: the row has no '{column}'")
        accuracy = row["accuracy"]
        if not 0.0 <= accuracy <= 1.0:
            raise FigureInputError(f"{where}: accuracy {accuracy} is not a fraction in [0, 1]")
    return rows


def load_published(path: Path, inputs: Inputs) -> list[Point]:
    """The rows of `load_published_rows` as points, in file order; [] if the file is absent."""
    return [Point(key=row["key"], label=row.get("label") or row["key"], accuracy=row["accuracy"],
                  usd_per_puzzle=row["usd_per_puzzle"], source=PUBLISHED, kind=published_kind(row),
                  split=published_split(row), model=row["key"])
            for row in load_published_rows(path, inputs).values()]


# --- measured evaluation summaries ---------------------------------------------------------

def eval_summary_paths(profile_dir: Path, split: str) -> list[Path]:
    """results/<profile>/eval/*/<split>.summary.json, sorted by entry name."""
    return eval_summary.summary_paths(profile_dir / "eval", split)


def load_summaries(profile_dir: Path, split: str, inputs: Inputs) -> list[dict]:
    """The evaluation summaries of `split` (sorted by entry name), each checked and recorded."""
    summaries = []
    for path in eval_summary_paths(profile_dir, split):
        try:
            data = eval_summary.read_summary(path)
        except ValueError as exc:
            raise FigureInputError(str(exc)) from None
        for key in ("entry", "accuracy"):
            if key not in data:
                raise FigureInputError(f"{path}: missing key '{key}'")
        for key in ("usd_per_puzzle", "chance_reward", "complete_answer_share"):
            _float(data.get(key), str(path) if key == "usd_per_puzzle" else f"{path}: {key}")
        inputs.add(path, data.get("provenance"))
        summaries.append(data)
    return summaries


def load_measured(profile_dir: Path, split: str, inputs: Inputs) -> list[Point]:
    return [Point(key=data["entry"], label=data["entry"], accuracy=float(data["accuracy"]),
                  usd_per_puzzle=_float(data.get("usd_per_puzzle"), "usd_per_puzzle"),
                  source=MEASURED, kind=data.get("kind"), ci95=summary_ci95(data),
                  split=data.get("split", split), model=data.get("model"),
                  published_key=data.get("published_key"), stand_in=bool(data.get("stand_in")),
                  chance=_float(data.get("chance_reward"), "chance_reward"),
                  complete_answer_share=_float(data.get("complete_answer_share"), "complete_answer_share"))
            for data in load_summaries(profile_dir, split, inputs)]


# --- training runs -----------------------------------------------------------------------

# The curve's metric: mean per-puzzle reward on the validation split (fraction of questions
# answered correctly), as in the publication's training curves. metrics.jsonl also records
# `val_accuracy`, the share of samples solved completely, which is a different quantity.
VAL_METRIC = "val_reward"
BASE_METRIC = "base_val_reward"  # summary.json: the base model on the same split (iteration 0)


@dataclass(frozen=True)
class Run:
    name: str
    model: str | None
    iterations: list[int]  # 0 is the base model when the summary records it
    values: list[float]  # VAL_METRIC per iteration, 0..1
    base_value: float | None  # the base model's level on the same validation split
    best_iteration: int | None
    metric: str = VAL_METRIC
    chance_value: float | None = None  # uniformly random answers on the same validation split


def training_run_dirs(profile_dir: Path) -> list[Path]:
    return sorted(p.parent for p in (profile_dir / "train").glob("*/metrics.jsonl"))


def load_runs(profile_dir: Path, inputs: Inputs) -> list[Run]:
    """One Run per results/<profile>/train/<run>/: `val_reward` per iteration, the base model first.

    The base model's `base_val_reward` (summary.json) is iteration 0 unless metrics.jsonl
    already holds an iteration-0 record.
    """
    runs = []
    for run_dir in training_run_dirs(profile_dir):
        metrics_path = run_dir / "metrics.jsonl"
        records = [r for r in read_jsonl(metrics_path) if isinstance(r, dict)]
        summary_path = run_dir / "summary.json"
        summary = _read_json(summary_path) if summary_path.is_file() else {}
        by_iteration: dict[int, float] = {}
        for number, record in enumerate(records, 1):
            if record.get(VAL_METRIC) is None or record.get("iteration") is None:
                continue
            where = f"{metrics_path}:{number}"
            try:
                iteration = int(record["iteration"])
            except (TypeError, ValueError):
                raise FigureInputError(f"{where}: iteration is not an integer: {record['iteration']!r}") from None
            by_iteration[iteration] = _float(record[VAL_METRIC], where)
        base = _float(summary.get(BASE_METRIC), f"{summary_path}: {BASE_METRIC}")
        if base is not None:
            by_iteration.setdefault(0, base)
        inputs.add(metrics_path, summary.get("provenance"))
        if summary:
            inputs.add(summary_path, summary.get("provenance"))
        iterations = sorted(by_iteration)
        runs.append(Run(name=summary.get("run", run_dir.name), model=summary.get("model"),
                        iterations=iterations, values=[by_iteration[i] for i in iterations],
                        base_value=base, best_iteration=summary.get("best_iteration"),
                        chance_value=_float(summary.get("val_chance_reward"),
                                            f"{summary_path}: val_chance_reward")))
    return runs


PROFILE_SUBDIRS = ("puzzles", "train", "eval", "tables")  # what a profile's results folder holds


def profiles_present(results: Path) -> list[str]:
    """Profiles with a results folder: folders under results/ holding any of PROFILE_SUBDIRS.

    Other folders (results/published, results/bench with benchmark tables) are not profiles.
    """
    if not results.is_dir():
        return []
    return sorted(p.name for p in results.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and any((p / sub).is_dir() for sub in PROFILE_SUBDIRS))
