"""API client: retries with backoff (deterministic seams), cache, bounded concurrency, keys
from the environment only; and for real against `vllm serve` on 127.0.0.1 behind a counting
proxy that fails requests (429/500), including a SIGKILLed job that resumes from the cache."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ROOT
from deductive.config import load_config
from deductive.inference.api_client import APIClient, APIRequestError, MissingAPIKey, for_entry, is_retryable
from deductive.inference.model_prep import prepare_model
from deductive.inference.serve import VLLMServer

KEY_ENV = "DEDUCTIVE_TEST_API_KEY"
FAKE_KEY = "sk-test-7f3a9c21e5b84d06b1f2a8c4d9e0f713"


# ------------------------------------------------------------------ fakes for the unit tests
class HTTPError(Exception):
    def __init__(self, status):
        super().__init__(f"status {status}")
        self.status_code = status


class FakeOpenAI:
    """Mimics openai.OpenAI().chat.completions.create; fails with the queued statuses first."""

    def __init__(self, failures=()):
        self.failures = list(failures)
        self.calls = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.chat = self
        self.completions = self

    def create(self, **kw):
        with self.lock:
            self.calls.append(kw)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            fail = self.failures.pop(0) if self.failures else None
        time.sleep(0.02)
        with self.lock:
            self.in_flight -= 1
        if fail is not None:
            raise fail if isinstance(fail, Exception) else HTTPError(fail)
        from types import SimpleNamespace as NS

        usage = NS(model_dump=lambda: {"prompt_tokens": 11, "completion_tokens": 3,
                                       "completion_tokens_details": {"reasoning_tokens": 2}})
        return NS(choices=[NS(message=NS(content="A. Knife"), finish_reason="stop")], usage=usage, model=kw["model"])


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)


def make(tmp_path, fake, **kw):
    return APIClient("openai", "m", api_key_env=KEY_ENV, cache_dir=tmp_path / "cache", sdk_client=fake, **kw)


def test_missing_key_names_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(MissingAPIKey, match=f"set {KEY_ENV}"):
        APIClient("openai", "o3-mini", api_key_env=KEY_ENV, cache_dir=tmp_path)


def test_retry_backoff_then_cache(tmp_path, key):
    slept = []
    fake = FakeOpenAI(failures=[429, 503, TimeoutError("slow")])
    client = make(tmp_path, fake, sleep=slept.append, seed=3, backoff_base=1.0, backoff_max=3.0)
    msgs = [{"role": "user", "content": "who?"}]
    out = client.complete(msgs, {"max_completion_tokens": 5, "reasoning_effort": "high"}, sample_index=0)
    assert out["text"] == "A. Knife" and out["attempts"] == 4 and not out["cached"]
    assert out["usage"] == {"prompt_tokens": 11, "completion_tokens": 3, "reasoning_tokens": 2}
    assert fake.calls[0]["reasoning_effort"] == "high" and fake.calls[0]["max_completion_tokens"] == 5
    # exponential with jitter in [0.5, 1], capped, and the same for the same seed
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0 and 1.5 <= slept[2] <= 3.0
    slept2 = []
    make(tmp_path / "b", FakeOpenAI(failures=[429, 503, 500]), sleep=slept2.append, seed=3,
         backoff_base=1.0, backoff_max=3.0).complete(msgs, {}, 0)
    assert slept2 == slept
    again = client.complete(msgs, {"max_completion_tokens": 5, "reasoning_effort": "high"}, sample_index=0)
    assert again["cached"] and again["text"] == "A. Knife" and len(fake.calls) == 4
    # another sample index or parameter is another request
    client.complete(msgs, {"max_completion_tokens": 5, "reasoning_effort": "high"}, sample_index=1)
    assert len(fake.calls) == 5
    cache_text = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert FAKE_KEY not in cache_text and '"completion_tokens": 3' in cache_text


def test_non_retryable_and_exhausted(tmp_path, key):
    client = make(tmp_path, FakeOpenAI(failures=[400]), sleep=lambda s: None)
    with pytest.raises(APIRequestError, match="HTTP 400"):
        client.complete([{"role": "user", "content": "x"}], {}, 0)
    client = make(tmp_path, FakeOpenAI(failures=[500] * 10), sleep=lambda s: None, max_retries=2)
    with pytest.raises(APIRequestError, match="after 3 attempts"):
        client.complete([{"role": "user", "content": "x"}], {}, 0)
    assert not list((tmp_path / "cache").rglob("*.json"))  # failures are not cached
    assert is_retryable(HTTPError(429)) and is_retryable(HTTPError(529)) and not is_retryable(HTTPError(401))


def test_bounded_concurrency(tmp_path, key):
    fake = FakeOpenAI()
    client = make(tmp_path, fake, max_concurrency=3)
    reqs = [([{"role": "user", "content": f"q{i}"}], {}, 0) for i in range(12)]
    outs = client.complete_many(reqs)
    assert len(outs) == 12 and fake.max_in_flight <= 3 and len(fake.calls) == 12


def test_anthropic_thinking_budget(tmp_path, key):
    from types import SimpleNamespace as NS

    seen = {}

    class Stream:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def get_final_message(self):
            return NS(content=[NS(type="thinking", thinking="..."), NS(type="text", text="A. Rope")],
                      usage=NS(input_tokens=20, output_tokens=7), stop_reason="end_turn", model="claude")

    class Messages:
        def stream(self, **kw):
            seen.update(kw)
            return Stream()

    client = APIClient("anthropic", "claude-3-7-sonnet-20250219", api_key_env=KEY_ENV, cache_dir=tmp_path,
                       sdk_client=NS(messages=Messages()))
    out = client.complete([{"role": "system", "content": "be brief"}, {"role": "user", "content": "who?"}],
                          {"max_tokens": 20000, "thinking_budget": 16000}, 0)
    assert out["text"] == "A. Rope" and out["usage"] == {"prompt_tokens": 20, "completion_tokens": 7}
    assert seen["thinking"] == {"type": "enabled", "budget_tokens": 16000} and seen["system"] == "be brief"
    assert [m["role"] for m in seen["messages"]] == ["user"]


# ------------------------------------------------------------------ real server + proxy
class Proxy:
    """A loopback HTTP proxy to the server that counts requests and can fail the next ones."""

    def __init__(self, upstream: str, delay: float = 0.0):
        self.upstream, self.delay = upstream, delay
        self.fail_next: list[int] = []
        self.received = self.forwarded = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    proxy.received += 1
                    fail = proxy.fail_next.pop(0) if proxy.fail_next else None
                if fail:
                    data = json.dumps({"error": {"message": f"injected {fail}", "code": fail}}).encode()
                    self.send_response(fail)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                time.sleep(proxy.delay)
                req = urllib.request.Request(proxy.upstream + self.path, data=body, method="POST", headers={
                    "Content-Type": "application/json", "Authorization": self.headers.get("Authorization", "")})
                try:
                    with urllib.request.urlopen(req, timeout=300) as resp:
                        status, data = resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    status, data = exc.code, exc.read()
                with proxy.lock:
                    proxy.forwarded += 1
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except BrokenPipeError:  # the client was killed while waiting
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    name = "tiny-qwen2"
    out = ROOT / "models" / name
    prepare_model(name, load_config("smoke")["models"][name], out)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    srv = VLLMServer(out, dtype="float32", enforce_eager=True, max_model_len=2048, api_key=FAKE_KEY,
                     log_path=log)
    srv.start()
    yield srv
    srv.stop()
    assert srv.proc is None


WORKER = r"""
import logging, sys
sys.path.insert(0, sys.argv[1])
logging.basicConfig(filename=sys.argv[3], level=logging.INFO)
from deductive.inference.api_client import APIClient
c = APIClient("openai", sys.argv[4], api_key_env="%s", cache_dir=sys.argv[2], base_url=sys.argv[5],
              max_concurrency=1, backoff_base=0.05)
for i in range(6):
    out = c.complete([{"role": "user", "content": f"Count to {i}."}], {"max_tokens": 6, "temperature": 1.0, "seed": i}, i)
    print("done", i, out["cached"], out["usage"]["completion_tokens"], flush=True)
""" % KEY_ENV


@pytest.mark.slow
def test_real_server_retry_kill_resume(server, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    proxy = Proxy(server.base_url.rsplit("/v1", 1)[0])
    try:
        # 1. a request that fails (429, then 500) and is retried, through the real SDK
        proxy.fail_next = [429, 500]
        complete = for_entry({"provider": "openai", "model": server.model, "api_key_env": KEY_ENV},
                             base_url=proxy.url, cache_dir=tmp_path / "c1", backoff_base=0.05)
        out = complete([{"role": "user", "content": "Who did it?"}], {"max_tokens": 8, "temperature": 1.0}, 0)
        assert out["attempts"] == 3 and proxy.received == 3 and proxy.forwarded == 1
        assert out["usage"]["completion_tokens"] > 0 and out["usage"]["prompt_tokens"] > 0
        assert complete([{"role": "user", "content": "Who did it?"}], {"max_tokens": 8, "temperature": 1.0}, 0)["cached"]
        assert proxy.received == 3
        # a wrong key is an authentication error, not retried
        monkeypatch.setenv(KEY_ENV, "wrong-key")
        bad = for_entry({"provider": "openai", "model": server.model, "api_key_env": KEY_ENV},
                        base_url=proxy.url, cache_dir=tmp_path / "c1")
        with pytest.raises(APIRequestError, match="HTTP 401"):
            bad([{"role": "user", "content": "x"}], {"max_tokens": 2}, 0)
        monkeypatch.setenv(KEY_ENV, FAKE_KEY)

        # 2. a job killed with SIGKILL mid-run resumes from the cache: nothing is sent twice
        proxy.delay, proxy.received, proxy.forwarded = 1.0, 0, 0
        cache, log = tmp_path / "c2", tmp_path / "client.log"
        cmd = [sys.executable, "-c", WORKER, str(ROOT / "src"), str(cache), str(log), server.model, proxy.url]
        env = dict(os.environ, **{KEY_ENV: FAKE_KEY})
        job = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        deadline = time.monotonic() + 120
        while proxy.forwarded < 3 and time.monotonic() < deadline and job.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)
        job.send_signal(signal.SIGKILL)
        first_out = job.communicate(timeout=30)[0]
        cached = len(list(cache.rglob("*.json")))
        assert 2 <= cached < 6, first_out
        while proxy.forwarded < proxy.received and time.monotonic() < deadline:
            time.sleep(0.05)  # the request in flight at the kill still reaches the server
        sent_before = proxy.forwarded
        rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        lines = [l.split() for l in rerun.stdout.splitlines() if l.startswith("done")]
        assert len(lines) == 6 and sum(l[2] == "True" for l in lines) == cached
        assert proxy.forwarded - sent_before == 6 - cached  # only the unfinished ones were sent
        # 3. the key is in no file and no output
        for path in [*cache.rglob("*"), log, server.log_path, *(tmp_path / "c1").rglob("*")]:
            if path.is_file():
                assert FAKE_KEY not in path.read_text(errors="replace"), path
        assert FAKE_KEY not in first_out + rerun.stdout + rerun.stderr
    finally:
        proxy.close()
