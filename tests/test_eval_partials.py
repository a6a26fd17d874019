"""An evaluation resumes only from completions of the same model, puzzles and sampling:
a partial file written under another key is moved aside (never deleted) and sampling starts
afresh, so a retrained model is never reported with its predecessor's completions."""

import json

from deductive.evaluation import partials
from deductive.io import write_jsonl

KEY = {"model": {"dir": "models/m", "weights_sha256": "aa", "checkpoint": "checkpoints/x/iter-0030",
                 "checkpoint_weights_sha256": "c1"},
       "puzzles_sha256": "p1", "sampling": {"temperature": 0.7, "max_tokens": 48}, "grader_mode": "fixed"}


def _files(tmp_path):
    return tmp_path / "test.partial.jsonl", tmp_path / "test.timing.jsonl"


def test_a_fresh_partial_records_its_key_and_resumes_under_the_same_key(tmp_path, capsys):
    partial, timing = _files(tmp_path)
    assert partials.claim(partial, timing, KEY, "m/test") is None
    assert json.loads(partials.key_path(partial).read_text()) == KEY
    write_jsonl(partial, [{"puzzle_id": "test-00000", "sample_index": 0}])
    write_jsonl(timing, [{"seconds": 3.0, "new": 1}])
    same = json.loads(json.dumps(KEY))  # as read back from JSON: equal, so resumed
    assert partials.claim(partial, timing, same, "m/test") is None
    assert partial.exists() and timing.exists() and capsys.readouterr().out == ""
    assert not list(tmp_path.glob("*stale*"))


def test_completions_of_another_checkpoint_are_moved_aside_not_resumed(tmp_path, capsys):
    partial, timing = _files(tmp_path)
    partials.claim(partial, timing, KEY, "m/test")
    write_jsonl(partial, [{"puzzle_id": "test-00000", "sample_index": 0, "text": "old model"}])
    write_jsonl(timing, [{"seconds": 3.0, "new": 1}])
    retrained = json.loads(json.dumps(KEY))
    retrained["model"]["checkpoint_weights_sha256"] = "c2"
    message = partials.claim(partial, timing, retrained, "m-trained/test")
    assert message and "model.checkpoint_weights_sha256" in message and "m-trained/test" in message
    assert capsys.readouterr().out.strip() == message
    assert not partial.exists() and not timing.exists()  # sampling starts afresh, with no old timing
    stale = tmp_path / "test.stale-1.partial.jsonl"
    assert "old model" in stale.read_text()  # nothing already computed is lost
    assert (tmp_path / "test.stale-1.timing.jsonl").exists()
    assert json.loads((tmp_path / "test.stale-1.partial.key.json").read_text()) == KEY
    assert json.loads(partials.key_path(partial).read_text()) == retrained
    # a second change takes the next slot instead of overwriting the first
    write_jsonl(partial, [{"puzzle_id": "test-00000", "sample_index": 0, "text": "second model"}])
    other_sampling = json.loads(json.dumps(retrained))
    other_sampling["sampling"]["temperature"] = 1.0
    assert "sampling.temperature" in partials.claim(partial, timing, other_sampling, "m/test")
    assert "second model" in (tmp_path / "test.stale-2.partial.jsonl").read_text()
    assert "old model" in stale.read_text()


def test_a_partial_without_a_key_is_not_trusted(tmp_path):
    partial, timing = _files(tmp_path)
    write_jsonl(partial, [{"puzzle_id": "test-00000", "sample_index": 0}])
    message = partials.claim(partial, timing, KEY, "m/test")
    assert message and "records no key" in message
    assert (tmp_path / "test.stale-1.partial.jsonl").exists() and not partial.exists()
