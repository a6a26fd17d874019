"""Sampling graded completions from a model with vLLM: the engine training samples from and
evaluation measures with.

    sampling = SamplingConfig.from_config(config["sampling"])
    sampler = Sampler("models/tiny-qwen2", **engine_kwargs(config["sampling"]))
    records = sampler.sample(puzzles, samples_per_puzzle=4, sampling=sampling)
    sampler.load_weights("checkpoints/.../iter-0003")   # new weights, same live engine
    sampler.close()

What it guarantees:
- The prompt is the puzzle text as one user message through the tokenizer's chat template
  (`add_generation_prompt=True`); its token ids are recorded.
- Every sampling parameter is explicit: the engine runs with `generation_config="vllm"`
  (vLLM's neutral defaults, the model's generation_config.json is never applied), each request
  gets a full `SamplingParams`, and the record's `sampling` holds all of them, including the
  per-sample seed and the stop token ids (the model's eos ids, read from its config files).
- Sample `i` of puzzle `p` uses seed `derive_seed(sampling.seed, p.id, i) mod 2**32`: distinct
  samples, and the same tokens for the same seed whatever the batch (vLLM's per-request
  generator).
- Logprobs: `logprobs=0` returns exactly the sampled token's logprob; the engine runs with
  `logprobs_mode="processed_logprobs"`, i.e. the log-probability under the distribution the
  token was actually drawn from (logits divided by the temperature, then any top-k/top-p/min-p
  truncation). That is what the PPO ratio needs: the trainer computes log-softmax(logits / T)
  (`deductive.training.packing.packed_logprobs`), and training refuses truncation
  (`check_trainable_sampling`), so both sides describe the same distribution at any
  temperature. At temperature 1 it equals the raw log-softmax (tests/test_rollout.py compares
  it with a transformers forward pass).
- Early abort (method.md section 3): e = decay * e + (1 - decay) * logprob, from e = 0; the
  completion stops at the first token where e < threshold or e is NaN. The engine is driven
  step by step (`LLMEngine.add_request` / `step` with delta outputs) and the request is
  aborted inside vLLM right then, so no compute is spent on it afterwards; the record keeps
  the tokens up to and including the trigger token, finish_reason "abort", and says why.
  Aborted and truncated completions are graded like any other (`deductive.grading.grade`).
- `load_weights` hands new weights to the live engine (`collective_rpc("reload_weights")`,
  vLLM's in-place reload) and resets the prefix cache, so no restart between iterations.

On a GPU node (paper profile): `tensor_parallel_size` = number of GPUs (0 in the config means
all visible GPUs), `gpu_memory_utilization` ~0.85 when vLLM has the GPUs to itself. When the
trainer shares the GPUs, the engine is built with `enable_sleep_mode=True` (`engine_kwargs(...,
sleep=True)`; without it vLLM's sleep frees nothing), `sampler.sleep(level=2)` after sampling
discards weights and KV cache, and `sampler.wake_up(["weights"])`, `load_weights(...)`,
`wake_up(["kv_cache"])` bring it back with the new weights (level 1 would first copy the old
weights to CPU memory for nothing: they are replaced after every step). vLLM offers sleep mode
on CUDA/ROCm/XPU only: elsewhere (CPU) the Sampler logs once that it runs without it and
`sleep`/`wake_up` do nothing, so the smoke profile exercises the calls but not the memory
effect. bf16 weights and `dtype: bfloat16` on GPU; float32 on CPU.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

from deductive.config import derive_seed
from deductive.grading import DEFAULT_MODE
from deductive.io import JsonlAppender, iter_jsonl
from deductive.progress import Progress
from deductive.puzzles.formats import Puzzle

LOGPROBS_MODE = "processed_logprobs"


class RolloutError(RuntimeError):
    """A user-facing sampling failure (bad model dir, mismatched resume file, ...)."""


@dataclass(frozen=True)
class EarlyAbort:
    enabled: bool = True
    decay: float = 0.992
    threshold: float = -3.0

    def tracker(self) -> "AbortTracker":
        return AbortTracker(self)


class AbortTracker:
    """The smoothed logprob of one completion; `feed` returns a reason once it must stop."""

    def __init__(self, rule: EarlyAbort):
        self.rule = rule
        self.value = 0.0
        self.tokens = 0

    def feed(self, logprob: float) -> str | None:
        self.tokens += 1
        self.value = self.rule.decay * self.value + (1.0 - self.rule.decay) * logprob
        if not self.rule.enabled:
            return None
        if math.isnan(self.value):
            return f"smoothed logprob is NaN at completion token {self.tokens}"
        if self.value < self.rule.threshold:
            return (f"smoothed logprob {self.value:.4f} < {self.rule.threshold} "
                    f"at completion token {self.tokens}")
        return None


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float
    top_p: float
    top_k: int
    max_tokens: int
    seed: int
    early_abort: EarlyAbort = field(default_factory=EarlyAbort)
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0

    @classmethod
    def from_config(cls, cfg: dict) -> "SamplingConfig":
        """From the config's `sampling` section (its `engine` part is for `engine_kwargs`)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in cfg.items() if k in known}
        unknown = set(cfg) - known - {"engine"}
        if unknown:
            raise RolloutError(f"sampling: unknown keys {sorted(unknown)}")
        ea = values.get("early_abort", {})
        values["early_abort"] = ea if isinstance(ea, EarlyAbort) else EarlyAbort(**ea)
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes: Any) -> "SamplingConfig":
        """A copy with `changes` merged in (nested `early_abort` key by key: deductive.merge)."""
        from deductive.merge import deep_merge

        changes = {k: (asdict(v) if isinstance(v, EarlyAbort) else v) for k, v in changes.items()}
        return SamplingConfig.from_config(deep_merge(self.to_dict(), changes))

    def sample_seed(self, puzzle_id: str, sample_index: int) -> int:
        return derive_seed(self.seed, puzzle_id, sample_index) % (2**32)


def check_trainable_sampling(sampling: "SamplingConfig") -> None:
    """Refuse sampling settings under which the trainer's log-probs would describe another
    distribution than the sampler's: the trainer reproduces temperature scaling exactly, but not
    top-k/top-p/min-p truncation or repetition/presence/frequency penalties."""
    problems = []
    if not sampling.temperature > 0:
        problems.append(f"temperature {sampling.temperature} (must be > 0: greedy decoding has no policy gradient)")
    if sampling.top_p != 1.0:
        problems.append(f"top_p {sampling.top_p} (must be 1.0)")
    if sampling.top_k not in (0, -1):
        problems.append(f"top_k {sampling.top_k} (must be 0)")
    if sampling.min_p != 0.0:
        problems.append(f"min_p {sampling.min_p} (must be 0.0)")
    for name in ("repetition_penalty", "presence_penalty", "frequency_penalty"):
        neutral = 1.0 if name == "repetition_penalty" else 0.0
        if getattr(sampling, name) != neutral:
            problems.append(f"{name} {getattr(sampling, name)} (must be {neutral})")
    if problems:
        raise RolloutError("training sampling must be a plain temperature-scaled softmax so the PPO "
                           "ratio compares the same distribution on both sides; change "
                           + "; ".join(f"training.sampling.{p}" for p in problems))


def engine_kwargs(sampling_cfg: dict, *, sleep: bool = False) -> dict:
    """Sampler keyword arguments from the config's `sampling.engine` section; `sleep`: the
    engine will be put to sleep while a colocated trainer runs (training's
    `sleep_engine_while_training`), so it is built with vLLM's sleep mode."""
    eng = sampling_cfg["engine"]  # complete: the schema requires every key of the shared engine
    return {"enable_sleep_mode": bool(sleep),
            "max_model_len": eng["max_model_len"],
            "tensor_parallel_size": eng["tensor_parallel_size"],
            "gpu_memory_utilization": eng["gpu_memory_utilization"],
            "enable_prefix_caching": eng["enable_prefix_caching"],
            "dtype": eng["dtype"],
            "enforce_eager": eng["enforce_eager"],
            "seed": sampling_cfg["seed"]}


def _stop_token_ids(model_dir: Path, tokenizer) -> list[int]:
    """The model's end-of-turn ids: tokenizer eos plus generation_config.json's eos ids."""
    import json

    ids = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    gen = model_dir / "generation_config.json"
    if gen.is_file():
        eos = json.loads(gen.read_text(encoding="utf-8")).get("eos_token_id")
        for value in (eos if isinstance(eos, list) else [eos]):
            if value is not None:
                ids.add(int(value))
    return sorted(ids)


THREAD_COUNT_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
                          "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@contextlib.contextmanager
def _without_thread_counts():
    """Hide the BLAS/OpenMP thread-count variables while vLLM spawns its CPU engine processes.

    vLLM's CPU worker pins its own OpenMP threads to the cores it binds; Snakemake sets these
    variables to a job's `threads` for every job, and with them the worker sampled about 4x
    slower on a 2-core machine (64 completions in 148 s instead of 35 s, measured here). The
    caller's own environment is restored as soon as the engine exists."""
    saved = {name: os.environ.pop(name) for name in THREAD_COUNT_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def cpu_engine_overrides(max_model_len: int) -> dict:
    """Engine settings needed on CPU: no chunked prefill. With chunked prefill, vLLM 0.32 rewinds
    a per-request generator after a partial prefill step (`Generator.set_offset`), which the CPU
    generator does not support ("CPU Generator does not use offset": the engine dies as soon as
    a seeded request's prompt is split across steps). Whole-prompt prefill avoids the rewind."""
    return {"enable_chunked_prefill": False, "max_num_batched_tokens": max(max_model_len, 8192)}


def sleep_mode_available() -> bool:
    """Whether vLLM's sleep mode works on this platform (it raises a ValueError elsewhere)."""
    from vllm.platforms import current_platform

    return bool(current_platform.is_sleep_mode_available())


class Sampler:
    """One live vLLM engine for a model directory; see the module docstring."""

    def __init__(self, model_dir: str | os.PathLike, *, max_model_len: int, tensor_parallel_size: int = 0,
                 gpu_memory_utilization: float = 0.5, enable_prefix_caching: bool = True,
                 dtype: str = "auto", seed: int = 0, model_name: str | None = None,
                 enforce_eager: bool = False, enable_sleep_mode: bool = False):
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise RolloutError(f"{self.model_dir}: not a model directory (no config.json); "
                               f"prepare it with scripts/prepare_model.py")
        self.model_name = model_name or self.model_dir.name
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache on CPU; ignored on GPU
        if tensor_parallel_size == 0:
            import torch

            tensor_parallel_size = max(1, torch.cuda.device_count())
        from vllm import LLM

        self.engine_args = dict(model=str(self.model_dir), tokenizer=str(self.model_dir),
                                max_model_len=max_model_len, tensor_parallel_size=tensor_parallel_size,
                                gpu_memory_utilization=gpu_memory_utilization,
                                enable_prefix_caching=enable_prefix_caching, dtype=dtype, seed=seed,
                                generation_config="vllm", logprobs_mode=LOGPROBS_MODE, max_logprobs=1,
                                enforce_eager=enforce_eager)
        import torch

        if not torch.cuda.is_available():
            self.engine_args.update(cpu_engine_overrides(max_model_len))
        self.sleep_mode = bool(enable_sleep_mode) and sleep_mode_available()
        if enable_sleep_mode and not self.sleep_mode:
            import logging

            logging.getLogger(__name__).warning(
                "vLLM sleep mode is not available on this platform (CUDA/ROCm/XPU only): the engine "
                "keeps its memory while the trainer runs; sleep()/wake_up() do nothing")
        if self.sleep_mode:
            self.engine_args["enable_sleep_mode"] = True
        self.asleep: int | None = None  # the sleep level while asleep
        with (_without_thread_counts() if not torch.cuda.is_available() else contextlib.nullcontext()):
            self.llm = LLM(**self.engine_args)
        self.engine = self.llm.llm_engine
        self.tokenizer = self.llm.get_tokenizer()
        self.stop_token_ids = _stop_token_ids(self.model_dir, self.tokenizer)
        self.max_model_len = max_model_len
        self.weights_version = 0
        self._request_counter = 0

    # ------------------------------------------------------------------ prompts and params
    def prompt_token_ids(self, prompt: str) -> list[int]:
        ids = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                                 add_generation_prompt=True, tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        return [int(t) for t in ids]

    def _params(self, sampling: SamplingConfig, seed: int):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        return SamplingParams(
            n=1, temperature=sampling.temperature, top_p=sampling.top_p,
            top_k=sampling.top_k if sampling.top_k > 0 else 0, min_p=sampling.min_p,
            repetition_penalty=sampling.repetition_penalty, presence_penalty=sampling.presence_penalty,
            frequency_penalty=sampling.frequency_penalty, max_tokens=sampling.max_tokens, seed=seed,
            logprobs=0, stop=None, stop_token_ids=list(self.stop_token_ids), ignore_eos=False,
            skip_special_tokens=True, output_kind=RequestOutputKind.DELTA)

    def recorded_sampling(self, sampling: SamplingConfig, seed: int) -> dict:
        return {**sampling.to_dict(), "sample_seed": seed, "n": 1, "logprobs_mode": LOGPROBS_MODE,
                "stop_token_ids": list(self.stop_token_ids), "generation_config": "vllm"}

    # ------------------------------------------------------------------ generation
    def generate(self, requests: Sequence[tuple[list[int], int]], sampling: SamplingConfig) -> list[dict]:
        """Run (prompt_token_ids, seed) requests to the end; early abort applied; ungraded."""
        states: dict[str, dict] = {}
        order: list[str] = []
        for prompt_ids, seed in requests:
            if len(prompt_ids) >= self.max_model_len:
                raise RolloutError(f"prompt of {len(prompt_ids)} tokens does not fit max_model_len "
                                   f"{self.max_model_len}")
            self._request_counter += 1
            rid = f"r{self._request_counter}"
            states[rid] = {"prompt_token_ids": list(prompt_ids), "completion_token_ids": [], "logprobs": [],
                           "finish_reason": None, "abort_reason": None, "tracker": sampling.early_abort.tracker()}
            order.append(rid)
            self.engine.add_request(rid, {"prompt_token_ids": list(prompt_ids)}, self._params(sampling, seed))
        open_ids = set(order)
        while open_ids:
            if not self.engine.has_unfinished_requests():
                raise RolloutError(f"vLLM finished without output for {len(open_ids)} request(s)")
            for out in self.engine.step():
                rid = out.request_id
                if rid not in open_ids:
                    continue
                st = states[rid]
                comp = out.outputs[0]
                lps = comp.logprobs or []
                if len(lps) != len(comp.token_ids):
                    raise RolloutError(f"vLLM returned {len(lps)} logprobs for {len(comp.token_ids)} tokens")
                for token, entry in zip(comp.token_ids, lps):
                    lp = float(entry[token].logprob)
                    st["completion_token_ids"].append(int(token))
                    st["logprobs"].append(lp)
                    reason = st["tracker"].feed(lp)
                    if reason is not None:
                        st["finish_reason"], st["abort_reason"] = "abort", reason
                        break
                if st["finish_reason"] == "abort":
                    open_ids.discard(rid)
                    if not out.finished:
                        self.engine.abort_request([rid])
                elif out.finished:
                    st["finish_reason"] = comp.finish_reason if comp.finish_reason in ("stop", "length") else "length"
                    open_ids.discard(rid)
        results = []
        for rid in order:
            st = states.pop(rid)
            st.pop("tracker")
            results.append(st)
        return results

    def sample(self, puzzles: Sequence[Puzzle], samples_per_puzzle: int, sampling: SamplingConfig, *,
               grader_mode: str = DEFAULT_MODE) -> list[dict]:
        """`samples_per_puzzle` graded sample records for every puzzle, puzzle-major order."""
        pairs = [(p, i) for p in puzzles for i in range(samples_per_puzzle)]
        return self.sample_pairs(pairs, sampling, grader_mode=grader_mode)

    def sample_pairs(self, pairs: Sequence[tuple[Puzzle, int]], sampling: SamplingConfig, *,
                     grader_mode: str = DEFAULT_MODE) -> list[dict]:
        """Graded records for explicit (puzzle, sample_index) pairs (used to resume)."""
        from deductive.grading import grade_details

        from deductive.evaluation.chance import options_if_parsable

        prompts: dict[str, list[int]] = {}
        options: dict[str, dict | None] = {}
        requests, seeds = [], []
        for puzzle, index in pairs:
            if puzzle.id not in prompts:
                prompts[puzzle.id] = self.prompt_token_ids(puzzle.prompt)
                options[puzzle.id] = options_if_parsable(puzzle)
            seed = sampling.sample_seed(puzzle.id, index)
            seeds.append(seed)
            requests.append((prompts[puzzle.id], seed))
        outputs = self.generate(requests, sampling)
        records = []
        for (puzzle, index), seed, out in zip(pairs, seeds, outputs):
            text = self.tokenizer.decode(out["completion_token_ids"], skip_special_tokens=True)
            graded = grade_details(text, puzzle.solution, mode=grader_mode, options=options[puzzle.id])
            records.append({
                "puzzle_id": puzzle.id, "sample_index": index, "model": self.model_name,
                "prompt_token_ids": out["prompt_token_ids"],
                "completion_token_ids": out["completion_token_ids"], "logprobs": out["logprobs"],
                "text": text, "finish_reason": out["finish_reason"], "abort_reason": out["abort_reason"],
                "reward": float(graded.score),
                "answered": graded.answered_share,
                "listed": graded.listed_share() if options[puzzle.id] is not None else None,
                "prompt_tokens": len(out["prompt_token_ids"]),
                "completion_tokens": len(out["completion_token_ids"]),
                "sampling": self.recorded_sampling(sampling, seed), "grader_mode": grader_mode,
                "weights_version": self.weights_version,
            })
        return records

    # ------------------------------------------------------------------ weights and memory
    def load_weights(self, state_dict_or_dir: Any) -> float:
        """Replace the live engine's weights; returns seconds taken.

        Accepts a directory of *.safetensors in Hugging Face naming (a training checkpoint),
        or a state dict of tensors in Hugging Face naming (written to a temporary directory
        and read back by vLLM's in-place reload). The prefix cache is cleared afterwards: its
        KV entries were computed with the old weights.
        """
        start = time.monotonic()
        if isinstance(state_dict_or_dir, (str, os.PathLike)):
            path = Path(state_dict_or_dir)
            if not any(path.glob("*.safetensors")):
                raise RolloutError(f"{path}: no *.safetensors weights to load")
            self.engine.collective_rpc("reload_weights", kwargs={"weights_path": str(path)})
        else:
            from safetensors.torch import save_file

            with tempfile.TemporaryDirectory(prefix="sampler-weights-") as tmp:
                tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict_or_dir.items()}
                save_file(tensors, str(Path(tmp) / "model.safetensors"), metadata={"format": "pt"})
                self.engine.collective_rpc("reload_weights", kwargs={"weights_path": tmp})
        self.llm.reset_prefix_cache()
        self.weights_version += 1
        return time.monotonic() - start

    def sleep(self, level: int = 1) -> None:
        """Free accelerator memory for a colocated trainer: level 1 keeps the weights in CPU
        memory, level 2 discards them (load new weights after `wake_up`). Does nothing when the
        engine was built without sleep mode (or the platform has none)."""
        if not self.sleep_mode:
            return
        self.llm.sleep(level=level)
        self.asleep = level

    def wake_up(self, tags: list[str] | None = None) -> None:
        """Reallocate the engine's memory (`tags`: "weights" and/or "kv_cache"; None: all)."""
        if not self.sleep_mode or self.asleep is None:
            return
        self.llm.wake_up(tags=tags)
        if tags is None or "kv_cache" in tags:
            self.asleep = None

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        self.llm = self.engine = None
        try:
            llm.llm_engine.engine_core.shutdown()
        except Exception:  # noqa: BLE001 - best effort on teardown
            pass
        del llm
        import gc

        gc.collect()

    def __enter__(self) -> "Sampler":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sample_to_file(sampler: Sampler, puzzles: Sequence[Puzzle], k: int, sampling: SamplingConfig,
                   out_path: str | os.PathLike, *, grader_mode: str = DEFAULT_MODE, chunk_puzzles: int = 8,
                   label: str = "sample") -> dict:
    """Sample k completions per puzzle into a JSON Lines file, resumably.

    Records already in the file (same puzzle id and sample index) are not sampled again; a
    file written with other sampling parameters or grader mode is refused rather than mixed.
    Returns a summary {"records", "new", "resumed", "mean_reward", "seconds"}.
    """
    out_path = Path(out_path)
    wanted = {(p.id, i) for p in puzzles for i in range(k)}
    done: set[tuple[str, int]] = set()
    rewards: list[float] = []
    if out_path.exists():
        for rec in iter_jsonl(out_path):
            key = (rec["puzzle_id"], rec["sample_index"])
            recorded = {kk: vv for kk, vv in rec["sampling"].items() if kk in sampling.to_dict()}
            if recorded != sampling.to_dict() or rec.get("grader_mode") != grader_mode:
                raise RolloutError(f"{out_path}: existing records were sampled with other settings "
                                   f"({recorded}, grader {rec.get('grader_mode')}); use another --out")
            if key in wanted:
                done.add(key)
                rewards.append(rec["reward"])
    todo = [(p, i) for p in puzzles for i in range(k) if (p.id, i) not in done]
    progress = Progress(total=len(wanted), label=label, unit="samples", already_done=len(done))
    start = time.monotonic()
    tokens = 0
    with JsonlAppender(out_path) as appender:
        step = max(1, chunk_puzzles * k)
        for lo in range(0, len(todo), step):
            for rec in sampler.sample_pairs(todo[lo:lo + step], sampling, grader_mode=grader_mode):
                appender.write(rec)
                rewards.append(rec["reward"])
                tokens += rec["completion_tokens"]
                progress.advance()
    seconds = time.monotonic() - start
    mean = sum(rewards) / len(rewards) if rewards else float("nan")
    summary = {"records": len(done) + len(todo), "new": len(todo), "resumed": len(done),
               "mean_reward": mean, "completion_tokens_new": tokens, "seconds": seconds}
    print(progress.summary(f"mean reward {mean:.3f}, {tokens} new completion tokens"), flush=True)
    return summary
