"""Issue 19: the rehearse profile (paper.yaml, then rehearse.yaml) end to end on a CPU, with a
third layer (tests/fixtures/rehearse-cpu.yaml) that swaps the hub model for tiny-qwen2 and the
GPUs for two gloo ranks: the training run goes through scripts/launch_torchrun.sh and the
placement module, rank 0 holds the vLLM CPU engine, and every later stage runs."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_workflow import _env, remove_profile_outputs

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "pytest-rehearse-cpu"
LAYERS = ["workflow/config/paper.yaml", "workflow/config/rehearse.yaml", "tests/fixtures/rehearse-cpu.yaml"]


@pytest.fixture
def clean_outputs():
    model = ROOT / "models" / "tiny-qwen2"
    had_model = model.exists()

    remove_profile_outputs(PROFILE)
    yield
    remove_profile_outputs(PROFILE)
    if not had_model:
        shutil.rmtree(model, ignore_errors=True)


def test_the_layered_profile_is_paper_with_the_overlay():
    from deductive.config import load_config, profile_config_files

    assert [p.name for p in profile_config_files("rehearse")] == ["paper.yaml", "rehearse.yaml"]
    paper, rehearse = load_config("paper"), load_config("rehearse")
    assert rehearse["profile"] == "rehearse" and list(rehearse["models"]) == ["qwen2.5-1.5b-instruct"]
    assert list(rehearse["training"]["runs"]) == ["qwen2.5-1.5b"] and list(rehearse["evaluation"]["api"]) == [
        "served-qwen2.5-1.5b"]
    for key in ("memory", "sleep_engine_while_training", "optimizer", "loss", "num_output_chunks",
                "rows_per_device_per_step", "weight_handoff"):  # the paper's settings, not copies
        assert rehearse["training"][key] == paper["training"][key], key
    assert rehearse["sampling"]["temperature"] == paper["sampling"]["temperature"]
    assert rehearse["training"]["iterations"] == 2


@pytest.mark.slow
@pytest.mark.distributed
def test_rehearse_runs_end_to_end_on_cpu_with_two_gloo_ranks(clean_outputs):
    proc = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--configfile", *LAYERS, "--cores", "2"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    results = ROOT / "results" / PROFILE
    log = (results / "logs" / "train-tiny.log").read_text()
    assert "training run tiny: 2 process(es) on the CPU" in log  # the launcher's placement line
    summary = json.loads((results / "train" / "tiny" / "summary.json").read_text())
    assert summary["iterations_done"] == 2 and summary["provenance"]["world_size"] == 2
    for entry in ("tiny-qwen2-base", "tiny-trained", "served-tiny"):  # base per model, trained per run
        assert (results / "eval" / entry / "test.summary.json").is_file(), entry
    assert any((ROOT / "figures" / PROFILE).glob("*.png"))
