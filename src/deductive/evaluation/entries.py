"""What a profile evaluates: entries (base models, trained checkpoints, API baselines) and
splits, read from the `evaluation` section of the pinned config.

- base: the base model of every training run (`training.runs.<run>.model`), or every model of
  the profile when no run is configured; entry name = "<model key>-base".
- trained: every training run's checkpoint selected on val (summary.json `checkpoint_best`);
  entry name = "<run key>-trained", or "<run key>-trained-lora" when `training.lora` is set, so
  every table row and figure bar of a LoRA run says so.
- api: `evaluation.api.<name>`; an OpenAI-compatible endpoint (any base_url) or Anthropic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deductive.config import PUBLISHED_SPLIT, ConfigError, base_models, model_target
from deductive.puzzles.formats import Puzzle, load_puzzles


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


def run_lora(config: dict, run: str) -> dict | None:
    """A training run's LoRA settings as the trainer merges them (deductive.settings.
    training_section: the run's own `lora` over `training.lora`), None for full fine-tuning."""
    from deductive.settings import training_section  # settings imports config, as this module does

    return training_section(config, run).get("lora")  # an eval job carries `lora` only when set


def list_entries(config: dict) -> dict[str, Entry]:
    ev = config.get("evaluation") or {}
    splits = tuple(ev.get("splits") or ("test", PUBLISHED_SPLIT))
    entries: dict[str, Entry] = {}
    runs = _runs(config)

    def add(entry: Entry) -> None:
        if entry.name in entries:
            raise ConfigError(f"evaluation: two entries are named '{entry.name}' (a model, run or API key); rename one")
        entries[entry.name] = entry

    for name in base_models(config):
        target, stand_in = model_target(config, name)
        display = name if stand_in else target
        add(Entry(name=f"{name}-base", kind="base", model=display, price_key=target, published_key=target,
                  splits=splits, model_name=name, stand_in=stand_in))
    for run_name, run in sorted(runs.items()):
        lora = run_lora(config, run_name)
        trained, method = ("trained-lora", f" (LoRA rank {lora['rank']})") if lora else ("trained", "")
        target, stand_in = model_target(config, run["model"])
        add(Entry(name=f"{run_name}-{trained}", kind="trained", model=f"{run['model']}+{run_name}{method}", price_key=target,
                  published_key=f"{target}+grpo", splits=splits, model_name=run["model"], run=run_name,
                  stand_in=stand_in))
    for name, spec in sorted((ev.get("api") or {}).items()):
        add(Entry(name=name, kind="api", model=spec["model"], price_key=spec["price"],
                  published_key=spec.get("published"), splits=tuple(spec.get("splits") or splits),
                  api=dict(spec)))
    return entries


def load_split(config: dict, split: str, path: str | Path) -> list[Puzzle]:
    """The puzzles of a split, cut to `evaluation.limit_puzzles.<split>` (the first N) if set."""
    puzzles = load_puzzles(path)
    limit = config["evaluation"]["limit_puzzles"].get(split)
    return puzzles[:limit] if limit else puzzles
