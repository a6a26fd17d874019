"""LoRA against full fine-tuning of one model, each under its own profile's training settings:
the trainer's side of an iteration measured alone, one fresh process per arm.

Per arm: trainable and total parameters, seconds per optimiser pass over one iteration's rows
(best and median of `repeats`, after a warm-up), seconds to build the weights the engine gets
(with LoRA: every adapter merged into its base matrix), the process's peak resident memory after
the steps (and, sampled, during the timed steps only) and after a checkpoint, and the checkpoint's bytes by part (weights for the engine,
adapters, optimiser state). The rows are synthetic but shaped like the profile's iterations
(`puzzles_per_iteration` groups of `samples_per_puzzle` completions of the profile's prompt and
completion lengths, packed into `row_tokens`), so both arms train on the same tokens.

`python -m deductive.bench.lora --arm PROFILE --run RUN --model-dir DIR ...` measures one arm and
prints its JSON; `compare` starts one such process per arm, so each arm's peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class _SampledPeak:
    """Peak resident memory inside a `with` block, sampled every `interval` seconds from
    /proc/self/statm (getrusage's peak cannot be reset, so it also counts the warm-up)."""

    def __init__(self, interval: float = 0.005):
        import os
        import threading

        self.interval, self.page = interval, os.sysconf("SC_PAGE_SIZE")
        self.peak, self._stop, self._thread = 0, threading.Event(), threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> "_SampledPeak":
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def gib(self) -> float:
        return self.peak / 2**30


def _bytes(paths) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def measure_arm(profile: str, run: str, model_dir: Path, *, prompt_len: int, completion_lengths: tuple[int, int],
                repeats: int, seed: int = 0) -> dict:
    import numpy as np
    import torch
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    from deductive.bench.training import synthetic_group_samples
    from deductive.config import load_config
    from deductive.settings import TrainingSettings
    from deductive.training import checkpoint as ckpt
    from deductive.training import distributed
    from deductive.training.advantages import assign_advantages
    from deductive.training.packing import pack
    from deductive.training.step import make_optimizer, optimise
    from deductive.training.tune_model import (build_model, hf_to_tune, is_adapter_key, load_hf_state_dict,
                                               merged_weights, starting_weights, tune_to_hf)

    torch.manual_seed(seed)
    cfg = TrainingSettings.from_config(load_config(profile), run)
    d = distributed.Dist(world=1, rank=0, local_rank=0, device=torch.device("cpu"))
    if cfg.dtype != "float32" or cfg.memory.fsdp_cpu_offload:
        raise ValueError(f"{profile}: this CPU benchmark runs float32 without offload, as the CPU profiles train")
    model = build_model(model_dir, max_seq_len=cfg.row_tokens, lora=cfg.lora)
    weights = starting_weights(model_dir, None, cfg.lora, adapter_seed=seed,
                               base=lambda: hf_to_tune(load_hf_state_dict(model_dir), model_dir))
    model.load_state_dict(weights, strict=True)
    del weights
    if cfg.memory.activation_checkpointing:
        distributed.activation_checkpointing(model)
    rss_loaded = _rss_gib()
    samples = assign_advantages(synthetic_group_samples(
        np.random.default_rng(seed), puzzles=cfg.puzzles_per_iteration, k=cfg.samples_per_puzzle,
        prompt_len=prompt_len, completion_lengths=completion_lengths, vocab=model.tok_embeddings.num_embeddings))
    rows = pack(samples, cfg.row_tokens)
    optimizer = make_optimizer(model, cfg.optimizer)
    optimise(model, optimizer, rows, cfg.step, d)  # warm-up, and the AdamW moments exist from here
    times = []
    with _SampledPeak() as during_steps:
        for _ in range(repeats):
            t = time.perf_counter()
            optimise(model, optimizer, rows, cfg.step, d)
            times.append(time.perf_counter() - t)
    rss_steps = _rss_gib()

    t = time.perf_counter()
    state = distributed.full_state(model, d)  # as the loop gathers it
    adapters = {k: v for k, v in state.items() if is_adapter_key(k)} if cfg.lora else None
    hf_state = tune_to_hf(merged_weights(state, cfg.lora), model_dir)
    engine_seconds = time.perf_counter() - t
    with tempfile.TemporaryDirectory(prefix="bench-lora-") as tmp:
        saved = ckpt.save(Path(tmp), 1, hf_state=hf_state, base_model_dir=model_dir, adapters=adapters,
                          optimizer_state=get_optimizer_state_dict(model, optimizer), state={"iteration": 1})
        files = [p for p in saved.rglob("*") if p.is_file()]
        optimizer_bytes = _bytes(p for p in files if "optimizer" in p.relative_to(saved).parts)
        adapter_bytes = _bytes(p for p in files if p.name == ckpt.ADAPTERS)
        weight_bytes = _bytes(p for p in files if p.suffix == ".safetensors")
        total_bytes = _bytes(files)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "profile": profile, "run": run, "method": f"LoRA rank {cfg.lora.rank}" if cfg.lora else "full",
        "learning_rate": cfg.optimizer.lr, "trainable_params": trainable,
        "total_params": sum(p.numel() for p in model.parameters()),
        "rows": len(rows), "real_tokens": rows.real_tokens, "completion_tokens": rows.completion_tokens,
        "step_seconds_best": min(times), "step_seconds_median": statistics.median(times), "repeats": repeats,
        "engine_weights_seconds": engine_seconds,
        "peak_rss_gib_loaded": rss_loaded, "peak_rss_gib_after_steps": rss_steps,
        "peak_rss_gib_timed_steps": during_steps.gib, "peak_rss_gib": _rss_gib(),
        "checkpoint_bytes": total_bytes, "checkpoint_weights_bytes": weight_bytes,
        "checkpoint_adapter_bytes": adapter_bytes, "checkpoint_optimizer_bytes": optimizer_bytes,
        "torch_threads": torch.get_num_threads(),
    }


def compare(arms: list[str], run: str, model_dir: Path, *, prompt_len: int, completion_lengths: tuple[int, int],
            repeats: int) -> list[dict]:
    """One fresh process per arm (its peak memory its own), in the given order."""
    out = []
    for profile in arms:
        cmd = [sys.executable, "-m", "deductive.bench.lora", "--arm", profile, "--run", run,
               "--model-dir", str(model_dir), "--prompt-len", str(prompt_len),
               "--completion-lengths", str(completion_lengths[0]), str(completion_lengths[1]),
               "--repeats", str(repeats)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"bench arm {profile} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def table(results: list[dict]) -> list[str]:
    """Markdown rows, one per arm, with the ratio to the first arm where it helps."""
    first = results[0]
    lines = ["| method | lr | trainable params | step s (best / median) | engine weights s | peak RSS GiB "
             "(loaded / warm-up and steps / timed steps only / with checkpoint) | checkpoint MiB (weights + adapters + optimiser) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        mib = lambda key: r[key] / 2**20
        lines.append(
            f"| {r['method']} | {r['learning_rate']:g} | {r['trainable_params'] / 1e6:.2f} M of "
            f"{r['total_params'] / 1e6:.2f} M | {r['step_seconds_best']:.2f} / {r['step_seconds_median']:.2f} "
            f"({r['step_seconds_median'] / first['step_seconds_median']:.2f}x) | {r['engine_weights_seconds']:.2f} | "
            f"{r['peak_rss_gib_loaded']:.2f} / {r['peak_rss_gib_after_steps']:.2f} / "
            f"{r['peak_rss_gib_timed_steps']:.2f} / {r['peak_rss_gib']:.2f} | "
            f"{mib('checkpoint_bytes'):.0f} ({mib('checkpoint_weights_bytes'):.0f} + "
            f"{mib('checkpoint_adapter_bytes'):.1f} + {mib('checkpoint_optimizer_bytes'):.1f}) |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="one arm of the LoRA-against-full benchmark (prints JSON)")
    parser.add_argument("--arm", required=True, help="profile whose training settings this arm uses")
    parser.add_argument("--run", required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--prompt-len", type=int, required=True)
    parser.add_argument("--completion-lengths", type=int, nargs=2, required=True)
    parser.add_argument("--repeats", type=int, required=True)
    args = parser.parse_args(argv)
    result = measure_arm(args.arm, args.run, args.model_dir, prompt_len=args.prompt_len,
                         completion_lengths=tuple(args.completion_lengths), repeats=args.repeats)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
