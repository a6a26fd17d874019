"""Resume only the run that was started: the settings a checkpoint was trained under.

A checkpoint directory outlives the config that produced it. Resuming from it after an edit to
the learning rate, the sampling temperature or the train split would silently splice two
different experiments into one curve. Every checkpoint (and the base-model evaluation kept beside
them) therefore records the run's *trajectory settings*: everything that changes what the
iterations compute. Settings that only say how long to run, how often to validate or save, or how
memory is managed can change between a run and its resume; any other change refuses the resume
and names the keys.
"""

from __future__ import annotations

from pathlib import Path

from deductive.io import file_sha256

# Top-level keys of the run's training settings that a resume may change: when to stop, how
# often to validate and checkpoint, and memory/placement choices that leave the arithmetic alone.
RESUME_SAFE_KEYS = frozenset({
    "iterations", "patience", "val_every", "checkpoint_every", "sleep_engine_while_training",
    "memory", "device", "num_output_chunks", "gpus_required", "weight_handoff", "collective_timeout_minutes",
    "world_size", "flex_attention", "fixed_step_shapes",
})


def trajectory_settings(cfg: dict, *, seed: int, train_file: Path, val_file: Path,
                        curriculum_files: dict[str, Path] | None = None) -> dict:
    """What a resume must share with the run it continues: the run's settings without the
    resume-safe keys, the derived training seed and the contents (sha256) of both splits and of
    a curriculum's splits (a run without one records no such key)."""
    settings = {
        "training": {k: v for k, v in sorted(cfg.items()) if k not in RESUME_SAFE_KEYS},
        "seed": int(seed),
        "train_file_sha256": file_sha256(Path(train_file)),
        "val_file_sha256": file_sha256(Path(val_file)),
    }
    if curriculum_files:
        settings["curriculum_sha256"] = {split: file_sha256(Path(path)) for split, path in curriculum_files.items()}
    return settings


def changed_keys(saved, current, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two settings trees (added and removed included)."""
    if isinstance(saved, dict) and isinstance(current, dict):
        out: list[str] = []
        for key in sorted(set(saved) | set(current), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in saved or key not in current:
                out.append(name)
            else:
                out.extend(changed_keys(saved[key], current[key], name))
        return out
    return [] if _normalised(saved) == _normalised(current) else [prefix or "(settings)"]


def _normalised(value):
    """JSON round-trips turn tuples into lists: compare them as equal."""
    if isinstance(value, (list, tuple)):
        return [_normalised(v) for v in value]
    return value


def same_settings(saved: dict | None, current: dict) -> bool:
    """Whether recorded settings (None: none recorded) are the current ones."""
    return saved is not None and not changed_keys(saved, current)


def changes_text(changes: list[str], limit: int = 12) -> str:
    """The first `limit` changed keys, comma-separated, and how many more there are."""
    return ", ".join(changes[:limit]) + (f" and {len(changes) - limit} more" if len(changes) > limit else "")


def mismatch_message(checkpoint: Path, ckpt_root: Path, saved: dict | None, current: dict) -> str | None:
    """None when `saved` (from `checkpoint`'s state) matches `current`; else a message that names
    what changed and the two ways forward, neither of which deletes anything for the user."""
    if saved is None:
        keys = "(the checkpoint records no settings: written before they were recorded)"
    else:
        changes = changed_keys(saved, current)
        if not changes:
            return None
        keys = changes_text(changes)
    return (f"{checkpoint} was trained under different settings, so resuming from it would mix "
            f"two experiments; changed: {keys}. Restore the previous settings to resume, or move "
            f"or delete {ckpt_root} to start this run afresh.")
