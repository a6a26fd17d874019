"""Issue 21: the typed training settings refuse nothing the schema accepts, and record exactly
the merged mapping they were read from (checkpoints, base evaluations and summaries unchanged)."""

from pathlib import Path

import pytest

from deductive.config import load_config
from deductive.settings import StepSettings, TrainingSettings, training_section, with_training_defaults

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted(p.name for p in (ROOT / "workflow" / "profiles").iterdir() if p.is_dir() and p.name != "slurm")


@pytest.mark.parametrize("profile", PROFILES)
def test_every_run_of_every_profile_reads_and_records_its_merged_mapping(profile):
    config = load_config(profile)
    runs = sorted((config.get("training") or {}).get("runs") or {})
    for run in runs:
        merged = training_section(config, run)
        settings = TrainingSettings.from_config(config, run)
        assert settings.as_dict() == merged, (profile, run)
        assert settings.model == merged["model"] and settings.iterations == merged["iterations"]
        assert settings.optimizer.lr == merged["optimizer"]["lr"]
        assert (settings.lora is None) == (not merged["lora"])
        assert settings.step.loss == settings.loss and settings.step.optimizer == settings.optimizer


def test_the_profiles_have_runs_to_check():
    assert len(PROFILES) >= 5 and "paper" in PROFILES and "smoke" in PROFILES
    assert TrainingSettings.from_config(load_config("paper-lora"), "qwen2.5-14b").lora.rank > 0


def test_the_recorded_mapping_is_a_copy():
    settings = TrainingSettings.from_config(load_config("smoke"), sorted(load_config("smoke")["training"]["runs"])[0])
    recorded = settings.as_dict()
    recorded["optimizer"]["lr"] = -1.0
    assert settings.as_dict()["optimizer"]["lr"] == settings.optimizer.lr != -1.0


def test_a_partial_mapping_with_the_schemas_defaults_is_a_step():
    step = StepSettings.from_mapping(with_training_defaults({
        "rows_per_device_per_step": 2, "loss": {"epsilon": 0.2}, "sampling": {"temperature": 1.0},
        "optimizer": {"lr": 1e-5, "betas": [0.9, 0.99], "weight_decay": 0.1}}))
    assert step.optimizer.eps > 0 and step.loss.kl_coef == 0.0 and step.fixed_step_shapes is None
    with pytest.raises(KeyError):  # no defaults in code: what the schema does not fill is required
        StepSettings.from_mapping(with_training_defaults({"rows_per_device_per_step": 2}))
