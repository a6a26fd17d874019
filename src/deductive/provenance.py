"""Where a number came from: code version, config, inputs, date and command.

Every results file carries `provenance(...)` so it can be cited: the git commit and whether
the tree had uncommitted changes, the profile and a hash of the resolved config, the hashes of
input files, the UTC date and the command line.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from deductive.config import REPO_ROOT
from deductive.io import dumps_canonical, file_sha256

OUTPUT_DIRS = ("results", "figures", "models", "checkpoints", "work")


def git_state(root: Path = REPO_ROOT) -> dict[str, Any]:
    """{'commit': sha or 'unknown', 'dirty': uncommitted changes outside OUTPUT_DIRS, or None}."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        # Outputs (results, figures, ...) change while a pipeline runs; only code and configs
        # make a result "dirty".
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                 *(f":(exclude){d}" for d in OUTPUT_DIRS)], cwd=root,
                                capture_output=True, text=True, check=True, timeout=10).stdout
        return {"commit": commit, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def repo_relative(path: str | os.PathLike) -> str:
    """`path` as recorded in a results file: relative to the working directory (the workflow
    runs in the repository root) or to the repository, never an absolute path of this machine
    when it lies inside either."""
    resolved = Path(path).resolve()
    for root in (Path.cwd().resolve(), REPO_ROOT.resolve()):
        try:
            return str(resolved.relative_to(root))
        except ValueError:
            continue
    return str(path)


def config_hash(config: dict) -> str:
    return hashlib.sha256(dumps_canonical(config).encode("utf-8")).hexdigest()[:16]


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def provenance(*, profile: str | None = None, config: dict | None = None,
               inputs: dict[str, str | os.PathLike] | None = None, **extra: Any) -> dict[str, Any]:
    """A provenance block; `inputs` maps a role ('puzzles', 'model', ...) to a file to hash."""
    block: dict[str, Any] = {
        "source": "measured by this project",
        "code": git_state(),
        "date": utc_now(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
    }
    if profile is not None:
        block["profile"] = profile
    if config is not None:
        block["config_hash"] = config_hash(config)
    if inputs:
        block["inputs"] = {role: {"path": repo_relative(p), "sha256": file_sha256(p)} for role, p in inputs.items()
                           if Path(p).is_file()}
    block.update(extra)
    return block
