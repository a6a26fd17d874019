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
                "--out-dir", str(tmp_path / "out"), "--work-dir", str(tmp_path / "work"), "--prices",
                "workflow/pricing.yaml")
    assert done.returncode == 2 and done.stderr.startswith("error: no evaluation entry 'gpt-9'")
    assert "tiny-qwen2-base" in done.stderr and "o3-mini-medium" in done.stderr


def test_regrade_grades_with_the_lists_and_lists_the_changed_samples(tmp_path, monkeypatch):
    """Regrading a committed run hands the grader each puzzle's listed options, counts the
    samples whose reward changed and writes them beside the summary (here a grader that scores
    everything 0 changes every sample that had scored)."""
    import gzip
    import json

    from deductive import grading
    from deductive.evaluation.chance import answer_options
    from deductive.evaluation.regrade import regrade_summary
    from deductive.puzzles.formats import load_puzzles

    profile = "learn-room"
    summary = REPO_ROOT / "results" / profile / "eval" / "smollm2-135m-trained" / "test.summary.json"
    puzzles = {p.id: p for p in load_puzzles(REPO_ROOT / "results" / profile / "puzzles" / "test.jsonl")}
    seen = []

    def zero(completion, solution, mode="fixed", *, options):
        seen.append(options)
        return 0.0

    monkeypatch.setattr(grading, "grade", zero)
    out = regrade_summary(load_config(profile), summary, "fixed", tmp_path / "eval")
    with gzip.open(summary.with_name("test.samples.jsonl.gz"), "rt") as handle:
        records = [json.loads(line) for line in handle]
    assert seen == [answer_options(puzzles[r["puzzle_id"]]) for r in records]
    scored = [r for r in records if r["reward"] != 0.0]
    new = json.loads(out.read_text())
    assert new["accuracy"] == 0.0 and new["samples_changed_by_regrade"] == len(scored) > 0
    changes = [json.loads(line) for line in out.with_name("test.regrade-changes.jsonl").read_text().splitlines()]
    assert len(changes) == len(scored)
    assert {(c["reward_before"], c["reward_after"]) for c in changes} == {(1.0, 0.0)}
