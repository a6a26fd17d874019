"""Preflight: stops at once without GPUs, plans API baselines without printing keys."""

import subprocess
import sys
from pathlib import Path

from deductive.config import load_config
from deductive.preflight import check, disk_estimate_gb, gpu_requirement

ROOT = Path(__file__).resolve().parents[1]
H100S = [("NVIDIA H100 80GB HBM3", 79.6)] * 4


def test_paper_without_gpus_exits_2_with_the_reason():
    report = check(load_config("paper"), gpus=[], free_gb=1e6, environ={})
    assert report.fatal and "needs 4 GPUs" in report.fatal[0]
    assert report.will_run == []  # stops before planning anything


def test_preflight_script_on_this_machine(tmp_path):
    smoke = subprocess.run([sys.executable, "scripts/preflight.py", "--profile", "smoke"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert smoke.returncode == 0, smoke.stderr
    assert "preflight: ok" in smoke.stdout
    from deductive.preflight import gpu_inventory

    if not gpu_inventory():  # this CPU machine and CI: the paper profile must refuse at once
        paper = subprocess.run([sys.executable, "scripts/preflight.py", "--profile", "paper"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
        assert paper.returncode == 2
        assert paper.stderr.startswith("error: profile paper needs") and "Traceback" not in paper.stderr


def test_gpu_requirement_reads_the_training_runs():
    need, mem, reasons = gpu_requirement(load_config("paper"))
    assert need == 4 and mem >= 75 and len(reasons) == 2
    assert gpu_requirement(load_config("smoke"))[0] == 0


def test_api_keys_missing_and_present_never_print_values():
    config = load_config("paper")
    missing = check(config, gpus=H100S, free_gb=1e6, environ={})
    assert not missing.fatal
    assert any(s.startswith("o1: skipped, set OPENAI_API_KEY; the figures use the published number")
               for s in missing.skipped)
    present = check(config, gpus=H100S, free_gb=1e6, environ={"OPENAI_API_KEY": "sk-secret-value"})
    text = present.text()
    assert "sk-secret-value" not in text
    assert any(r.startswith("o1: API baseline (OPENAI_API_KEY is set)") for r in present.will_run)
    assert not any(s.startswith("o1:") for s in present.skipped)


def test_too_little_disk_is_fatal():
    config = load_config("paper")
    estimate, parts = disk_estimate_gb(config)
    assert estimate > 100 and parts
    report = check(config, gpus=H100S, free_gb=estimate / 2, environ={})
    assert any("GB free" in f for f in report.fatal)
