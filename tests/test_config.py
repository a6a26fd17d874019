import copy

import pytest
import yaml

from deductive.config import CONFIG_DIR, ConfigError, derive_seed, load_config, resolve_config, validate_config

PROFILES = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


@pytest.mark.parametrize("profile", PROFILES)
def test_every_pinned_profile_is_valid(profile):
    config = load_config(profile)
    assert config["profile"] == profile


def _smoke():
    return copy.deepcopy(load_config("smoke"))


@pytest.mark.parametrize("path", [(), ("puzzles",), ("logging", "wandb")])
def test_unknown_key_is_rejected_with_its_name(path):
    config = _smoke()
    node = config
    for part in path:
        node = node[part]
    node["sedd"] = 1
    with pytest.raises(ConfigError, match="unknown key 'sedd'"):
        validate_config(config)


def test_mistyped_key_gets_a_suggestion():
    config = _smoke()
    config["puzzles"]["seeds"] = config["puzzles"].pop("seed")
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert "seeds" in str(err.value) and "did you mean 'seed'" in str(err.value)


def test_bad_value_names_the_key():
    config = _smoke()
    config["puzzles"]["splits"]["train"] = -3
    with pytest.raises(ConfigError, match="puzzles.splits.train"):
        validate_config(config)


def test_unknown_profile_lists_known_ones():
    with pytest.raises(ConfigError, match="known profiles"):
        load_config("nonexistent-profile")


def test_invalid_yaml_is_reported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(42, "split", "val") == derive_seed(42, "split", "val")
    assert derive_seed(42, "split", "val") != derive_seed(42, "split", "test")
    # pinned value: a change here silently changes every generated split
    assert derive_seed(42, "split", "val") == int.from_bytes(
        __import__("hashlib").sha256(b"42/split/val").digest()[:8], "big") >> 1


def _raw_smoke():
    return yaml.safe_load((CONFIG_DIR / "smoke.yaml").read_text())


def test_nested_override_strings_are_coerced_to_the_schema_types():
    # `snakemake --config 'training={"iterations": 1}'` parses nested values with YAML's
    # BaseLoader: every scalar arrives as a string.
    raw = _raw_smoke()
    raw["training"]["iterations"] = "1"
    raw["training"]["patience"] = "null"
    raw["training"]["optimizer"]["lr"] = "1e-5"
    raw["sampling"]["early_abort"]["enabled"] = "false"
    raw["training"]["optimizer"]["betas"] = ["0.9", "0.95"]
    config = resolve_config(raw)
    assert config["training"]["iterations"] == 1 and config["training"]["patience"] is None
    assert config["training"]["optimizer"]["lr"] == 1e-5 and config["training"]["optimizer"]["betas"] == [0.9, 0.95]
    assert config["sampling"]["early_abort"]["enabled"] is False
    assert config["profile"] == "smoke"  # strings the schema wants stay strings


def test_a_string_that_does_not_parse_is_still_refused_with_its_key():
    raw = _raw_smoke()
    raw["training"]["iterations"] = "two"
    with pytest.raises(ConfigError, match="training.iterations"):
        resolve_config(raw)


def test_schema_defaults_are_filled_once():
    raw = _raw_smoke()
    del raw["figures"]["dpi"]
    del raw["evaluation"]["published_val"]
    config = resolve_config(raw)
    assert config["figures"]["dpi"] == 150
    assert config["evaluation"]["published_val"] == "data/temporal-clue/val.json"
    assert "dpi" not in raw["figures"]  # the input is not changed


@pytest.mark.parametrize("edit, names", [
    (lambda c: c["evaluation"]["api"]["o3-mini-medium"].update(price="o3-mini-typo"),
     ["evaluation.api.o3-mini-medium.price", "o3-mini-typo"]),
    (lambda c: c["evaluation"].update(device="no-such-device"), ["evaluation.device", "no-such-device"]),
    (lambda c: c["training"].update(val_split="test"), ["training.val_split", "test"]),
    (lambda c: c["training"]["runs"]["tiny-qwen2"].update(model="no-model"), ["training.runs.tiny-qwen2.model"]),
    (lambda c: c["evaluation"].update(splits=["test", "nope"]), ["evaluation.splits", "nope"]),
    (lambda c: c["training"].update(curriculum=[{"split": "easy", "iterations": 1}]),
     ["training.curriculum[0].split (run 'tiny-qwen2')", "'easy' is not a puzzle split"]),
    (lambda c: c["training"].update(curriculum=[{"split": "val", "iterations": 1}]),
     ["training.curriculum[0].split", "'val' is validated on, evaluated on or filtered"]),
    (lambda c: c["training"].update(curriculum=[{"split": "test", "iterations": 1}]),
     ["training.curriculum[0].split", "'test' is validated on"]),
    (lambda c: (c["puzzles"]["splits"].update(easy=8), c["training"].update(
        iterations=2, curriculum=[{"split": "easy", "iterations": 2}])),
     ["training.curriculum (run 'tiny-qwen2')", "take 2 iterations of the run's 2", "train_split 'train'"]),
])
def test_cross_references_are_checked_with_the_key_named(edit, names):
    raw = _raw_smoke()
    edit(raw)
    with pytest.raises(ConfigError) as err:
        resolve_config(raw)
    assert all(name in str(err.value) for name in names), str(err.value)


def test_job_configs_hold_only_what_each_job_uses():
    from deductive.jobs import job_configs

    jobs = job_configs(load_config("smoke"))
    assert set(jobs) >= {"model-tiny-qwen2", "train-tiny-qwen2", "eval-tiny-qwen2-base", "eval-tiny-qwen2-trained",
                         "eval-local-vllm", "figures"}
    assert set(jobs["train-tiny-qwen2"]["training"]["runs"]) == {"tiny-qwen2"}
    assert "sampling" not in jobs["eval-o3-mini-medium"]  # an API entry samples with its own params
    assert set(jobs["eval-local-vllm"]["sampling"]) == {"engine"}  # ... and a served one starts an engine
    assert list(jobs["eval-o3-mini-medium"]["evaluation"]["api"]) == ["o3-mini-medium"]
    assert set(jobs["model-tiny-qwen2"]) == {"resolved_job", "profile", "models"}
    # a job's file is a config the scripts load without checking it again
    assert jobs["figures"]["figures"]["dpi"] == 150


@pytest.mark.parametrize("path", [("training", "optimizer", "lr"), ("training", "loss", "epsilon"),
                                  ("training", "optimizer", "betas"), ("sampling", "early_abort", "decay")])
def test_a_config_without_a_required_key_is_refused_naming_it(path):
    """Issue 21: these used to resolve cleanly and fail mid-run with a KeyError."""
    import copy

    from deductive.config import profile_config_files, read_config_files

    raw = copy.deepcopy(read_config_files(profile_config_files("smoke")))
    node = raw
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    with pytest.raises(ConfigError, match=rf"{'.'.join(path[:-1])}: '{path[-1]}' is a required property"):
        resolve_config(raw, "x")


def test_runs_override_parts_of_the_sections_the_base_must_complete():
    import copy

    from deductive.config import profile_config_files, read_config_files

    raw = copy.deepcopy(read_config_files(profile_config_files("smoke")))
    raw["training"]["runs"]["tiny-qwen2"]["optimizer"] = {"lr": 1e-5}
    raw["training"]["runs"]["tiny-qwen2"]["sampling"] = {"engine": {"enforce_eager": False}, "early_abort": {"threshold": -2}}
    config = resolve_config(raw, "x")
    assert config["training"]["runs"]["tiny-qwen2"]["sampling"]["engine"] == {"enforce_eager": False}
