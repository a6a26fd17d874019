"""Splits held out by content (deductive.puzzles.run): which split skips which, train drawn
again exactly where it repeated val or test, a filtered split that passes its filter and repeats
no split, byte-identical files, and the stale check that refuses a split generated before."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from deductive.io import iter_jsonl
from deductive.puzzles.content import content_key, keys_of_files
from deductive.puzzles.formats import Puzzle, load_puzzles
from deductive.puzzles.run import (RunArgs, RunError, _meta, _resume, plan_problems, split_args,
                                   split_exclusions, stale_reason, write_puzzles)
from deductive.puzzles.shortcuts import shortcut_free

from conftest import ROOT

# learn-room's shape: few distinct puzzles, so small splits already repeat each other
SECTION = {"splits": {"train": 48, "val": 24, "test": 24}, "players": [1, 6], "shape": [1, 1, 4, 1],
           "max_questions": 1, "main_questions": ["room"]}
SEEDS = {"train": 101, "val": 102, "test": 103, "shortcut_free": 104}


def test_which_split_skips_which():
    section = {"splits": {"train": 1, "val": 1, "test": 1, "hard": 1, "hard2": 1},
               "filters": {"hard": "shortcut_free", "hard2": "shortcut_free"}}
    assert split_exclusions(section, "train") == {
        "train": ("val", "test"), "val": (), "test": (),
        "hard": ("train", "val", "test"), "hard2": ("train", "val", "test", "hard")}
    assert split_exclusions({"splits": {"val": 1, "train": 1, "test": 1}}, "train")["train"] == ("val", "test")
    assert set(split_exclusions(section, None).values()) == {(), ("train", "val", "test"),
                                                            ("train", "val", "test", "hard")}
    assert plan_problems({**section, "filters": {"nope": "shortcut_free"}}) == [
        "puzzles.filters.nope: 'nope' is not a puzzle split (known: train, val, test, hard, hard2)"]
    assert plan_problems(section) == []


def test_a_curriculum_split_is_a_training_split_with_its_own_shape():
    from deductive.settings import training_splits

    section = {**SECTION, "splits": {"train": 8, "val": 4, "test": 4, "easy": 8, "hard": 4},
               "shapes": {"easy": [1, 1, 3, 1]}, "filters": {"hard": "shortcut_free"}}
    assert split_exclusions(section, ("train", "easy")) == {
        "train": ("val", "test"), "easy": ("val", "test"), "val": (), "test": (),
        "hard": ("train", "val", "test", "easy")}
    assert split_args(section, "easy", 7).shape == (1, 1, 3, 1)
    assert split_args(section, "train", 7).shape == (1, 1, 4, 1)
    assert plan_problems({**section, "shapes": {"nope": [1, 1, 3, 1]}}) == [
        "puzzles.shapes.nope: 'nope' is not a puzzle split (known: train, val, test, easy, hard)"]
    config = {"training": {"train_split": "train", "runs": {
        "a": {"model": "m", "curriculum": [{"split": "easy", "iterations": 2}]}, "b": {"model": "m"}}}}
    assert training_splits(config) == ("train", "easy")
    assert training_splits({"training": {"train_split": "train", "runs": {"b": {"model": "m"}}}}) == ("train",)


def _puzzle(record):
    return Puzzle(id=record["id"], prompt=record["prompt"], solution=record["solution"])


def _write(tmp_path, section, split, workers=1):
    args = split_args(section, split, SEEDS[split], "train", tmp_path)
    write_puzzles(tmp_path / f"{split}.jsonl", args, workers=workers, stream=open(os.devnull, "w"))
    return args


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    """val, test, then train held out from them, in a folder of their own."""
    folder = tmp_path_factory.mktemp("splits")
    args = {split: _write(folder, SECTION, split) for split in ("val", "test", "train")}
    return folder, args


def test_train_repeats_no_val_or_test_puzzle_and_only_repeats_were_drawn_again(splits):
    folder, args = splits
    held_out = keys_of_files([folder / "val.jsonl", folder / "test.jsonl"])
    train = list(iter_jsonl(folder / "train.jsonl"))
    assert not {content_key(p) for p in load_puzzles(folder / "train.jsonl")} & held_out
    plain = RunArgs(**{**args["train"].__dict__, "exclude": ()})  # the same split without exclusions
    replaced = [r["index"] for r in train if r.get("attempt")]
    assert replaced, "these settings repeat some val/test puzzle at attempt 0"
    for record in train:
        first = plain.job(record["index"])
        if record["index"] in replaced:  # attempt 0 repeated a held-out puzzle: drawn again
            assert content_key(_puzzle(first)) in held_out
            assert record["attempt"] >= 1 and record["id"] == first["id"] and record["seed"] == first["seed"]
        else:  # every other puzzle is exactly the one generated without exclusions
            assert record == json.loads(json.dumps(first))


def test_the_stale_check_accepts_these_files_and_refuses_a_train_split_made_before(splits, tmp_path):
    folder, args = splits
    for split in ("val", "test", "train"):
        assert stale_reason(folder / f"{split}.jsonl", args[split]) is None
    old = RunArgs(**{**args["train"].__dict__, "exclude": ()})  # how train was made before
    write_puzzles(tmp_path / "train.jsonl", old, workers=1, stream=open(os.devnull, "w"))
    reason = stale_reason(tmp_path / "train.jsonl", args["train"])
    assert reason is not None and "repeat the content of a puzzle of a split it must not repeat" in reason
    assert str(folder / "test.jsonl") in reason or str(folder / "val.jsonl") in reason
    # an excluded split that is missing is generated first; the DAG then regenerates this one
    moved = RunArgs(**{**args["train"].__dict__, "exclude": (str(tmp_path / "gone.jsonl"),)})
    assert stale_reason(folder / "train.jsonl", moved) is None


def test_a_shortcut_free_split_passes_its_filter_and_repeats_no_split(splits):
    folder, _ = splits
    section = {**SECTION, "splits": {**SECTION["splits"], "shortcut_free": 6},
               "filters": {"shortcut_free": "shortcut_free"}}
    args = _write(folder, section, "shortcut_free")
    assert args.filter == "shortcut_free" and len(args.exclude) == 3
    puzzles = load_puzzles(folder / "shortcut_free.jsonl")
    assert len(puzzles) == 6 and all(shortcut_free(p) for p in puzzles)
    others = keys_of_files([folder / f"{s}.jsonl" for s in ("train", "val", "test")])
    assert not {content_key(p) for p in puzzles} & others
    assert stale_reason(folder / "shortcut_free.jsonl", args) is None
    # adding the filtered split changes none of the others
    for split in ("train", "val", "test"):
        assert split_args(section, split, SEEDS[split], "train", folder) == split_args(SECTION, split, SEEDS[split], "train", folder)
    # a file of unfiltered puzzles under the filtered split's name is refused
    unfiltered = RunArgs(**{**args.__dict__, "filter": None, "exclude": ()})
    write_puzzles(folder / "unfiltered.jsonl", unfiltered, workers=1, stream=open(os.devnull, "w"))
    filtered_only = RunArgs(**{**args.__dict__, "exclude": ()})
    assert "do not pass the filter 'shortcut_free'" in stale_reason(folder / "unfiltered.jsonl", filtered_only)


def test_same_config_same_bytes_whatever_workers_and_hash_seed(splits, tmp_path):
    folder, args = splits
    env = dict(os.environ, PYTHONHASHSEED="4242", PYTHONPATH=str(ROOT / "src"))
    out = tmp_path / "train.jsonl"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_puzzles.py"), *args["train"].command_line(),
                    "--workers", "2", "--out", str(out)], env=env, cwd=ROOT, check=True, capture_output=True)
    assert out.read_bytes() == (folder / "train.jsonl").read_bytes()


def test_a_partial_file_made_against_other_excluded_puzzles_is_not_resumed(splits, tmp_path):
    folder, args = splits
    partial, meta = tmp_path / "t.jsonl.partial", tmp_path / "t.jsonl.partial.args.json"
    partial.write_text((folder / "train.jsonl").read_text().split("\n", 1)[0] + "\n")
    keys = args["train"].excluded_keys()
    meta.write_text(json.dumps(_meta(args["train"], keys)))
    assert _resume(partial, meta, args["train"], keys) == 1
    with pytest.raises(RunError, match="other arguments"):
        _resume(partial, meta, args["train"], keys - {next(iter(keys))})
