"""The DAG: `snakemake -n` is clean for every profile on a CPU machine without API keys, the
SLURM profile sets resources only for rules that exist, the config is checked when the DAG is
built, and a user's own config file plus `--config` overrides reach every job."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")  # the test interpreter's environment
PROFILES = sorted(p.name for p in (ROOT / "workflow" / "profiles").iterdir() if (p / "config.yaml").is_file())
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY")


def _env():
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS and not k.endswith("_API_KEY")}
    env["WANDB_MODE"] = "disabled"
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


def _snakemake(*args, timeout=300):
    return subprocess.run([SNAKEMAKE, *args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)


def test_every_profile_is_present():
    assert {"smoke", "paper", "slurm", "learn", "learn-room", "learn-room-2x2"} <= set(PROFILES)


@pytest.mark.parametrize("profile", PROFILES)
def test_dry_run_is_clean_without_keys(profile):
    # --forceall: the whole DAG, whether or not `make smoke` has already run here
    proc = _snakemake("-n", "--forceall", "--profile", f"workflow/profiles/{profile}")
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


def _jobs(dry_run_output: str) -> dict[str, int]:
    """rule -> count from the `Job stats` table of a dry run."""
    table = dry_run_output.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^([a-z_]+)\s+(\d+)$", table, re.M)
            if m.group(1) != "total"}


def _user_config(tmp_path, **edits) -> Path:
    """A config file outside workflow/config with its own profile name: one tiny model, one run,
    a handful of puzzles, the test split only."""
    config = yaml.safe_load((ROOT / "workflow" / "config" / "smoke.yaml").read_text())
    config["profile"] = DAG_PROFILE
    config["puzzles"]["splits"] = {"train": 2, "val": 1, "test": 1}
    config["models"] = {"tiny-qwen2": config["models"]["tiny-qwen2"]}
    config["training"]["runs"] = {"tiny-qwen2": {"model": "tiny-qwen2", "gpus_required": 0}}
    config["training"]["iterations"] = 3
    config["evaluation"]["splits"] = ["test"]
    config["evaluation"]["samples_per_puzzle"] = 3
    config["evaluation"].pop("limit_puzzles")
    config["evaluation"]["api"] = {}
    config["figures"]["comparison_split"] = "test"
    for path, value in edits.items():
        node = config
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    out = tmp_path / "my-experiment.yaml"
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return out


DAG_PROFILE = "pytest-user-config"
OVERRIDES = ["--config", 'training={"iterations": 1}', 'evaluation={"samples_per_puzzle": 1}']


def remove_profile_outputs(profile: str) -> None:
    """Everything a DAG run of `profile` writes inside the repository (models/ aside)."""
    for root in ("results", "checkpoints", "work", "figures"):
        shutil.rmtree(ROOT / root / profile, ignore_errors=True)


@pytest.fixture
def clean_profile_outputs():
    remove_profile_outputs(DAG_PROFILE)
    yield
    remove_profile_outputs(DAG_PROFILE)


@pytest.mark.parametrize("edit, names", [
    ({"training.iterationz": 1}, ["unknown key 'iterationz'", "did you mean 'iterations'"]),
    ({"evaluation.device": "no-such-gpu"}, ["evaluation.device", "no-such-gpu"]),
    ({"training.val_split": "test"}, ["training.val_split", "'test'"]),
    ({"training.row_tokens": 512}, ["training.row_tokens (512)", "sampling.engine.max_model_len"]),
    ({"puzzles.filters": {"hard": "shortcut_free"}}, ["puzzles.filters.hard", "not a puzzle split"]),
])
def test_config_mistakes_are_refused_when_the_dag_is_built(tmp_path, edit, names):
    proc = _snakemake("-n", "--configfile", str(_user_config(tmp_path, **edit)))
    assert proc.returncode != 0
    assert all(name in proc.stdout + proc.stderr for name in names), proc.stderr[-3000:]


@pytest.mark.parametrize("override, reason", [
    ('puzzles={"splits": {"train": 7, "val": 32, "test": 128}}', "it holds 256 puzzles and the config asks for 7"),
    ('puzzles={"shape": [3, 3, 2, 1]}', "its puzzle 0 differs"),
])
def test_a_committed_split_generated_with_other_settings_stops_the_dag(override, reason):
    """results/learn/puzzles/ is committed: a fresh clone has no Snakemake metadata, so without
    this check a changed puzzles setting would train and evaluate on the old files unnoticed."""
    proc = _snakemake("-n", "--profile", "workflow/profiles/learn", "--config", override)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "results/learn/puzzles/train.jsonl was generated with other settings" in out and reason in out, out[-3000:]
    assert "Delete it and results/learn/puzzles/train.stats.json" in out


def test_dry_run_of_a_user_config_with_overrides(tmp_path, clean_profile_outputs):
    proc = _snakemake("-n", "--configfile", str(_user_config(tmp_path)), *OVERRIDES)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _jobs(proc.stdout)
    assert jobs["train"] == 1 and jobs["evaluate_local"] == 2 and "evaluate_api" not in jobs


def test_a_shortcut_free_split_is_generated_last_and_evaluated(tmp_path, clean_profile_outputs):
    """A filtered split: its rule skips every other split's puzzles (their files are its inputs),
    the training split skips val's and test's, and the evaluation reads it like any split."""
    config = _user_config(tmp_path, **{"puzzles.splits": {"train": 2, "val": 1, "test": 1, "shortcut_free": 1},
                                       "puzzles.filters": {"shortcut_free": "shortcut_free"},
                                       "evaluation.splits": ["test", "shortcut_free"]})
    proc = _snakemake("-n", "-p", "--configfile", str(config), *OVERRIDES)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _jobs(proc.stdout)["puzzles"] == 4
    commands = [line for line in proc.stdout.splitlines() if "generate_puzzles.py" in line]
    puzzles = f"results/{DAG_PROFILE}/puzzles"
    train = next(c for c in commands if "--id-prefix train" in c)
    hard = next(c for c in commands if "--id-prefix shortcut_free" in c)
    assert f"--exclude {puzzles}/val.jsonl --exclude {puzzles}/test.jsonl" in train and "--filter" not in train
    assert all(f"--exclude {puzzles}/{s}.jsonl" in hard for s in ("train", "val", "test"))
    assert "--filter shortcut_free" in hard
    assert f"--puzzles shortcut_free={puzzles}/shortcut_free.jsonl" in proc.stdout


@pytest.mark.slow
def test_user_config_and_overrides_reach_every_job_and_an_edit_reruns_its_users(tmp_path, clean_profile_outputs):
    if not (ROOT / "models" / "tiny-qwen2" / "manifest.json").is_file():
        pytest.skip("models/tiny-qwen2 is not prepared (make smoke prepares it)")
    config = _user_config(tmp_path)
    proc = _snakemake("--configfile", str(config), *OVERRIDES, "--cores", "2", timeout=3000)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    results = ROOT / "results" / DAG_PROFILE
    metrics = [json.loads(line) for line in (results / "train" / "tiny-qwen2" / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in metrics] == [1]  # the override, not the file's 3
    assert json.loads((results / "train" / "tiny-qwen2" / "summary.json").read_text())["iterations_done"] == 1
    summary = json.loads((results / "eval" / "tiny-qwen2-trained" / "test.summary.json").read_text())
    assert summary["samples_per_puzzle"] == 1  # the override, not the file's 3

    # nothing left to do; then one sampling value changes: exactly the jobs that sample rerun
    proc = _snakemake("-n", "--configfile", str(config), *OVERRIDES)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]
    config = _user_config(tmp_path, **{"sampling.top_p": 0.9})
    proc = _snakemake("-n", "--configfile", str(config), *OVERRIDES)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _jobs(proc.stdout)
    assert jobs == {"job_config": 3, "train": 1, "evaluate_local": 2, "tables": 1, "figures": 1, "all": 1}, jobs
    # and an evaluation-only value reruns evaluation, not training
    config = _user_config(tmp_path, **{"evaluation.bootstrap": {"replicates": 500, "confidence": 0.9}})
    jobs = _jobs(_snakemake("-n", "--configfile", str(config), *OVERRIDES).stdout)
    assert jobs == {"job_config": 2, "evaluate_local": 2, "tables": 1, "figures": 1, "all": 1}, jobs
