"""Loading, coercing and validating the pinned configuration of a profile.

`resolve_config(raw, source)` is the one place a config is checked: string scalars that a
nested `snakemake --config` hands over (YAML BaseLoader) are coerced to the schema's types where
they parse cleanly, the schema is checked (`workflow/schemas/config.schema.yaml`), and then the
cross references a schema cannot express (model names, splits, price keys, the selection split
never being the test split). Every mistake is reported as one `ConfigError` naming the key.
The Snakefile resolves the config once and hands each job the resolved values it uses
(deductive.jobs); `load_config(path)` does the same for a script run by hand.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
from pathlib import Path
from typing import Any

import yaml

from deductive.pricing import PricingError, load_prices

REPO_ROOT = Path(__file__).resolve().parents[2]  # the one definition; other modules import it from here
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"
# the price table the config's price keys are checked against when the DAG is built; the jobs
# that read prices get the file as an input of their rule (deductive.pricing.load_prices(path))
PRICING_PATH = REPO_ROOT / "workflow" / "pricing.yaml"
CONFIG_DIR = REPO_ROOT / "workflow" / "config"
PROFILES_DIR = REPO_ROOT / "workflow" / "profiles"
# named entries an overlay may remove by setting them to null (`models: {qwen2.5-32b-instruct: null}`)
REMOVABLE = (("models",), ("training", "runs"), ("evaluation", "api"))
PUBLISHED_SPLIT = "published_val"
HELD_OUT_SPLIT = "test"
JOB_MARKER = "resolved_job"  # key of a per-job resolved config written by the workflow


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


def _explain(error, schema: dict, source: str) -> str:  # a jsonschema.ValidationError
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


# ------------------------------------------------------------------------------ coercion

_UNSET = object()


def _parse_scalar(text: str, types: list[str]) -> Any:
    """`text` as the first of `types` it parses to cleanly, else _UNSET."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = _UNSET
    for kind in types:
        if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            try:  # YAML 1.1 reads 1e-6 as a string
                return float(text)
            except ValueError:
                pass
        if kind == "boolean" and isinstance(value, bool):
            return value
        if kind == "null" and value is None:
            return None
        if kind in ("array", "object") and isinstance(value, list if kind == "array" else dict):
            return value
    return _UNSET


def coerce_to_schema(value: Any, schema: dict) -> Any:
    """A copy of `value` with each string scalar the schema wants as another type replaced by
    that type, where the string parses cleanly (`"1"` -> 1, `"true"` -> True, `"null"` -> None).
    Anything else is left alone for the schema check to report."""
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {key: coerce_to_schema(item, props.get(key, extra if isinstance(extra, dict) else {}))
                for key, item in value.items()}
    if isinstance(value, list):
        items = schema.get("items")
        return [coerce_to_schema(item, items) if isinstance(items, dict) else item for item in value]
    if isinstance(value, str):
        types = schema.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        if "enum" in schema and value not in schema["enum"]:
            parsed = _parse_scalar(value, ["integer", "number", "boolean", "null"])
            return parsed if parsed is not _UNSET and parsed in schema["enum"] else value
        if types and "string" not in types:
            parsed = _parse_scalar(value, types)
            if parsed is not _UNSET:
                return coerce_to_schema(parsed, schema) if isinstance(parsed, (dict, list)) else parsed
    return value


def fill_defaults(value: Any, schema: dict) -> Any:
    """Fill the schema's `default`s of absent keys into `value` (in place), descending only into
    named properties: the defaults are written once, in the schema (never into `runs.<run>`,
    whose keys override the section's own)."""
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                fill_defaults(value[key], sub)
    return value


# ------------------------------------------------------------------------------ checks

def validate_config(config: dict, source: str = "config") -> dict:
    """Schema check: raise ConfigError for the first problems found; return the config."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the config must be a mapping, got {type(config).__name__}")
    schema = load_schema()
    import jsonschema  # here, not at import: the GPU check reads the schema's defaults without it

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise ConfigError("\n".join(_explain(e, schema, source) for e in errors[:5]))
    return config


def model_target(config: dict, model_name: str) -> tuple[str, bool]:
    """(the published model a model of the profile is or stands for, whether it is a stand-in);
    the target names its token price and its published row."""
    spec = config["models"][model_name]
    target = spec.get("stands_for") or spec.get("repo_id") or model_name
    return target, spec.get("source") != "hub"


def base_models(config: dict) -> list[str]:
    """Models evaluated as `<name>-base`: every run's model, or every model without runs."""
    runs = (config.get("training") or {}).get("runs") or {}
    return sorted({run["model"] for run in runs.values()}) if runs else sorted(config["models"])


def curriculum_problems(config: dict, run_name: str, merged: dict) -> list[str]:
    """A run's curriculum stages must name training splits (a puzzle split that is neither
    validated on, evaluated on nor filtered) and leave at least one iteration to train_split."""
    stages = merged.get("curriculum") or []
    if not stages:
        return []
    problems = []
    splits = set(config["puzzles"]["splits"])
    reserved = ({merged.get("val_split"), HELD_OUT_SPLIT} | set(config["evaluation"]["splits"])
                | set(config["puzzles"].get("filters") or {}))
    for i, stage in enumerate(stages):
        where = f"training.curriculum[{i}].split (run '{run_name}')"
        if stage["split"] not in splits:
            problems.append(f"{where}: '{stage['split']}' is not a puzzle split (known: {', '.join(sorted(splits))})")
        elif stage["split"] in reserved:
            problems.append(f"{where}: '{stage['split']}' is validated on, evaluated on or filtered; a curriculum "
                            "trains on its own split")
    staged = sum(int(stage["iterations"]) for stage in stages)
    if staged >= int(merged["iterations"]):
        problems.append(f"training.curriculum (run '{run_name}'): its stages take {staged} iterations of the run's "
                        f"{merged['iterations']}; at least one must be left to train_split '{merged['train_split']}'")
    return problems


def cross_reference_problems(config: dict) -> list[str]:
    """Names that must refer to each other, checked when the DAG is built."""
    problems: list[str] = []
    models = set(config["models"])
    training = config.get("training") or {}
    for run_name, run in (training.get("runs") or {}).items():
        if run["model"] not in models:
            problems.append(f"training.runs.{run_name}.model: '{run['model']}' is not a key of models "
                            f"(known: {', '.join(sorted(models))})")
    splits = set(config["puzzles"]["splits"])
    for key in ("train_split", "val_split"):
        value = training.get(key)
        if value is not None and value not in splits:
            problems.append(f"training.{key}: '{value}' is not a puzzle split (known: {', '.join(sorted(splits))})")
    if training.get("val_split") == HELD_OUT_SPLIT:
        problems.append(f"training.val_split: '{HELD_OUT_SPLIT}' is the held-out split reported on; checkpoints "
                        "must be selected on another split (e.g. val)")
    if training.get("train_split") == HELD_OUT_SPLIT:
        problems.append(f"training.train_split: '{HELD_OUT_SPLIT}' is the held-out split reported on")
    from deductive.settings import training_section  # settings imports this module

    for run_name in training.get("runs") or {}:
        merged = training_section(config, run_name)
        problems += curriculum_problems(config, run_name, merged)
        max_model_len = (merged["sampling"].get("engine") or {}).get("max_model_len")
        if max_model_len is not None and int(merged["row_tokens"]) < int(max_model_len):
            problems.append(f"training.row_tokens ({merged['row_tokens']}) of run '{run_name}' must be >= "
                            f"sampling.engine.max_model_len ({max_model_len}) so every prompt + completion "
                            "fits one packing row")

    ev = config["evaluation"]
    val_split = training.get("val_split")
    if training.get("runs") and val_split in ev["splits"] and val_split != HELD_OUT_SPLIT:
        problems.append(f"training.val_split: '{val_split}' is also in evaluation.splits; a checkpoint selected on "
                        "a reported split would inflate its score")
    known_splits = splits | {PUBLISHED_SPLIT}
    for split in ev["splits"]:
        if split not in known_splits:
            problems.append(f"evaluation.splits: '{split}' is not a puzzle split (known: {', '.join(sorted(known_splits))})")
    for split in ev.get("limit_puzzles") or {}:
        if split not in known_splits:
            problems.append(f"evaluation.limit_puzzles.{split}: not a puzzle split")
    try:
        prices = load_prices(PRICING_PATH)
    except PricingError as exc:
        return problems + [str(exc)]
    if ev["device"] not in prices.hardware:
        problems.append(f"evaluation.device: '{ev['device']}' has no price in {prices.path.name} "
                        f"(known: {', '.join(sorted(prices.hardware))})")
    for name, spec in (ev.get("api") or {}).items():
        if spec["price"] not in prices.tokens:
            problems.append(f"evaluation.api.{name}.price: '{spec['price']}' has no price in {prices.path.name} "
                            f"(known: {', '.join(sorted(prices.tokens))})")
        if spec.get("serve") and spec["serve"] not in models:
            problems.append(f"evaluation.api.{name}.serve: '{spec['serve']}' is not a key of models "
                            f"(known: {', '.join(sorted(models))})")
        for split in spec.get("splits") or []:
            if split not in known_splits:
                problems.append(f"evaluation.api.{name}.splits: '{split}' is not a puzzle split")
    for name in base_models(config):
        if name not in models:
            continue
        target, _ = model_target(config, name)
        if target not in prices.tokens:
            problems.append(f"models.{name}: no token price '{target}' in {prices.path.name} "
                            "(its stands_for/repo_id names the price)")
    fig = config.get("figures") or {}
    for key in ("accuracy_split", "comparison_split"):
        if key in fig and fig[key] not in ev["splits"]:
            problems.append(f"figures.{key}: '{fig[key]}' is not one of evaluation.splits "
                            f"({', '.join(ev['splits'])})")
    return problems


def resolve_config(raw: dict, source: str = "config") -> dict:
    """The one check of a whole config: coerce, schema, cross references. Returns a new dict."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping, got {type(raw).__name__}")
    schema = load_schema()
    config = coerce_to_schema(drop_removed_entries(copy.deepcopy(raw)), schema)
    validate_config(config, source)
    fill_defaults(config, schema)
    problems = cross_reference_problems(config)
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
    return config


def drop_removed_entries(config: dict) -> dict:
    """Remove the named entries an overlay set to null (models, training runs, API baselines):
    a profile layered on another (rehearse on paper) leaves out what it does not run."""
    for path in REMOVABLE:
        node = config
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            for name in [k for k, v in node.items() if v is None]:
                del node[name]
    return config


def profile_config_files(profile: str) -> list[Path]:
    """The config files of a profile, in order (later ones override earlier ones): the list its
    Snakemake profile names (workflow/profiles/<profile>/config.yaml, `configfile:`), else
    workflow/config/<profile>.yaml alone; [] for an unknown name."""
    snakemake_profile = PROFILES_DIR / profile / "config.yaml"
    if snakemake_profile.is_file():
        named = (yaml.safe_load(snakemake_profile.read_text(encoding="utf-8")) or {}).get("configfile") or []
        return [REPO_ROOT / f for f in ([named] if isinstance(named, str) else named)]
    single = CONFIG_DIR / f"{profile}.yaml"
    return [single] if single.is_file() else []


def read_config_files(paths: list[Path]) -> dict:
    """The config files merged in order, as Snakemake merges several --configfile (deep_merge)."""
    from deductive.merge import deep_merge

    merged: dict = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                layer = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
        if not isinstance(layer, dict):
            raise ConfigError(f"{path}: a config file must be a mapping")
        if JOB_MARKER in layer:
            return layer
        merged = deep_merge(merged, layer)
    return merged


def load_config(path_or_profile: str | Path) -> dict:
    """Load a config and resolve it: a profile by name (its list of config files, layered:
    `profile_config_files`), a config file by path, or a per-job resolved config written by the
    workflow (already checked when the DAG was built, returned as it is)."""
    path = Path(path_or_profile)
    if path.suffix or path.exists():
        if not path.exists():
            raise ConfigError(f"no config file {path}")
        files = [path]
    else:
        files = profile_config_files(str(path_or_profile))
        if not files:
            known = sorted({p.stem for p in CONFIG_DIR.glob("*.yaml")} | {p.name for p in PROFILES_DIR.iterdir()
                                                                          if (p / "config.yaml").is_file()})
            raise ConfigError(f"no config '{path_or_profile}' (known profiles: {', '.join(known)})")
    config = read_config_files(files)
    if JOB_MARKER in config:
        return config
    return resolve_config(config, " + ".join(str(f.relative_to(REPO_ROOT)) if f.is_relative_to(REPO_ROOT) else str(f)
                                             for f in files))


def derive_seed(master: int, *names: Any) -> int:
    """A 63-bit seed from a master seed and names, independent of PYTHONHASHSEED."""
    text = "/".join([str(master), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1
