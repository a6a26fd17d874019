import json
import os
import signal
import subprocess
import sys

import pytest

from deductive.io import JsonlAppender, atomic_write_text, read_jsonl, write_jsonl


def test_atomic_write_leaves_no_partial_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")

    class Boom(Exception):
        pass

    from deductive.io import atomic_open
    with pytest.raises(Boom):
        with atomic_open(target) as handle:
            handle.write("half of the new content")
            raise Boom
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_appender_cuts_torn_last_line_and_resumes(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"i": 0}) + "\n" + '{"i": 1, "tex')
    assert read_jsonl(path) == [{"i": 0}]
    with JsonlAppender(path) as out:
        out.write({"i": 1})
    assert read_jsonl(path) == [{"i": 0}, {"i": 1}]


def test_appender_survives_sigkill(tmp_path):
    path = tmp_path / "k.jsonl"
    code = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from deductive.io import JsonlAppender\n"
        "out = JsonlAppender(%r)\n"
        "i = 0\n"
        "while True:\n"
        "    out.write({'i': i, 'pad': 'x' * 1000}); i += 1\n"
    ) % (str(__import__("pathlib").Path(__file__).resolve().parents[1] / "src"), str(path))
    proc = subprocess.Popen([sys.executable, "-c", code])
    import time
    deadline = time.time() + 30
    while (not path.exists() or path.stat().st_size < 50_000) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    records = read_jsonl(path)
    assert records and [r["i"] for r in records] == list(range(len(records)))


def test_gzip_jsonl_is_byte_identical(tmp_path):
    records = [{"b": 2, "a": [1, 2]}, {"text": "é"}]
    write_jsonl(tmp_path / "a.jsonl.gz", records)
    write_jsonl(tmp_path / "b.jsonl.gz", records)
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    assert read_jsonl(tmp_path / "a.jsonl.gz") == records


def test_provenance_dirty_flag_ignores_outputs_but_not_code(tmp_path):
    import subprocess

    from deductive.provenance import git_state

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.json").write_text("1")
    (tmp_path / "code.py").write_text("x = 1")
    git("add", "-A")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "results" / "a.json").write_text("2")  # a pipeline rewrote a result
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "code.py").write_text("x = 2")  # the code changed
    assert git_state(tmp_path)["dirty"] is True


def test_provenance_records_input_paths_relative_to_the_working_directory(tmp_path, monkeypatch):
    from deductive.provenance import provenance

    (tmp_path / "results" / "p" / "puzzles").mkdir(parents=True)
    split = tmp_path / "results" / "p" / "puzzles" / "test.jsonl"
    split.write_text("{}\n")
    monkeypatch.chdir(tmp_path)  # the workflow runs in the repository root
    block = provenance(inputs={"puzzles": split.resolve()})
    assert block["inputs"]["puzzles"]["path"] == "results/p/puzzles/test.jsonl"
