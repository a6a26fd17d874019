"""Issue 11, item 3: the engine is built with vLLM's sleep mode when training sleeps it, and
sleeps at level 2 (weights discarded: new ones are loaded after every step). vLLM's CPU build
has no sleep mode (it raises "Sleep mode is not supported on current platform"), so the
arguments are checked with a stand-in for `vllm.LLM`."""

import json

import pytest

vllm = pytest.importorskip("vllm")

from deductive.inference import rollout  # noqa: E402
from deductive.inference.rollout import Sampler, engine_kwargs  # noqa: E402


class FakeLLM:
    made: list[dict] = []

    def __init__(self, **kwargs):
        FakeLLM.made.append(kwargs)
        self.llm_engine = self
        self.calls = []

    def get_tokenizer(self):
        return type("Tok", (), {"eos_token_id": 1})()

    def sleep(self, level=1):
        self.calls.append(("sleep", level))

    def wake_up(self, tags=None):
        self.calls.append(("wake_up", tags))


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    monkeypatch.setattr(vllm, "LLM", FakeLLM)
    FakeLLM.made.clear()
    return tmp_path


SAMPLING = {"seed": 3, "engine": {"max_model_len": 64, "gpu_memory_utilization": 0.6, "tensor_parallel_size": 1,
                                "enable_prefix_caching": True, "dtype": "auto", "enforce_eager": False}}


def test_engine_kwargs_carry_the_sleep_request():
    assert engine_kwargs(SAMPLING)["enable_sleep_mode"] is False
    assert engine_kwargs(SAMPLING, sleep=True)["enable_sleep_mode"] is True


def test_sleep_mode_engine_on_a_platform_that_has_it(model_dir, monkeypatch):
    monkeypatch.setattr(rollout, "sleep_mode_available", lambda: True)
    sampler = Sampler(model_dir, **engine_kwargs(SAMPLING, sleep=True))
    assert FakeLLM.made[-1]["enable_sleep_mode"] is True and sampler.sleep_mode
    sampler.sleep(level=2)
    sampler.wake_up(["weights"])
    assert sampler.asleep == 2  # the KV cache is still released
    sampler.wake_up(["kv_cache"])
    assert sampler.asleep is None
    assert sampler.llm.calls == [("sleep", 2), ("wake_up", ["weights"]), ("wake_up", ["kv_cache"])]


def test_without_sleep_mode_sleep_is_a_clean_no_op(model_dir, monkeypatch, caplog):
    monkeypatch.setattr(rollout, "sleep_mode_available", lambda: False)
    sampler = Sampler(model_dir, **engine_kwargs(SAMPLING, sleep=True))
    assert "enable_sleep_mode" not in FakeLLM.made[-1] and not sampler.sleep_mode
    assert "sleep mode is not available" in caplog.text
    sampler.sleep(level=2)
    sampler.wake_up()
    assert sampler.llm.calls == []
    Sampler(model_dir, **engine_kwargs(SAMPLING))  # not asked: no argument, no warning
    assert "enable_sleep_mode" not in FakeLLM.made[-1]


def test_this_cpu_build_reports_no_sleep_mode():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA machine")
    assert rollout.sleep_mode_available() is False
