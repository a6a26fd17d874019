"""Puzzle statistics: the published val file gives method.md's published numbers, and the
sentence classifier agrees with the generator's own record of clue kinds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from deductive.puzzles.formats import Puzzle, load_puzzles
from deductive.puzzles.generator import generate
from deductive.puzzles.stats import classify, describe, summarize

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED_VAL = ROOT / "data" / "temporal-clue" / "val.json"


def test_published_val_matches_the_published_statistics():
    s = summarize(load_puzzles(PUBLISHED_VAL))
    assert s["puzzles"] == 64
    assert s["clues"]["median"] == 23.5 and s["clues"]["max"] == 100
    assert s["chars"]["median"] == 3408 and s["chars"]["max"] == 10560
    assert s["suspects"]["median"] == 7 and s["weapons"]["median"] == 5
    assert s["rooms"]["median"] == 9 and s["times"]["median"] == 3
    assert s["with_two_or_more_times"] == 53
    assert abs(s["bonus"]["mean"] - 2.7) < 0.05
    kinds = s["clue_kinds"]
    assert "other" not in kinds  # every published clue sentence is recognised
    for kind, share in {"location": 0.13, "spatial": 0.13, "same_room": 0.13, "move": 0.13,
                        "iff": 0.12, "or": 0.11, "together": 0.07, "motive_location": 0.06,
                        "weapon_move": 0.06}.items():
        assert abs(kinds[kind]["share"] - share) < 0.02, kind


def test_classifier_agrees_with_generated_records():
    for i in range(8):
        record = generate(4, i, players=(1, 4))
        clues = record["prompt"].split("\n\nClues:\n")[1].split("\n\n")[0].split("\n")
        assert dict(Counter(classify(c) for c in clues)) == record["clue_kinds"]
        plain = Puzzle(id="x", prompt=record["prompt"], solution=record["solution"])
        d = describe(plain)  # from the prompt text alone
        assert d["clues"] == record["num_clues"]
        for key in ("suspects", "weapons", "rooms", "times", "motives"):
            assert d[key] == record["shape"][key], key
        assert d["main"] == len(record["questions"]["main"])
        assert d["bonus"] == len(record["questions"]["bonus"])


def test_cli_writes_json_and_rejects_missing_file(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = tmp_path / "s.json"
    script = str(ROOT / "scripts" / "puzzle_stats.py")
    done = subprocess.run([sys.executable, script, str(PUBLISHED_VAL), "--json", str(out)],
                          env=env, capture_output=True, text=True, check=True)
    assert "median    23.5" in done.stdout
    data = json.loads(out.read_text())
    assert data["format"] == "json-array" and data["clues"]["median"] == 23.5
    assert "provenance" in data
    bad = subprocess.run([sys.executable, script, str(tmp_path / "none.jsonl")], env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


def test_cli_reports_the_overlap_with_other_splits(tmp_path):
    """--against: how many puzzles repeat another split by content and by pattern (learn-room's
    committed test and val splits: 4 and 101, issue 20's audit), and the split's distinct count."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    puzzles = ROOT / "results" / "learn-room" / "puzzles"
    out = tmp_path / "s.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "puzzle_stats.py"), str(puzzles / "test.jsonl"),
                           "--against", str(puzzles / "val.jsonl"), "--json", str(out)],
                          env=env, capture_output=True, text=True, check=True)
    assert "repeating val: 4 puzzles by content, 101 by pattern (14 patterns shared)" in done.stdout
    assert "distinct: 121 contents, 29 patterns" in done.stdout
    data = json.loads(out.read_text())
    assert data["overlap"]["against"]["val"] == {"exact": 4, "pattern": 101, "patterns_shared": 14}
    assert "against_val" in data["provenance"]["inputs"]
