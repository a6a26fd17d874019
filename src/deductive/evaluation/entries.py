"""What a profile evaluates: entries (base models, trained checkpoints, API baselines) and
splits, read from the `evaluation` section of the pinned config.

- base: the base model of every training run (`training.runs.<run>.model`), or every model of
  the profile when no run is configured; entry name = "<model key>-base".
- trained: every training run's checkpoint selected on val (summary.json `checkpoint_best`);
  entry name = "<run key>-trained".
- api: `evaluation.api.<name>`; an OpenAI-compatible endpoint (any base_url) or Anthropic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deductive.config import REPO_ROOT, ConfigError
from deductive.puzzles.formats import Puzzle, load_puzzles

PUBLISHED_SPLIT = "published_val"


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # base | trained | api
    model: str  # what was evaluated: hub id, stand-in name or API model
    price_key: str  # key of workflow/pricing.yaml tokens
    published_key: str | None  # key of results/published/published.csv to compare with
    splits: tuple[str, ...]
    model_name: str | None = None  # models/<name> (base, trained: the run's base model)
    run: str | None = None  # training run (trained)
    api: dict = field(default_factory=dict)  # provider, model, base_url, api_key_env, params, serve
    stand_in: bool = False  # a small model standing in for the published one (smoke)


def _runs(config: dict) -> dict:
    return (config.get("training") or {}).get("runs") or {}


def _stands_for(config: dict, model_name: str) -> tuple[str, bool]:
    spec = config["models"][model_name]
    target = spec.get("stands_for") or spec.get("repo_id") or model_name
    stand_in = spec.get("source") != "hub"
    return target, stand_in


def list_entries(config: dict) -> dict[str, Entry]:
    ev = config.get("evaluation") or {}
    splits = tuple(ev.get("splits") or ("test", PUBLISHED_SPLIT))
    entries: dict[str, Entry] = {}
    runs = _runs(config)
    base_models = sorted({run["model"] for run in runs.values()}) if runs else sorted(config["models"])

    def add(entry: Entry) -> None:
        if entry.name in entries:
            raise ConfigError(f"evaluation: two entries are named '{entry.name}' (a model, run or API key); rename one")
        entries[entry.name] = entry

    for name in base_models:
        target, stand_in = _stands_for(config, name)
        display = name if stand_in else target
        add(Entry(name=f"{name}-base", kind="base", model=display, price_key=target, published_key=target,
                  splits=splits, model_name=name, stand_in=stand_in))
    for run_name, run in sorted(runs.items()):
        target, stand_in = _stands_for(config, run["model"])
        add(Entry(name=f"{run_name}-trained", kind="trained", model=f"{run['model']}+{run_name}", price_key=target,
                  published_key=f"{target}+grpo", splits=splits, model_name=run["model"], run=run_name,
                  stand_in=stand_in))
    for name, spec in sorted((ev.get("api") or {}).items()):
        add(Entry(name=name, kind="api", model=spec["model"], price_key=spec["price"],
                  published_key=spec.get("published"), splits=tuple(spec.get("splits") or splits),
                  api=dict(spec)))
    return entries


def split_path(config: dict, split: str) -> Path:
    if split == PUBLISHED_SPLIT:
        return REPO_ROOT / (config.get("evaluation") or {}).get("published_val", "data/temporal-clue/val.json")
    return REPO_ROOT / "results" / config["profile"] / "puzzles" / f"{split}.jsonl"


def load_split(config: dict, split: str, path: str | Path | None = None) -> list[Puzzle]:
    """The puzzles of a split, cut to `evaluation.limit_puzzles.<split>` (the first N) if set."""
    puzzles = load_puzzles(path or split_path(config, split))
    limit = ((config.get("evaluation") or {}).get("limit_puzzles") or {}).get(split)
    return puzzles[:limit] if limit else puzzles


def eval_dir(config: dict, entry: str) -> Path:
    return REPO_ROOT / "results" / config["profile"] / "eval" / entry


def work_dir(config: dict, entry: str) -> Path:
    return REPO_ROOT / "work" / config["profile"] / "eval" / entry


def check_evaluation_config(config: dict) -> None:
    """Cross references the schema cannot check: price keys, served models, splits."""
    from deductive.pricing import load_prices

    ev = config["evaluation"]
    prices = load_prices()
    known_splits = set(config["puzzles"]["splits"]) | {PUBLISHED_SPLIT}
    problems = []
    for split in ev["splits"]:
        if split not in known_splits:
            problems.append(f"evaluation.splits: '{split}' is not a puzzle split (known: {', '.join(sorted(known_splits))})")
    if ev["device"] not in prices.hardware:
        problems.append(f"evaluation.device: '{ev['device']}' has no price in {prices.path.name} "
                        f"(known: {', '.join(sorted(prices.hardware))})")
    for name, spec in (ev.get("api") or {}).items():
        if spec["price"] not in prices.tokens:
            problems.append(f"evaluation.api.{name}.price: '{spec['price']}' has no price in {prices.path.name} "
                            f"(known: {', '.join(sorted(prices.tokens))})")
        if spec.get("serve") and spec["serve"] not in config["models"]:
            problems.append(f"evaluation.api.{name}.serve: '{spec['serve']}' is not a key of models")
        for split in spec.get("splits") or []:
            if split not in known_splits:
                problems.append(f"evaluation.api.{name}.splits: '{split}' is not a puzzle split")
    for entry in list_entries(config).values():
        if entry.kind != "api" and entry.price_key not in prices.tokens:
            problems.append(f"model '{entry.model_name}': no token price '{entry.price_key}' in {prices.path.name} "
                            f"(its stands_for/repo_id names the price)")
    if problems:
        raise ConfigError("\n".join(problems))
