"""scripts/regrade.py and scripts/evaluate.py: one-line errors, exit status 2, nothing written."""

import os
import subprocess
import sys

import yaml

from deductive.config import REPO_ROOT, load_config


def _config(tmp_path, profile):
    config = load_config("smoke")
    config["profile"] = profile
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _run(*args):
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src")))


def test_regrade_without_summaries_is_one_error_line(tmp_path):
    profile = "pytest-regrade-empty"
    done = _run("scripts/regrade.py", "--config", str(_config(tmp_path, profile)), "--grader", "compat",
                "--eval-root", f"results/{profile}/eval", "--out", f"results/{profile}/regrade-compat")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith("error: ")
    assert "no evaluation summaries" in done.stderr
    assert not (REPO_ROOT / "results" / profile).exists()


def test_regrade_refuses_to_write_over_the_evaluation(tmp_path):
    profile = "pytest-regrade-protect"
    out = REPO_ROOT / "results" / profile
    done = _run("scripts/regrade.py", "--config", str(_config(tmp_path, profile)), "--grader", "compat",
                "--eval-root", str(out / "eval"), "--out", str(out))
    assert done.returncode == 2 and "overwrite" in done.stderr and not out.exists()


def test_unknown_entry_lists_the_known_ones(tmp_path):
    done = _run("scripts/evaluate.py", "--config", str(_config(tmp_path, "pytest-eval-unknown")), "--entry", "gpt-9",
                "--out-dir", str(tmp_path / "out"), "--work-dir", str(tmp_path / "work"))
    assert done.returncode == 2 and done.stderr.startswith("error: no evaluation entry 'gpt-9'")
    assert "tiny-qwen2-base" in done.stderr and "o3-mini-medium" in done.stderr
