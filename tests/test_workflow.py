"""The DAG: `snakemake -n` is clean for every profile on a CPU machine without API keys, and the
SLURM profile sets resources only for rules that exist."""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(ROOT / ".venv" / "bin" / "snakemake")
PROFILES = sorted(p.name for p in (ROOT / "workflow" / "profiles").iterdir() if (p / "config.yaml").is_file())
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY")


def _env():
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS and not k.endswith("_API_KEY")}
    env["WANDB_MODE"] = "disabled"
    return env


def _snakemake(*args, timeout=300):
    return subprocess.run([SNAKEMAKE, *args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)


def test_every_profile_is_present():
    assert {"smoke", "paper", "slurm", "learn"} <= set(PROFILES)


@pytest.mark.parametrize("profile", PROFILES)
def test_dry_run_is_clean_without_keys(profile):
    proc = _snakemake("-n", "--profile", f"workflow/profiles/{profile}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "figures" in proc.stdout + proc.stderr  # the figures rule is part of every DAG


def test_slurm_profile_resources_name_real_rules():
    profile = yaml.safe_load((ROOT / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    proc = _snakemake("--list-rules", "--profile", "workflow/profiles/slurm")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rules = {line.strip() for line in proc.stdout.splitlines() if line.strip()}
    unknown = sorted(set(profile["set-resources"]) - rules)
    assert unknown == [], f"set-resources names rules that do not exist: {unknown} (rules: {sorted(rules)})"
    train = [r for r in profile["set-resources"] if "train" in r]
    assert train and all(profile["set-resources"][r]["nodes"] >= 2 for r in train)
