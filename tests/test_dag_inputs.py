"""Every file a job reads is an input of its rule, and the rule passes it: the price table
(evaluation), the published numbers (tables, figures), the folders the figures are drawn from
and into. No reader falls back to a default path of its own."""

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from deductive.config import REPO_ROOT, load_config

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
FIXTURE_RESULTS = REPO_ROOT / "tests" / "fixtures" / "results"
PRICES = "workflow/pricing.yaml"
PUBLISHED = "results/published/published.csv"


def _dry_run_jobs(profile: str) -> list[dict]:
    """The jobs of `snakemake -n -p --forceall`: rule, inputs and shell command of each."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(REPO_ROOT / "src")
    proc = subprocess.run([SNAKEMAKE, "-n", "-p", "--forceall", "--profile", f"workflow/profiles/{profile}"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = []
    for block in re.split(r"^(?=(?:local)?rule \w+:$)", proc.stdout, flags=re.M)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block).group(1)
        inputs = re.search(r"^    input: (.*)$", block, re.M)
        shell = re.search(r"^Shell command: (.*)$", block, re.M)
        jobs.append({"rule": rule, "input": inputs.group(1).split(", ") if inputs else [],
                     "shell": shell.group(1) if shell else ""})
    return jobs


def test_the_rules_pass_the_price_table_the_published_numbers_and_the_figure_folders():
    jobs = _dry_run_jobs("smoke")
    evaluations = [j for j in jobs if j["rule"] in ("evaluate_local", "evaluate_api")]
    assert evaluations
    for job in evaluations:  # a changed price reruns every evaluation
        assert PRICES in job["input"] and f"--prices {PRICES} " in job["shell"], job
    [tables] = [j for j in jobs if j["rule"] == "tables"]
    assert PUBLISHED in tables["input"] and f"--published {PUBLISHED} " in tables["shell"]
    [figures] = [j for j in jobs if j["rule"] == "figures"]
    assert PUBLISHED in figures["input"]
    for arg in ("--config work/smoke/config/figures.json", "--profile-results results/smoke",
                f"--published {PUBLISHED}", "--out-dir figures/smoke"):
        assert arg in figures["shell"], figures["shell"]
    assert "--results " not in figures["shell"] and "--profile " not in figures["shell"]


def test_the_readers_have_no_default_path():
    from deductive.evaluation.published import load_published
    from deductive.figures.data import load_published as figure_published
    from deductive.figures.data import load_published_rows
    from deductive.pricing import load_prices

    for reader in (load_prices, load_published, figure_published, load_published_rows):
        first = next(iter(inspect.signature(reader).parameters.values()))
        assert first.default is inspect.Parameter.empty, reader


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_rules_form_of_make_figures_draws_what_make_figures_draws(tmp_path):
    """One profile with every path given (the figures rule) gives the same bytes as the same
    profile drawn among all of them (`make figures`), captions included."""
    script = str(REPO_ROOT / "scripts" / "make_figures.py")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"))
    every = subprocess.run([sys.executable, script, "--results", str(FIXTURE_RESULTS), "--out", str(tmp_path / "all"),
                            "--profile", "smoke"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert every.returncode == 0, every.stderr
    job = tmp_path / "figures.json"
    job.write_text(json.dumps({"resolved_job": "figures", "profile": "smoke",
                               "figures": load_config("smoke").get("figures") or {}}))
    one = subprocess.run([sys.executable, script, "--config", str(job),
                          "--profile-results", str(FIXTURE_RESULTS / "smoke"),
                          "--published", str(FIXTURE_RESULTS / "published" / "published.csv"),
                          "--out-dir", str(tmp_path / "one")], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert one.returncode == 0, one.stderr
    drawn = _tree(tmp_path / "one")
    assert "cost_accuracy.caption.md" in drawn and drawn == _tree(tmp_path / "all" / "smoke")
    mixed = subprocess.run([sys.executable, script, "--config", str(job), "--results", str(FIXTURE_RESULTS)],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert mixed.returncode == 2 and "--profile-results" in mixed.stderr and "not --results" in mixed.stderr
