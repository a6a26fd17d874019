"""A base model evaluated for real with vLLM on CPU (tiny-qwen2): summary, throughput cost,
provenance, and a rerun that resumes instead of sampling again."""

import copy
import json
import os
import shutil

import pytest

from deductive.config import REPO_ROOT, load_config
from deductive.io import read_jsonl, write_jsonl
from deductive.puzzles.formats import load_puzzles

MODEL = REPO_ROOT / "models" / "tiny-qwen2"


@pytest.fixture(scope="module")
def tiny_qwen2():
    """models/tiny-qwen2 as the rule prepare_model makes it (kept when already there)."""
    from deductive.inference.model_prep import prepare_model

    prepare_model("tiny-qwen2", load_config("smoke")["models"]["tiny-qwen2"], MODEL)
    return MODEL


@pytest.mark.slow
def test_local_base_model_evaluation_and_resume(tiny_qwen2):
    from deductive.evaluation import entries, run

    name = f"pytest-evallocal-{os.getpid()}"
    config = copy.deepcopy(load_config("smoke"))
    config["profile"] = name
    ev = config["evaluation"]
    ev.update(splits=["test"], samples_per_puzzle=2, limit_puzzles={})
    ev["bootstrap"]["replicates"] = 500
    ev["sampling"] = {"max_tokens": 8}
    # the three shortest published puzzles as a small 'test' split (keeps one engine step short)
    shortest = sorted(load_puzzles(REPO_ROOT / "data" / "temporal-clue" / "val.json"), key=lambda p: len(p.prompt))[:3]
    split_file = REPO_ROOT / "results" / name / "puzzles" / "test.jsonl"
    write_jsonl(split_file, [{"id": f"test-{i:05d}", "prompt": p.prompt, "solution": p.solution,
                              "num_clues": p.num_clues} for i, p in enumerate(shortest)])
    try:
        entry = entries.list_entries(config)["tiny-qwen2-base"]
        import eval_fakes

        layout = eval_fakes.layout(config, entry.name)
        [summary_path] = run.evaluate_local(config, entry, layout)
        s = json.loads(summary_path.read_text())
        p = layout.files("test")
        records = read_jsonl(p["samples"])
        assert s["kind"] == "base" and s["n_puzzles"] == 3 and len(records) == 6
        assert s["mean_prompt_tokens"] == pytest.approx(sum(len(r["prompt_token_ids"]) for r in records) / 6)
        assert all(r["completion_tokens"] <= 8 for r in records)
        assert s["usd_per_puzzle_throughput"] > 0 and s["throughput"]["device"] == "cpu-2vcpu"
        assert s["throughput"]["completions"] == 6 and "throughput" in s["price_basis"]
        assert s["provenance"]["model"]["manifest_sha256"] and s["provenance"]["split"]["sha256"]
        assert s["sampling"]["max_tokens"] == 8 and "seed_rule" in s["sampling"]
        before = p["samples"].read_bytes()
        run.evaluate_local(config, entry, layout)  # rerun: everything resumed, nothing sampled again
        assert p["samples"].read_bytes() == before
        assert len(read_jsonl(p["timing"])) == 1
        # other sampling settings: the old completions are set aside, not resumed or mixed in
        ev["sampling"] = {"max_tokens": 4}
        run.evaluate_local(config, entry, layout)
        assert all(r["completion_tokens"] <= 4 for r in read_jsonl(p["samples"]))
        assert len(read_jsonl(p["partial"].with_name("test.stale-1.partial.jsonl"))) == 6
    finally:
        for root in ("results", "work"):
            shutil.rmtree(REPO_ROOT / root / name, ignore_errors=True)
