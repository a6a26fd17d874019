"""One client for chat models behind an API: OpenAI-compatible endpoints (OpenAI, DeepSeek, a
local `vllm serve`, ...) through the `openai` package, and Anthropic's Messages API through the
`anthropic` package.

    client = APIClient("openai", "o3-mini-2025-01-31", api_key_env="OPENAI_API_KEY",
                       cache_dir="work/paper/api-cache")
    result = client.complete([{"role": "user", "content": prompt}],
                             {"reasoning_effort": "high", "max_completion_tokens": 65536}, sample_index=0)
    # result = {"text", "usage": {"prompt_tokens", "completion_tokens", ...}, "finish_reason",
    #           "cached", "attempts", "key"}

- Keys come only from the environment variable named by `api_key_env`; a missing key raises
  `MissingAPIKey` naming the variable. The key is never stored in the cache, a record or a log
  line (the cache key hashes endpoint, model, messages, parameters and sample index only).
- Parameters are passed to the endpoint as given (`reasoning_effort`, `max_completion_tokens`
  for o-series; `max_tokens`, `temperature`, `thinking` for Anthropic). `thinking_budget: N` is
  shorthand for Anthropic's `thinking={"type": "enabled", "budget_tokens": N}`.
- Retries: 408/409/429, 5xx, timeouts and connection errors are retried up to `max_retries`
  times with exponential backoff and jitter: delay = min(backoff_max, backoff_base * 2**attempt)
  * U(0.5, 1), U drawn from a seeded `random.Random` and the wait done by an injectable
  `sleep` (test seams). The SDKs' own retries are switched off so the policy is this one.
- A per-request timeout (`timeout` seconds).
- Bounded concurrency: at most `max_concurrency` requests in flight from this client, whatever
  number of threads call `complete`; `complete_many` runs a list of requests in a thread pool.
- Cache: `cache_dir/<hash[:2]>/<hash>.json`, written atomically after each success, holding the
  text, finish reason and token usage. A rerun, or a run after a crash or SIGKILL, gets every
  finished request from disk (`cached: True`) and sends only the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

from deductive.io import atomic_write_json, dumps_canonical

log = logging.getLogger("deductive.api")
PROVIDERS = ("openai", "anthropic")
RETRY_STATUS = {408, 409, 429}


class MissingAPIKey(RuntimeError):
    """No key in the environment; the message names the variable to set."""


class APIRequestError(RuntimeError):
    """A request failed for good (not retryable, or retries exhausted)."""


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None and getattr(exc, "response", None) is not None:
        status = getattr(exc.response, "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: BaseException) -> bool:
    """429/408/409, 5xx, timeouts and connection failures are worth another try."""
    status = _status_of(exc)
    if status is not None:
        return status in RETRY_STATUS or status >= 500
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"APITimeoutError", "APIConnectionError", "TimeoutError", "ConnectionError"})


class APIClient:
    def __init__(self, provider: str, model: str, *, api_key_env: str, cache_dir: str | os.PathLike,
                 base_url: str | None = None, max_concurrency: int = 8, max_retries: int = 6,
                 timeout: float = 600.0, backoff_base: float = 2.0, backoff_max: float = 120.0,
                 seed: int = 0, sleep: Callable[[float], None] = time.sleep, sdk_client: Any = None):
        if provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {PROVIDERS}, got {provider!r}")
        key = os.environ.get(api_key_env)
        if not key:
            raise MissingAPIKey(f"{api_key_env} is not set; set {api_key_env} to query {model}")
        self.provider, self.model, self.base_url = provider, model, base_url
        self.api_key_env = api_key_env
        self.cache_dir = Path(cache_dir)
        self.max_retries, self.timeout = max_retries, timeout
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self.max_concurrency = max_concurrency
        self._client = sdk_client if sdk_client is not None else self._make_sdk_client(key)
        self.stats = {"sent": 0, "retried": 0, "cached": 0}
        self._stats_lock = threading.Lock()

    def _make_sdk_client(self, key: str):
        if self.provider == "openai":
            import openai

            return openai.OpenAI(api_key=key, base_url=self.base_url, max_retries=0, timeout=self.timeout)
        import anthropic

        return anthropic.Anthropic(api_key=key, base_url=self.base_url, max_retries=0, timeout=self.timeout)

    # ------------------------------------------------------------------ cache
    @property
    def endpoint(self) -> str:
        """The endpoint's identity in the cache key. A loopback server (a local `vllm serve`)
        gets a new free port each run, so its port is left out: the model name identifies it."""
        if not self.base_url:
            return f"{self.provider}:default"
        from urllib.parse import urlsplit

        parts = urlsplit(self.base_url)
        if parts.hostname in ("127.0.0.1", "localhost", "::1"):
            return f"loopback{parts.path.rstrip('/')}"
        return self.base_url.rstrip("/")

    def cache_key(self, messages: Sequence[dict], params: dict, sample_index: int = 0) -> str:
        ident = {"endpoint": self.endpoint, "provider": self.provider, "model": self.model,
                 "messages": list(messages), "params": params, "sample_index": sample_index}
        return hashlib.sha256(dumps_canonical(ident).encode("utf-8")).hexdigest()

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, key: str) -> dict | None:
        path = self._cache_path(key)
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, OSError):
            return None  # unreadable entry: ask again and overwrite it

    # ------------------------------------------------------------------ requests
    def complete(self, messages: Sequence[dict], params: dict | None = None, sample_index: int = 0) -> dict:
        """One chat completion, from the cache when it was answered before."""
        params = dict(params or {})
        key = self.cache_key(messages, params, sample_index)
        hit = self._cache_get(key)
        if hit is not None:
            with self._stats_lock:
                self.stats["cached"] += 1
            return {**hit["response"], "cached": True, "attempts": 0, "key": key}
        with self._slots:
            response, attempts, seconds = self._with_retries(messages, params, key)
        atomic_write_json(self._cache_path(key), {
            "request": {"endpoint": self.endpoint, "provider": self.provider, "model": self.model,
                        "params": params, "sample_index": sample_index,
                        "messages_sha256": hashlib.sha256(dumps_canonical(list(messages)).encode()).hexdigest()},
            "response": response, "attempts": attempts, "seconds": round(seconds, 3),
        })
        return {**response, "cached": False, "attempts": attempts, "key": key}

    def complete_many(self, requests: Sequence[tuple[Sequence[dict], dict, int]],
                      on_result: Callable[[int, dict], None] | None = None) -> list[dict]:
        """Run (messages, params, sample_index) requests with at most max_concurrency in flight."""
        results: list[dict | None] = [None] * len(requests)
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            futures = {pool.submit(self.complete, *req): i for i, req in enumerate(requests)}
            for future, i in futures.items():
                results[i] = future.result()
                if on_result is not None:
                    on_result(i, results[i])
        return results  # type: ignore[return-value]

    def _delay(self, attempt: int) -> float:
        with self._rng_lock:
            jitter = self._rng.uniform(0.5, 1.0)
        return min(self.backoff_max, self.backoff_base * (2 ** attempt)) * jitter

    def _with_retries(self, messages, params, key) -> tuple[dict, int, float]:
        start = time.monotonic()
        for attempt in range(self.max_retries + 1):
            try:
                with self._stats_lock:
                    self.stats["sent"] += 1
                response = self._send(messages, params)
                return response, attempt + 1, time.monotonic() - start
            except Exception as exc:  # noqa: BLE001 - classified below
                status = _status_of(exc)
                what = f"HTTP {status}" if status else type(exc).__name__
                if not is_retryable(exc):
                    raise APIRequestError(f"{self.model} request {key[:10]} failed: {what}: "
                                          f"{_short(exc)}") from None
                if attempt == self.max_retries:
                    raise APIRequestError(f"{self.model} request {key[:10]} failed after "
                                          f"{attempt + 1} attempts: {what}") from None
                delay = self._delay(attempt)
                with self._stats_lock:
                    self.stats["retried"] += 1
                log.warning("%s request %s: %s, retry %d/%d in %.1fs", self.model, key[:10], what,
                            attempt + 1, self.max_retries, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _send(self, messages, params) -> dict:
        if self.provider == "openai":
            resp = self._client.chat.completions.create(model=self.model, messages=list(messages),
                                                        timeout=self.timeout, **params)
            choice = resp.choices[0]
            usage = resp.usage.model_dump() if resp.usage is not None else {}
            flat = {"prompt_tokens": usage.get("prompt_tokens", 0),
                    "completion_tokens": usage.get("completion_tokens", 0)}
            details = usage.get("completion_tokens_details") or {}
            if details.get("reasoning_tokens") is not None:
                flat["reasoning_tokens"] = details["reasoning_tokens"]
            return {"text": choice.message.content or "", "finish_reason": choice.finish_reason,
                    "usage": flat, "response_model": resp.model}
        params = dict(params)
        budget = params.pop("thinking_budget", None)
        if budget is not None:
            params["thinking"] = {"type": "enabled", "budget_tokens": int(budget)}
        system = [m["content"] for m in messages if m["role"] == "system"]
        chat = [m for m in messages if m["role"] != "system"]
        if system:
            params["system"] = "\n\n".join(system)
        # streaming: long thinking requests exceed the non-streaming time limit of the SDK
        with self._client.messages.stream(model=self.model, messages=chat, timeout=self.timeout,
                                          **params) as stream:
            msg = stream.get_final_message()
        text = "".join(block.text for block in msg.content if getattr(block, "type", "") == "text")
        usage = {"prompt_tokens": msg.usage.input_tokens, "completion_tokens": msg.usage.output_tokens}
        return {"text": text, "finish_reason": {"max_tokens": "length"}.get(msg.stop_reason, "stop"),
                "usage": usage, "response_model": msg.model}


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def for_entry(api: dict, *, base_url: str | None = None, cache_dir: str | os.PathLike, **kwargs):
    """The `complete(messages, params, sample_index) -> dict` callable for an evaluation entry
    (config `evaluation.api.<name>`: provider, model, api_key_env, base_url, max_concurrency)."""
    client = APIClient(api["provider"], api["model"], api_key_env=api["api_key_env"], cache_dir=cache_dir,
                       base_url=base_url or api.get("base_url"),
                       max_concurrency=int(api.get("max_concurrency", 8)), **kwargs)
    return client.complete
