"""Checks of a config that a JSON schema cannot express: names that must refer to each other."""

from __future__ import annotations


def check(config: dict, source: str) -> None:
    from deductive.config import ConfigError

    problems: list[str] = []
    models = set(config.get("models", {}))
    for run_name, run in (config.get("training", {}).get("runs") or {}).items():
        model = run.get("model") if isinstance(run, dict) else None
        if model is not None and model not in models:
            problems.append(f"training.runs.{run_name}.model: '{model}' is not a key of models "
                            f"(known: {', '.join(sorted(models))})")
    splits = set(config.get("puzzles", {}).get("splits", {}))
    for split_key in ("select_on", "train_split", "val_split"):
        value = config.get("training", {}).get(split_key)
        if isinstance(value, str) and value not in splits:
            problems.append(f"training.{split_key}: '{value}' is not a puzzle split "
                            f"(known: {', '.join(sorted(splits))})")
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
