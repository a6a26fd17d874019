"""How many training processes a run starts, on which GPUs (scripts/launch_torchrun.sh asks
`python -m deductive.training.placement <train.py's arguments>`; preflight asks `place(...)` for
a node shape).

The vLLM engine runs on rank 0's node with tensor parallelism over the run's GPUs
(`sampling.engine.tensor_parallel_size`, 0 = all of them), and vLLM accepts only sizes that
divide the model's attention heads and MLP width and divide, or are a multiple of, its KV heads
(Qwen2.5-14B and -32B, 40 heads and 8 KV heads: 1, 2, 4 or 8; Qwen2.5-1.5B: 1, 2 or 4). So:

- `training.runs.<run>.world_size` given (> 0): exactly that many processes; refused when the
  node has fewer GPUs, fewer than `gpus_required`, or (engine over all of them) an engine size
  vLLM does not accept.
- 0 (the default): the largest count of the node's GPUs, at least `gpus_required`, that the
  engine accepts (on a 6-GPU node a 14B run takes 4; on 8 GPUs, 8), and the launch says so.
- No GPU: `world_size` processes on the CPU (gloo; 1 when 0), for tests and the CPU profiles.

The launcher then shows the run only those GPUs (`CUDA_VISIBLE_DEVICES`), gives each process
its share of the CPU cores (`OMP_NUM_THREADS`: CPU-offloaded AdamW runs in every rank), and
sets the allocator setting the memory plan assumes (`expandable_segments:True`; vLLM 0.32's sleep
mode switches it off inside its own memory pool and back).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path


class PlacementError(ValueError):
    """A node shape or setting the run cannot start with; the message names the setting."""


@dataclass(frozen=True)
class Placement:
    processes: int
    gpus: tuple[int, ...]  # device indices shown to the run (empty on a CPU)
    engine_tp: int         # the engine's tensor-parallel size (0 on a CPU: not used)
    reason: str

    def line(self, run: str) -> str:
        where = f"GPUs {','.join(map(str, self.gpus))}" if self.gpus else "the CPU"
        engine = f", engine tensor parallel {self.engine_tp}" if self.gpus else ""
        return f"training run {run}: {self.processes} process(es) on {where}{engine} ({self.reason})"


def engine_sizes(heads: int, kv_heads: int, intermediate: int | None = None, limit: int = 64) -> list[int]:
    """Tensor-parallel sizes vLLM accepts for a model with these attention and KV heads and MLP
    width (its column-parallel layers split heads and the MLP evenly; KV heads are split or
    replicated)."""
    return [t for t in range(1, limit + 1) if heads % t == 0 and (kv_heads % t == 0 or t % kv_heads == 0)
            and (intermediate is None or intermediate % t == 0)]


def place(run: str, cfg: dict, heads: int, kv_heads: int, visible_gpus: int,
          intermediate: int | None = None) -> Placement:
    """The placement of training run `run` (its merged settings `cfg`) on a node with
    `visible_gpus` GPUs (see the module docstring)."""
    asked = int(cfg["world_size"])  # 0: choose (the schema's default)
    need = int(cfg.get("gpus_required") or 0)  # optional, no default: absent = the CPU will do
    tp = int(cfg["sampling"]["engine"]["tensor_parallel_size"])  # 0: as many as the processes
    valid = engine_sizes(heads, kv_heads, intermediate)
    where = f"training.runs.{run}"
    if visible_gpus == 0:
        if need:
            raise PlacementError(f"training run {run} needs {need} GPUs ({where}.gpus_required) and this node has "
                                 "none; use a CPU profile (make smoke) or a GPU node")
        return Placement(max(1, asked), (), 0, "no GPU: gloo processes on the CPU" if asked > 1 else "no GPU")
    if tp and tp not in valid:
        raise PlacementError(f"training run {run}: sampling.engine.tensor_parallel_size {tp} is not accepted by vLLM "
                             f"for {heads} attention / {kv_heads} KV heads (valid: {', '.join(map(str, valid))})")
    if asked:
        if asked > visible_gpus:
            raise PlacementError(f"training run {run}: {where}.world_size is {asked} and this node has "
                                 f"{visible_gpus} GPUs; lower it or use a larger node")
        if asked < need:
            raise PlacementError(f"training run {run}: {where}.world_size {asked} is below its gpus_required ({need})")
        engine = tp or asked
        if engine not in valid or engine > asked:
            raise PlacementError(f"training run {run}: the engine would run tensor parallel over {engine} GPUs, which "
                                 f"vLLM does not accept for {heads} attention / {kv_heads} KV heads (valid: "
                                 f"{', '.join(map(str, valid))}); set {where}.world_size to one of those or set "
                                 "sampling.engine.tensor_parallel_size")
        return Placement(asked, tuple(range(asked)), engine, f"{where}.world_size")
    counts = [n for n in range(visible_gpus, 0, -1) if n >= max(1, need) and (tp or n) in valid and (tp or n) <= n]
    if not counts:
        raise PlacementError(f"training run {run} needs at least {need} GPUs with an engine size vLLM accepts "
                             f"for {heads} attention / {kv_heads} KV heads ({', '.join(map(str, valid))}); this node "
                             f"has {visible_gpus}: use another node or set {where}.world_size")
    n = counts[0]
    why = ("every GPU of the node" if n == visible_gpus else
           f"the largest count of the node's {visible_gpus} GPUs the engine accepts; set {where}.world_size to choose")
    return Placement(n, tuple(range(n)), tp or n, why)


def visible_gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken CUDA install counts as no GPU
        return 0


def main(argv: list[str] | None = None) -> int:
    """Print `PROCESSES DEVICES` (DEVICES comma-separated, `-` on a CPU) for train.py's arguments;
    the reason goes to stderr. Exit 2 with an `error:` line when the run cannot start here."""
    from deductive.config import ConfigError, load_config
    from deductive.settings import training_section

    parser = argparse.ArgumentParser(description="placement of a training run (scripts/launch_torchrun.sh)")
    parser.add_argument("--config", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    args, _ = parser.parse_known_args(argv)
    try:
        cfg = training_section(load_config(args.config), args.run)
        arch = json.loads((args.model_dir / "config.json").read_text(encoding="utf-8"))
        p = place(args.run, cfg, arch["num_attention_heads"], arch["num_key_value_heads"], visible_gpu_count(),
                  intermediate=arch.get("intermediate_size"))
    except (ConfigError, PlacementError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(p.line(args.run), file=sys.stderr)
    print(p.processes, ",".join(map(str, p.gpus)) or "-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
