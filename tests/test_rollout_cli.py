"""scripts/sample.py: user mistakes give one `error:` line and exit status 2 (no engine start)."""

import subprocess
import sys

from conftest import PUBLISHED_VAL, ROOT


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "sample.py"), *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_cli_errors(tmp_path):
    cases = [
        (["--model", str(tmp_path / "none"), "--puzzles", str(PUBLISHED_VAL)], "not a model directory"),
        (["--model", str(tmp_path), "--puzzles", str(tmp_path / "missing.jsonl")], "no such puzzle file"),
        (["--model", str(tmp_path), "--puzzles", str(PUBLISHED_VAL), "--config", "nope"], "no config 'nope'"),
    ]
    for args, message in cases:
        proc = run(*args, "--samples", "1", "--out", str(tmp_path / "o.jsonl"))
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and message in proc.stderr
        assert "Traceback" not in proc.stderr
