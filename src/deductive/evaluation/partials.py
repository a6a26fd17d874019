"""Resume an evaluation only from completions of the same model, puzzles and sampling.

An evaluation samples into `<split>.partial.jsonl` under work/ and resumes from it after a kill.
That file outlives the run that wrote it: after retraining, the trained entry's partial file
holds the *previous* checkpoint's completions under the same puzzle ids and sample indices, and
a resume would report them as the new model's. So each partial file has a key file beside it,
`<split>.partial.key.json`, naming what its completions came from: the model's weights (directory
fingerprint), the puzzle file's sha256, the sampling settings and the grader. A partial file whose
key differs, or that has none, is moved aside (never deleted: `<split>.stale-N.partial.jsonl`,
with its timing and key) and sampling starts afresh, with one line saying which keys changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from deductive.io import atomic_write_json
from deductive.training.resume_guard import changed_keys, changes_text


def key_path(partial: Path) -> Path:
    return Path(partial).with_name(Path(partial).name.replace(".partial.jsonl", ".partial.key.json"))


def _stale_slot(partial: Path) -> int:
    n = 1
    while partial.with_name(partial.name.replace(".partial.jsonl", f".stale-{n}.partial.jsonl")).exists():
        n += 1
    return n


def claim(partial: Path, timing: Path, key: dict, label: str) -> str | None:
    """Make `partial` resumable under `key`. Returns None when it is empty or already holds
    completions under this key; otherwise moves the stale partial (with its timing and key files)
    aside, records `key` and returns the line that says so (also printed)."""
    partial, timing, keyfile = Path(partial), Path(timing), key_path(partial)
    key = json.loads(json.dumps(key, sort_keys=True))  # the JSON form, as it will be read back
    saved = json.loads(keyfile.read_text(encoding="utf-8")) if keyfile.is_file() else None
    message = None
    if (partial.exists() or timing.exists()) and saved != key:
        why = ("it records no key (written before keys were recorded)" if saved is None
               else "changed: " + changes_text(changed_keys(saved, key), limit=8))
        n = _stale_slot(partial)
        moved = []
        for path, suffix in ((partial, ".partial.jsonl"), (timing, ".timing.jsonl"), (keyfile, ".partial.key.json")):
            if path.exists():
                target = path.with_name(path.name.replace(suffix, f".stale-{n}{suffix}"))
                path.replace(target)
                moved.append(target.name)
        message = (f"{label}: the completions in {partial} came from another model, puzzle file or sampling "
                   f"({why}); moved aside as {', '.join(moved)}, sampling afresh")
        print(message, flush=True)
    if saved != key:
        partial.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(keyfile, key)
    return message
