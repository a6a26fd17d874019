"""Loading and validating the pinned configuration of a profile.

`load_config("workflow/config/smoke.yaml")` returns the config as a dict after checking it
against `workflow/schemas/config.schema.yaml`. A mistake is reported as one `ConfigError`
naming the file, the key path and, for an unknown key, the allowed keys and the closest one.
Snakemake validates with the same schema (Snakefile), so scripts and the DAG agree.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"
CONFIG_DIR = REPO_ROOT / "workflow" / "config"


class ConfigError(ValueError):
    """A user-facing configuration mistake; the message says what and where."""


def load_schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _path_text(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _subschema(schema: dict, path) -> dict:
    node = schema
    for part in path:
        props = node.get("properties", {})
        if isinstance(part, str) and part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        elif "items" in node:
            node = node["items"]
        else:
            return {}
    return node


def _explain(error: jsonschema.ValidationError, schema: dict, source: str) -> str:
    where = _path_text(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        node = _subschema(schema, error.absolute_path)
        allowed = sorted(node.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        lines = []
        for key in unknown:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            lines.append(f"{source}: unknown key '{key}' in {where}{hint} (allowed: {', '.join(allowed)})")
        return "\n".join(lines)
    if error.validator == "required":
        return f"{source}: {where}: {error.message}"
    return f"{source}: bad value for '{where}': {error.message}"


def validate_config(config: dict, source: str = "config") -> dict:
    """Raise ConfigError for the first problems found; return the config unchanged when valid."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the config must be a mapping, got {type(config).__name__}")
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise ConfigError("\n".join(_explain(e, schema, source) for e in errors[:5]))
    from deductive import config_checks  # semantic checks beyond the schema (cross references)

    config_checks.check(config, source)
    return config


def load_config(path_or_profile: str | Path) -> dict:
    """Load a config by path, or by profile name (workflow/config/<name>.yaml)."""
    path = Path(path_or_profile)
    if not path.suffix and not path.exists():
        path = CONFIG_DIR / f"{path_or_profile}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
        raise ConfigError(f"no config '{path_or_profile}' (known profiles: {', '.join(known)})")
    try:
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return validate_config(config, str(path))


def derive_seed(master: int, *names: Any) -> int:
    """A 63-bit seed from a master seed and names, independent of PYTHONHASHSEED."""
    import hashlib

    text = "/".join([str(master), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def results_dir(config: dict) -> Path:
    return REPO_ROOT / "results" / config["profile"]
