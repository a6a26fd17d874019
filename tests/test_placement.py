"""Issue 19, item 4: a run's processes and GPUs from its settings and the node, never a node
shape at which vLLM's engine fails to start (Qwen2.5-14B/32B: 40 heads, 8 KV heads)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deductive.config import load_config
from deductive.settings import training_section
from deductive.training.placement import PlacementError, engine_sizes, place

ROOT = Path(__file__).resolve().parents[1]


def _run(name="qwen2.5-14b", **over):
    cfg = training_section(load_config("paper"), name)
    cfg.update(over)
    return cfg


def test_engine_sizes_of_qwen2_5_14b_and_32b_and_the_small_ones():
    assert engine_sizes(40, 8, 13824)[:4] == engine_sizes(40, 8, 27648)[:4] == [1, 2, 4, 8]
    assert engine_sizes(12, 2, 8960) == [1, 2, 4]  # Qwen2.5-1.5B: 6 splits the heads, not the MLP
    assert 6 in engine_sizes(12, 2) and 5 not in engine_sizes(12, 2)


@pytest.mark.parametrize("gpus, processes", [(2, 2), (3, 2), (4, 4), (5, 4), (6, 4), (7, 4), (8, 8)])
def test_the_largest_count_the_engine_accepts_and_it_says_so(gpus, processes):
    p = place("qwen2.5-14b", _run(), 40, 8, gpus)
    assert p.processes == processes and p.engine_tp == processes and p.gpus == tuple(range(processes))
    assert ("every GPU" in p.reason) == (gpus == processes)
    assert "world_size" in p.line("qwen2.5-14b") or gpus == processes


def test_too_few_gpus_and_impossible_settings_are_refused_with_the_setting():
    with pytest.raises(PlacementError, match="needs at least 4 GPUs"):
        place("qwen2.5-32b", _run("qwen2.5-32b"), 40, 8, 3)
    with pytest.raises(PlacementError, match=r"world_size is 8 and this node has 4"):
        place("qwen2.5-14b", _run(world_size=8), 40, 8, 4)
    with pytest.raises(PlacementError, match=r"tensor parallel over 6 GPUs.*set training.runs.qwen2.5-14b.world_size"):
        place("qwen2.5-14b", _run(world_size=6), 40, 8, 8)
    with pytest.raises(PlacementError, match="tensor_parallel_size 3"):
        place("qwen2.5-14b", _run(sampling={"engine": {"tensor_parallel_size": 3}}), 40, 8, 8)
    with pytest.raises(PlacementError, match="this node has none"):
        place("qwen2.5-14b", _run(), 40, 8, 0)


def test_exactly_what_the_config_says_and_an_engine_on_fewer_gpus():
    assert place("qwen2.5-14b", _run(world_size=2), 40, 8, 8).processes == 2
    six = place("qwen2.5-14b", _run(world_size=6, sampling={"engine": {"tensor_parallel_size": 2}}), 40, 8, 8)
    assert (six.processes, six.engine_tp) == (6, 2)


def test_on_a_cpu_world_size_gloo_processes():
    cfg = _run(gpus_required=0, world_size=2)
    assert place("tiny", cfg, 4, 2, 0).processes == 2 and place("tiny", dict(cfg, world_size=0), 4, 2, 0).processes == 1


def test_the_launcher_asks_the_package(tmp_path):
    """`python -m deductive.training.placement <train.py's arguments>` prints what the launcher reads."""
    (tmp_path / "config.json").write_text(json.dumps({"num_attention_heads": 4, "num_key_value_heads": 2}))
    proc = subprocess.run([sys.executable, "-m", "deductive.training.placement", "--config", "smoke", "--run",
                           "tiny-qwen2", "--model-dir", str(tmp_path), "--train", "x.jsonl"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "-"] and "on the CPU" in proc.stderr
    bad = subprocess.run([sys.executable, "-m", "deductive.training.placement", "--config", "paper", "--run",
                          "qwen2.5-14b", "--model-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    if "none" in bad.stderr:  # this CPU machine and CI
        assert bad.returncode == 2 and bad.stderr.startswith("error: training run qwen2.5-14b needs 2 GPUs")


def test_the_launcher_starts_the_placed_processes_with_their_share_of_the_cores(tmp_path):
    """scripts/launch_torchrun.sh with train.py's own arguments (its `--run` once stopped
    torchrun's parser: an ambiguous abbreviation of `--run-path`): the placed number of
    processes, each with OMP_NUM_THREADS = cores / processes."""
    import os

    (tmp_path / "config.json").write_text(json.dumps({"num_attention_heads": 4, "num_key_value_heads": 2,
                                                      "intermediate_size": 64}))
    config = tmp_path / "run.yaml"
    base = yaml.safe_load((ROOT / "workflow" / "config" / "smoke.yaml").read_text())
    base["training"]["runs"]["tiny-qwen2"]["world_size"] = 2
    config.write_text(yaml.safe_dump(base))
    script = tmp_path / "show.py"
    script.write_text("import os, sys\nprint('RANK', os.environ['RANK'], os.environ['OMP_NUM_THREADS'], sys.argv[1:])\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES")}
    proc = subprocess.run(["bash", "scripts/launch_torchrun.sh", sys.executable, str(script), "--config", str(config),
                           "--run", "tiny-qwen2", "--model-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=dict(env, SLURM_CPUS_ON_NODE="8"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = sorted(line for line in proc.stdout.splitlines() if line.startswith("RANK"))
    assert [line.split()[:3] for line in lines] == [["RANK", "0", "4"], ["RANK", "1", "4"]]
    assert "'--run', 'tiny-qwen2'" in lines[0] and "2 process(es) on the CPU" in proc.stderr
