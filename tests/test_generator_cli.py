"""scripts/generate_puzzles.py: byte-identical output, resume after a kill, clear errors,
and agreement with the independent verifier."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "generate_puzzles.py"


def _run(args, hashseed="0", check=True, **kw):
    env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=check, **kw)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref.jsonl"
    _run(["--count", 10, "--seed", 5, "--players", "1:3", "--workers", 1, "--out", out])
    return out


def test_same_bytes_whatever_hash_seed_and_workers(reference, tmp_path):
    other = tmp_path / "other.jsonl"
    result = _run(["--count", 10, "--seed", 5, "--players", "1:3", "--workers", 2, "--out", other],
                  hashseed="12345")
    assert other.read_bytes() == reference.read_bytes()
    assert "done, 10/10 puzzles" in result.stderr
    assert not Path(str(other) + ".partial").exists()


def test_different_seed_gives_different_puzzles(reference, tmp_path):
    other = tmp_path / "seed6.jsonl"
    _run(["--count", 10, "--seed", 6, "--players", "1:3", "--workers", 1, "--out", other])
    assert other.read_bytes() != reference.read_bytes()


def test_resume_after_kill_gives_the_same_file(tmp_path):
    args = ["--count", 24, "--seed", 8, "--players", "2:4", "--workers", 1]
    whole = tmp_path / "whole.jsonl"
    _run([*args, "--out", whole])
    out = tmp_path / "killed.jsonl"
    partial = Path(str(out) + ".partial")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args), "--out", str(out)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if partial.exists() and partial.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and partial.exists()
    done = partial.read_bytes().count(b"\n")
    assert 3 <= done < 24
    result = _run([*args, "--out", out])
    assert f"{done} resumed" in result.stderr
    assert out.read_bytes() == whole.read_bytes()
    assert not partial.exists()


def test_partial_file_of_another_run_is_refused(tmp_path):
    out = tmp_path / "p.jsonl"
    _run(["--count", 3, "--seed", 1, "--players", "1:2", "--out", out])
    os.replace(out, str(out) + ".partial")
    # a leftover partial without its argument file, or from other arguments
    result = _run(["--count", 3, "--seed", 2, "--players", "1:2", "--out", out], check=False)
    assert result.returncode == 2 and result.stderr.startswith("error: ")


@pytest.mark.parametrize("bad", [
    ["--players", "0:3"], ["--players", "4:2"], ["--players", "1-3"], ["--players", "1:7"],
    ["--shape", "3,3,3"], ["--shape", "11,2,3,2"], ["--shape", "3,9,4,2"], ["--shape", "3,3,18,2"],
    ["--shape", "3,3,1,2"], ["--shape", "3,3,3,13"], ["--count", "0"], ["--workers", "-1"],
])
def test_bad_arguments_give_one_line_errors(bad, tmp_path):
    args = {"--count": "2", "--seed": "1", "--out": str(tmp_path / "x.jsonl")}
    for k, v in zip(bad[::2], bad[1::2]):
        args[k] = v
    flat = [x for kv in args.items() for x in kv]
    if "--players" in bad or "--shape" in bad:
        flat += bad
    result = _run(flat, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert not (tmp_path / "x.jsonl").exists()


def test_the_independent_verifier_agrees(reference):
    verifier = ROOT / "scripts" / "verify_puzzles.py"
    if not verifier.exists():
        pytest.skip("verifier not present")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    result = subprocess.run([sys.executable, str(verifier), str(reference)], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().split("\n")[-1] == "verified 10 of 10 puzzles"


def test_the_workflows_command_line_gives_the_file_its_stale_check_accepts(tmp_path):
    """The `puzzles` rule runs `split_args(...).command_line()` and the DAG checks existing files
    with `stale_reason(..., split_args(...))`: the two must describe the same puzzles, for every
    kind of setting (fixed shape, question limits, no main question)."""
    from deductive.puzzles.run import split_args, stale_reason

    section = {"splits": {"val": 3}, "players": [1, 2], "shape": [3, 3, 3, 1], "max_questions": 1,
               "main_questions": []}
    for main_questions in ([], ["murderer"], None):
        args = split_args({**section, "main_questions": main_questions}, "val", 17)
        out = tmp_path / f"{main_questions}.jsonl"
        _run([*args.command_line(), "--workers", 1, "--out", out])
        assert stale_reason(out, args) is None
        other = split_args({**section, "main_questions": main_questions, "shape": [3, 3, 2, 1]}, "val", 17)
        assert stale_reason(out, other) is not None
    args = split_args({**section, "shape": None}, "val", 17)
    _run([*args.command_line(), "--workers", 1, "--out", tmp_path / "drawn.jsonl"])
    assert stale_reason(tmp_path / "drawn.jsonl", args) is None


def test_the_workflows_command_lines_of_held_out_and_filtered_splits_give_files_the_stale_check_accepts(tmp_path):
    """The same agreement for a training split that skips the held-out splits' puzzles
    (--exclude) and a filtered split (--filter): the rule's command line names the files its
    inputs are, and the stale check regenerates with the same exclusions and filter."""
    from deductive.puzzles.run import split_args, stale_reason

    section = {"splits": {"train": 4, "val": 3, "shortcut_free": 2}, "players": [1, 2], "shape": [2, 2, 4, 1],
               "max_questions": 1, "main_questions": ["room"], "filters": {"shortcut_free": "shortcut_free"}}
    for seed, split in enumerate(("val", "train", "shortcut_free")):
        args = split_args(section, split, seed, "train", tmp_path)
        line = args.command_line()
        assert line.count("--exclude") == {"val": 0, "train": 1, "shortcut_free": 2}[split]
        assert ("--filter" in line) == (split == "shortcut_free")
        _run([*line, "--workers", 1, "--out", tmp_path / f"{split}.jsonl"])
        assert stale_reason(tmp_path / f"{split}.jsonl", args) is None
    unfiltered = split_args({**section, "filters": {}}, "shortcut_free", 2, "train", tmp_path)
    assert stale_reason(tmp_path / "shortcut_free.jsonl", unfiltered) is not None
