import copy

import pytest
import yaml

from deductive.config import CONFIG_DIR, ConfigError, derive_seed, load_config, validate_config

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
