"""API-entry evaluation without network: skip without key, resume after a kill, summaries
only when complete, provenance, tables with published fallback, regrade with compat."""

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from deductive.config import REPO_ROOT, load_config
from deductive.evaluation import entries as entries_mod
from deductive.evaluation import run
from deductive.evaluation.summary import IncompleteEvaluation
from deductive.io import read_jsonl
from deductive.puzzles.formats import load_puzzles

import eval_fakes

PUBLISHED_VAL = REPO_ROOT / "data" / "temporal-clue" / "val.json"


@pytest.fixture
def profile(request):
    """A throw-away profile (results/<name>/, work/<name>/) with one fake API entry."""
    name = f"pytest-eval-{os.getpid()}-{request.node.name[:20].replace('[', '-').replace(']', '')}".lower()
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
    config = copy.deepcopy(load_config("smoke"))
    config["profile"] = name
    ev = config["evaluation"]
    ev["splits"] = ["published_val"]
    ev["limit_puzzles"] = {"published_val": 6}
    ev["samples_per_puzzle"] = 2
    ev["bootstrap"]["replicates"] = 500
    ev["api"] = {
        "fake-endpoint": {"provider": "openai", "model": "fake-model", "api_key_env": "DEDUCTIVE_TEST_FAKE_KEY",
                          "price": "o3-mini", "published": "o3-mini-medium", "params": {"temperature": 1.0}},
        "keyless": {"provider": "openai", "model": "o1-2024-12-17", "api_key_env": "DEDUCTIVE_TEST_UNSET_KEY",
                    "price": "o1", "published": "o1", "params": {}},
    }
    yield config
    for root in ("results", "work"):
        shutil.rmtree(REPO_ROOT / root / name, ignore_errors=True)


def _factory(delay=0.0):
    def factory(config, entry, base_url, cache_dir):
        return eval_fakes.make_complete(entries_mod.load_split(config, "published_val", PUBLISHED_VAL), delay)
    return factory


def _entry(config, name):
    return entries_mod.list_entries(config)[name]


def test_missing_key_skips_with_one_line_and_a_record(profile, monkeypatch, capsys):
    monkeypatch.delenv("DEDUCTIVE_TEST_UNSET_KEY", raising=False)
    status = run.evaluate_api(profile, _entry(profile, "keyless"), eval_fakes.layout(profile, "keyless"), client_factory=_factory())
    assert status == {"published_val": "skipped"}
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "DEDUCTIVE_TEST_UNSET_KEY" in out[0] and out[0].startswith("skip: keyless")
    record = json.loads(eval_fakes.layout(profile, "keyless").files("published_val")["skipped"].read_text())
    assert record["status"] == "skipped" and record["api_key_env"] == "DEDUCTIVE_TEST_UNSET_KEY"
    assert record["published_key"] == "o1"
    assert not eval_fakes.layout(profile, "keyless").files("published_val")["summary"].exists()


def test_the_clients_own_missing_key_skips_and_other_client_errors_propagate(profile, monkeypatch):
    """The client's MissingAPIKey (caught by its type) skips the entry like an unset variable;
    any other error of the client factory is the caller's to see."""
    from deductive.inference.api_client import MissingAPIKey

    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    entry = _entry(profile, "fake-endpoint")
    layout = eval_fakes.layout(profile, entry.name)

    def keyless(config, entry, base_url, cache_dir):
        raise MissingAPIKey("DEDUCTIVE_TEST_FAKE_KEY is not set; set DEDUCTIVE_TEST_FAKE_KEY to query fake-model")

    assert run.evaluate_api(profile, entry, layout, client_factory=keyless) == {"published_val": "skipped"}
    assert json.loads(layout.files("published_val")["skipped"].read_text())["reason"].startswith("DEDUCTIVE_TEST")

    class MissingAPIKeyLookalike(RuntimeError):  # the same name is not the same exception
        pass

    MissingAPIKeyLookalike.__name__ = "MissingAPIKey"

    def broken(config, entry, base_url, cache_dir):
        raise MissingAPIKeyLookalike("not the client's")

    with pytest.raises(MissingAPIKeyLookalike):
        run.evaluate_api(profile, entry, layout, client_factory=broken)


def test_a_served_entry_whose_server_fails_to_start_says_so_and_stops_it(profile, monkeypatch, tmp_path):
    import dataclasses

    from deductive.inference import serve as serve_mod

    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    (tmp_path / "config.json").write_text("{}")
    profile["evaluation"]["api"]["fake-endpoint"]["serve"] = "fake-local-model"
    layout = dataclasses.replace(eval_fakes.layout(profile, "fake-endpoint"), model_dir=tmp_path)
    events = []

    class Server:
        base_url = "http://127.0.0.1:1/v1"

        def __init__(self, fail):
            self.fail = fail

        def __enter__(self):
            events.append("start")
            if self.fail:
                raise RuntimeError("vllm serve exited with status 1 during startup\nlog tail")
            return self

        def __exit__(self, *exc):
            events.append("stop")

    monkeypatch.setattr(serve_mod, "serve_model", lambda *a, **k: Server(fail=True))
    first_line = "could not start the local server: vllm serve exited with status 1 during startup$"
    with pytest.raises(run.EvaluationError, match=first_line):
        run.evaluate_api(profile, _entry(profile, "fake-endpoint"), layout, client_factory=_factory())
    assert events == ["start"]  # never started, so nothing to stop

    events.clear()
    monkeypatch.setattr(serve_mod, "serve_model", lambda *a, **k: Server(fail=False))

    def failing(config, entry, base_url, cache_dir):
        def complete(messages, params, index):
            raise ConnectionError("endpoint went away")
        return complete

    with pytest.raises(run.EvaluationError, match="ConnectionError.*rerun to resume"):
        run.evaluate_api(profile, _entry(profile, "fake-endpoint"), layout, client_factory=failing)
    assert events == ["start", "stop"]  # stopped on the way out of a failure
    events.clear()
    run.evaluate_api(profile, _entry(profile, "fake-endpoint"), layout, client_factory=_factory())
    assert events == ["start", "stop"]
    assert json.loads(layout.files("published_val")["summary"].read_text())["provenance"]["model"]["base_url"] == \
        Server.base_url

def test_summary_carries_provenance_and_costs(profile, monkeypatch):
    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    run.evaluate_api(profile, _entry(profile, "fake-endpoint"), eval_fakes.layout(profile, "fake-endpoint"), client_factory=_factory())
    p = eval_fakes.layout(profile, "fake-endpoint").files("published_val")
    s = json.loads(p["summary"].read_text())
    for key in ("entry", "kind", "model", "split", "n_puzzles", "samples_per_puzzle", "accuracy", "solved_share",
                "ci95", "mean_prompt_tokens", "mean_completion_tokens", "usd_per_puzzle", "price_basis",
                "sampling", "grader_mode", "provenance"):
        assert key in s, key
    assert s["n_puzzles"] == 6 and s["samples_per_puzzle"] == 2 and s["kind"] == "api"
    prov = s["provenance"]
    assert prov["profile"] == profile["profile"] and len(prov["config_hash"]) == 16
    assert set(prov["code"]) == {"commit", "dirty"} and prov["date"] and "command" in prov
    assert prov["split"]["sha256"] == prov["inputs"]["puzzles"]["sha256"] and prov["split"]["limit"] == 6
    assert prov["model"]["model"] == "fake-model"
    records = read_jsonl(p["samples"])
    assert len(records) == 12
    mean_in = sum(r["prompt_tokens"] for r in records) / 12
    mean_out = sum(r["completion_tokens"] for r in records) / 12
    assert s["usd_per_puzzle"] == pytest.approx((mean_in * 1.1 + mean_out * 4.4) / 1e6)
    assert s["ci95"][0] <= s["accuracy"] <= s["ci95"][1]
    # deterministic gzip: finalising again gives the same bytes
    before = p["samples"].read_bytes()
    run.evaluate_api(profile, _entry(profile, "fake-endpoint"), eval_fakes.layout(profile, "fake-endpoint"), client_factory=_factory())
    assert p["samples"].read_bytes() == before


def test_incomplete_set_is_never_summarised(profile, monkeypatch):
    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    entry = _entry(profile, "fake-endpoint")
    calls = {"n": 0}

    def factory(config, entry, base_url, cache_dir):
        inner = eval_fakes.make_complete(entries_mod.load_split(config, "published_val", PUBLISHED_VAL))

        def complete(messages, params, index):
            calls["n"] += 1
            if calls["n"] > 5:
                raise ConnectionError("endpoint went away")
            return inner(messages, params, index)
        return complete

    with pytest.raises(run.EvaluationError, match="ConnectionError.*rerun to resume"):
        run.evaluate_api(profile, entry, eval_fakes.layout(profile, entry.name), client_factory=factory)
    p = eval_fakes.layout(profile, entry.name).files("published_val")
    assert not p["summary"].exists() and 1 <= len(read_jsonl(p["partial"])) <= 12
    with pytest.raises(IncompleteEvaluation, match="missing"):
        run.finalise(profile, entry, "published_val", eval_fakes.layout(profile, entry.name),
                     puzzles=entries_mod.load_split(profile, "published_val", PUBLISHED_VAL), model_info={}, sampling={})
    assert not p["summary"].exists()


def test_killed_run_resumes_without_duplicates_or_losses(profile, tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(profile))
    script = textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = [{str(REPO_ROOT / 'src')!r}, {str(REPO_ROOT / 'tests')!r}]
        from deductive.evaluation import entries, run
        import eval_fakes
        config = json.load(open({str(config_path)!r}))
        factory = lambda c, e, b, d: eval_fakes.make_complete(entries.load_split(c, "published_val", {str(PUBLISHED_VAL)!r}), delay=float(sys.argv[1]))
        run.evaluate_api(config, entries.list_entries(config)["fake-endpoint"], eval_fakes.layout(config, "fake-endpoint"), client_factory=factory)
    """)
    env = {**os.environ, "DEDUCTIVE_TEST_FAKE_KEY": "x"}
    p = eval_fakes.layout(profile, "fake-endpoint").files("published_val")
    proc = subprocess.Popen([sys.executable, "-c", script, "0.4"], env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and (not p["partial"].exists() or len(read_jsonl(p["partial"])) < 3):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = read_jsonl(p["partial"])
    assert 3 <= len(partial) < 12 and not p["summary"].exists()
    done = subprocess.run([sys.executable, "-c", script, "0"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    records = read_jsonl(p["samples"])
    keys = [(r["puzzle_id"], r["sample_index"]) for r in records]
    assert len(keys) == len(set(keys)) == 12
    assert {r["puzzle_id"] for r in records} == {pz.id for pz in entries_mod.load_split(profile, "published_val", PUBLISHED_VAL)}
    # the records written before the kill were kept, not sampled again
    kept = {(r["puzzle_id"], r["sample_index"]): r["text"] for r in partial}
    assert len(read_jsonl(p["partial"])) == 12
    assert all(r["text"] == kept[(r["puzzle_id"], r["sample_index"])] for r in records if (r["puzzle_id"], r["sample_index"]) in kept)
    assert json.loads(p["summary"].read_text())["n_puzzles"] == 6


def test_tables_label_sources_and_fall_back_to_published(profile, monkeypatch):
    from deductive.evaluation.published import PUBLISHED_CSV, load_published
    from deductive.evaluation.tables import write_tables

    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    monkeypatch.delenv("DEDUCTIVE_TEST_UNSET_KEY", raising=False)
    run.evaluate_api(profile, _entry(profile, "fake-endpoint"), eval_fakes.layout(profile, "fake-endpoint"), client_factory=_factory())
    run.evaluate_api(profile, _entry(profile, "keyless"), eval_fakes.layout(profile, "keyless"), client_factory=_factory())
    root = REPO_ROOT / "results" / profile["profile"]
    paths = write_tables(root / "eval", root / "tables", load_published(PUBLISHED_CSV))
    import csv

    rows = list(csv.DictReader(open(paths["accuracy_csv"])))
    assert {r["source"] for r in rows} == {"measured", "published"}
    measured = [r for r in rows if r["source"] == "measured"]
    assert [r["entry"] for r in measured] == ["fake-endpoint"]
    o1 = next(r for r in rows if r["source"] == "published" and r["entry"] == "o1")
    assert "skipped entry 'keyless'" in o1["note"] and o1["accuracy"] == "0.549"
    comparison = list(csv.DictReader(open(paths["comparison_csv"])))
    assert len(comparison) == 1 and comparison[0]["published_key"] == "o3-mini-medium"
    c = comparison[0]
    assert float(c["difference"]) == pytest.approx(float(c["measured_accuracy"]) - 0.559, abs=1e-5)
    inside = float(c["ci95_lo"]) <= 0.559 <= float(c["ci95_hi"])
    assert c["published_inside_ci"] == ("true" if inside else "false")


def test_regrade_compat_gives_compat_scores_and_keeps_fixed_results(profile, monkeypatch):
    from deductive.evaluation.published import PUBLISHED_CSV
    from deductive.evaluation.regrade import RegradeError, regrade_profile
    from deductive.grading import grade

    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    run.evaluate_api(profile, _entry(profile, "fake-endpoint"), eval_fakes.layout(profile, "fake-endpoint"), client_factory=_factory())
    p = eval_fakes.layout(profile, "fake-endpoint").files("published_val")
    fixed_bytes = p["summary"].read_bytes()
    root = REPO_ROOT / "results" / profile["profile"]
    written, tables = regrade_profile(profile, "compat", root / "eval", root / "regrade-compat", PUBLISHED_CSV)
    assert p["summary"].read_bytes() == fixed_bytes  # untouched
    new = json.loads(written[0].read_text())
    puzzles = {pz.id: pz for pz in load_puzzles(PUBLISHED_VAL)}
    by_puzzle = {}
    for r in read_jsonl(p["samples"]):
        by_puzzle.setdefault(r["puzzle_id"], []).append(grade(r["text"], puzzles[r["puzzle_id"]].solution, mode="compat", options=None))
    expected = sum(sum(v) / len(v) for v in by_puzzle.values()) / len(by_puzzle)
    assert new["grader_mode"] == "compat" and new["accuracy"] == pytest.approx(expected)
    fixed = json.loads(fixed_bytes)
    assert new["accuracy_before_regrade"] == fixed["accuracy"]
    assert new["accuracy"] < fixed["accuracy"]  # bold answers score under fixed, not under compat
    assert "regraded" in open(tables["accuracy_csv"]).read()
    with pytest.raises(RegradeError, match="overwrite"):
        regrade_profile(profile, "compat", root / "eval", root, PUBLISHED_CSV)


def test_served_entry_keeps_its_model_in_provenance_when_every_completion_was_recorded(profile, monkeypatch, tmp_path):
    """A rerun of a `serve` entry whose completions are all recorded starts no server, and its
    summary still names the served model and that model's fingerprint."""
    import dataclasses

    import contextlib
    import types

    from deductive.inference import serve as serve_mod

    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    (tmp_path / "config.json").write_text("{}")
    profile["evaluation"]["api"]["fake-endpoint"]["serve"] = "fake-local-model"
    entry = _entry(profile, "fake-endpoint")
    layout = dataclasses.replace(eval_fakes.layout(profile, "fake-endpoint"), model_dir=tmp_path)
    started = []

    @contextlib.contextmanager
    def fake_server(*args, **kwargs):
        started.append(1)
        yield types.SimpleNamespace(base_url="http://127.0.0.1:1/v1")

    monkeypatch.setattr(serve_mod, "serve_model", fake_server)
    run.evaluate_api(profile, entry, layout, client_factory=_factory())  # first run: a (fake) server
    assert started == [1]
    run.evaluate_api(profile, entry, layout, client_factory=_factory())  # rerun: every completion recorded
    assert started == [1]  # no server started the second time
    model = json.loads(layout.files("published_val")["summary"].read_text())["provenance"]["model"]
    assert model["served_model"] == "fake-local-model" and "not started" in model["base_url"]
    assert model["served_model_dir"]["manifest_sha256"] == run.dir_fingerprint(tmp_path)["manifest_sha256"]


def test_changed_request_parameters_sample_afresh_and_keep_the_old_completions(profile, monkeypatch, capsys):
    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    layout = eval_fakes.layout(profile, "fake-endpoint")
    p = layout.files("published_val")
    run.evaluate_api(profile, _entry(profile, "fake-endpoint"), layout, client_factory=_factory())
    assert {r["sampling"]["temperature"] for r in read_jsonl(p["samples"])} == {1.0}
    run.evaluate_api(profile, _entry(profile, "fake-endpoint"), layout, client_factory=_factory())
    assert not list(p["partial"].parent.glob("*stale*"))  # same settings: resumed, nothing moved
    capsys.readouterr()
    profile["evaluation"]["api"]["fake-endpoint"]["params"] = {"temperature": 0.5}
    run.evaluate_api(profile, _entry(profile, "fake-endpoint"), layout, client_factory=_factory())
    assert "changed: sampling.temperature" in capsys.readouterr().out
    records = read_jsonl(p["samples"])
    assert len(records) == 12 and {r["sampling"]["temperature"] for r in records} == {0.5}
    stale = p["partial"].with_name("published_val.stale-1.partial.jsonl")
    assert len(read_jsonl(stale)) == 12 and {r["sampling"]["temperature"] for r in read_jsonl(stale)} == {1.0}


def test_a_served_entry_without_its_model_directory_says_so(profile, monkeypatch, tmp_path):
    import dataclasses

    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    profile["evaluation"]["api"]["fake-endpoint"]["serve"] = "fake-local-model"
    layout = dataclasses.replace(eval_fakes.layout(profile, "fake-endpoint"), model_dir=tmp_path / "absent")
    with pytest.raises(run.EvaluationError, match="fake-local-model.*missing; run the prepare_model rule"):
        run.evaluate_api(profile, _entry(profile, "fake-endpoint"), layout, client_factory=_factory())


def test_a_served_entry_sends_one_reproducible_seed_per_sample_and_a_provider_entry_none(profile, monkeypatch, tmp_path):
    """Our own vLLM server samples the same completions on a rerun only if every request carries
    its own seed: derived from (puzzle, sample), distinct across samples, identical across runs.
    Provider APIs get the entry's params unchanged."""
    import contextlib
    import dataclasses
    import types

    from deductive.inference import serve as serve_mod

    monkeypatch.setenv("DEDUCTIVE_TEST_FAKE_KEY", "x")
    (tmp_path / "config.json").write_text("{}")

    @contextlib.contextmanager
    def fake_server(*args, **kwargs):
        yield types.SimpleNamespace(base_url="http://127.0.0.1:1/v1")

    monkeypatch.setattr(serve_mod, "serve_model", fake_server)

    def requests_of_one_fresh_run(serve: bool) -> dict:
        sent = {}
        inner = _factory()

        def factory(config, entry, base_url, cache_dir):
            complete = inner(config, entry, base_url, cache_dir)

            def recording(messages, params, sample_index):
                sent[(messages[0]["content"], sample_index)] = dict(params)
                return complete(messages, params, sample_index)
            return recording

        config = copy.deepcopy(profile)
        if serve:
            config["evaluation"]["api"]["fake-endpoint"]["serve"] = "fake-local-model"
        layout = dataclasses.replace(eval_fakes.layout(config, "fake-endpoint"), model_dir=tmp_path)
        shutil.rmtree(layout.work_dir, ignore_errors=True)
        shutil.rmtree(layout.out_dir, ignore_errors=True)
        run.evaluate_api(config, _entry(config, "fake-endpoint"), layout, client_factory=factory)
        assert len(sent) == 12
        if serve:
            recorded = json.loads(layout.files("published_val")["summary"].read_text())["sampling"]
            assert "seed_rule" in recorded
        return sent

    first, again = requests_of_one_fresh_run(True), requests_of_one_fresh_run(True)
    seeds = [params["seed"] for params in first.values()]
    assert all(isinstance(s, int) and 0 <= s < 2**32 for s in seeds) and len(set(seeds)) == 12
    assert first == again
    assert all(params == {"temperature": 1.0} for params in requests_of_one_fresh_run(False).values())

    profile["evaluation"]["api"]["fake-endpoint"]["serve"] = "fake-local-model"
    profile["evaluation"]["api"]["fake-endpoint"]["params"]["seed"] = 3
    layout = dataclasses.replace(eval_fakes.layout(profile, "fake-endpoint"), model_dir=tmp_path)
    with pytest.raises(run.EvaluationError, match="one seed per request"):
        run.evaluate_api(profile, _entry(profile, "fake-endpoint"), layout, client_factory=_factory())
