"""Memory plan of a training run, per GPU, before anything starts (scripts/preflight.py).

An estimate, not a measurement (nothing here has been checked on a GPU): bytes per GPU of one
rank of an FSDP2 run over `gpus` GPUs, with bf16 (2-byte) parameters, while the optimiser step
runs (the engine asleep or not):

- weights: sharded P*b/N, plus the unsharded working set FSDP gathers (two decoder layers:
  the current one and the prefetched next one, and the embedding or output matrix, V*H).
  With `memory.fsdp_cpu_offload` only the working set is on the GPU.
- gradients: sharded P*b/N (offload: one layer's being reduced, the rest on the CPU).
- optimiser: AdamW's two moments in the parameter dtype, 2*P*b/N (offload: on the CPU).
- activations: T = rows_per_device_per_step * row_tokens tokens. With activation checkpointing
  every layer keeps its input (T*H*b each) and one layer is recomputed at a time, whose working
  set is T*(4H + 2*kv + 3I)*b (q/k/v/o, attention output, MLP gate/up/product); without it,
  every layer keeps its working set. Flex attention never forms the T x T score matrix.
- logits: at most T positions predict a completion token: bf16 logits T*V*b, plus one float32
  chunk of `num_output_chunks` (its log-softmax and gradient: 2 * T*V*4/chunks).
- vLLM: with `sleep_engine_while_training` (level 2) what a sleeping engine keeps (1 GiB);
  otherwise `gpu_memory_utilization` of the GPU.
- reserve: CUDA context, NCCL buffers and allocator fragmentation (3 GiB).

A plan that exceeds the GPU's memory is refused with the setting to change for the largest part.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

GiB = 2**30
BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}
VLLM_ASLEEP_GIB = 1.0
RESERVE_GIB = 3.0
PREFETCHED_LAYERS = 2


@dataclass(frozen=True)
class Arch:
    layers: int
    hidden: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    tied: bool = False

    @property
    def kv_dim(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    @property
    def layer_params(self) -> int:
        """q/k/v (with biases, Qwen2), o, gate/up/down, two RMSNorms."""
        H, kv = self.hidden, self.kv_dim
        attention = H * H + H + 2 * (H * kv + kv) + H * H
        return attention + 3 * H * self.intermediate + 2 * H

    @property
    def params(self) -> int:
        embed = self.vocab * self.hidden
        return self.layers * self.layer_params + self.hidden + embed * (1 if self.tied else 2)

    @classmethod
    def from_hf_config(cls, cfg: dict) -> "Arch":
        return cls(layers=cfg["num_hidden_layers"], hidden=cfg["hidden_size"],
                   intermediate=cfg["intermediate_size"], vocab=cfg["vocab_size"],
                   heads=cfg["num_attention_heads"], kv_heads=cfg["num_key_value_heads"],
                   tied=bool(cfg.get("tie_word_embeddings", False)))


# Architectures of the paper profile's models (their config.json), so the plan needs no download.
KNOWN = {
    "Qwen/Qwen2.5-1.5B-Instruct": Arch(28, 1536, 8960, 151936, 12, 2, tied=True),
    "Qwen/Qwen2.5-14B-Instruct": Arch(48, 5120, 13824, 152064, 40, 8),
    "Qwen/Qwen2.5-32B-Instruct": Arch(64, 5120, 27648, 152064, 40, 8),
}


@dataclass
class Plan:
    run: str
    gpus: int
    gpu_gib: float
    parts: dict[str, float]  # GiB per GPU
    cpu_gib: float           # GiB of host memory per node (offloaded state + rank 0's full copy)
    fatal: str | None = None

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def lines(self) -> list[str]:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in self.parts.items())
        out = [f"memory plan {self.run} (estimate, GiB per GPU of {self.gpu_gib:.0f}, {self.gpus} GPUs): "
               f"{parts}; total {self.total:.1f}" + (" - does not fit" if self.fatal else " - fits"),
               f"  host memory: about {self.cpu_gib:.0f} GiB per node (offloaded shards, rank 0's full copy)"]
        return out


def settings_to_change(run: str) -> dict[str, str]:
    offload = (f"turn on training.memory.fsdp_cpu_offload or add GPUs (training.runs.{run}.gpus_required)")
    return {"weights": offload, "gradients": offload, "optimizer": offload,
            "activations": "lower training.rows_per_device_per_step or training.row_tokens, or turn on "
                           "training.memory.activation_checkpointing",
            "logits": "raise training.num_output_chunks or lower training.rows_per_device_per_step",
            "vllm": "turn on training.sleep_engine_while_training or lower "
                    "training.sampling.engine.gpu_memory_utilization",
            "reserve": "use GPUs with more memory"}


def plan(arch: Arch, *, run: str, gpus: int, gpu_gib: float, row_tokens: int, rows: int,
         dtype: str = "bfloat16", cpu_offload: bool = True, activation_checkpointing: bool = True,
         output_chunks: int = 1, sleep_engine: bool = True, vllm_utilization: float = 0.0) -> Plan:
    b = BYTES[dtype]
    P, N = arch.params, max(1, gpus)
    H, I, V, L = arch.hidden, arch.intermediate, arch.vocab, arch.layers
    working_weights = (PREFETCHED_LAYERS * arch.layer_params + V * H) * b
    T = rows * row_tokens
    layer_working = T * (4 * H + 2 * arch.kv_dim + 3 * I) * b
    parts = {
        "weights": working_weights + (0 if cpu_offload else P * b / N),
        "gradients": arch.layer_params * b if cpu_offload else P * b / N,
        "optimizer": 0 if cpu_offload else 2 * P * b / N,
        "activations": (L * T * H * b + layer_working) if activation_checkpointing else L * layer_working,
        "logits": T * V * b + 2 * T * V * 4 / max(1, output_chunks),
        "vllm": VLLM_ASLEEP_GIB * GiB if sleep_engine else vllm_utilization * gpu_gib * GiB,
        "reserve": RESERVE_GIB * GiB,
    }
    parts = {k: v / GiB for k, v in parts.items()}
    cpu = (4 * P * b if cpu_offload else 0) + 2 * P * b  # params + grads + 2 moments; rank 0 gather + load
    out = Plan(run=run, gpus=N, gpu_gib=gpu_gib, parts=parts, cpu_gib=cpu / GiB)
    if out.total > gpu_gib:
        change = settings_to_change(run)
        worst = max((k for k in parts if parts[k] > 0), key=lambda k: parts[k] if k != "reserve" else -1)
        out.fatal = (f"training run {run} needs about {out.total:.0f} GiB per GPU, more than the "
                     f"{gpu_gib:.0f} GiB of each of its {N} GPUs (largest part: {worst} {parts[worst]:.0f} GiB): "
                     f"{change[worst]}")
    return out


def arch_of(config: dict, model: str, models_dir: Path) -> Arch | None:
    spec = config["models"].get(model, {})
    local = models_dir / model / "config.json"
    if local.is_file():
        return Arch.from_hf_config(json.loads(local.read_text(encoding="utf-8")))
    return KNOWN.get(spec.get("repo_id") or spec.get("stands_for") or "")


def run_plans(config: dict, gpu_gib: float, models_dir: Path) -> tuple[list[Plan], list[str]]:
    """A plan per training run of a hub model; lines for runs without a known architecture."""
    from deductive.preflight import MINIMUM_GPUS_BY_SIZE
    from deductive.training.loop import run_config

    plans, notes = [], []
    runs = (config.get("training") or {}).get("runs") or {}
    for name in sorted(runs):
        cfg = run_config(config, name)
        model = cfg.get("model", name)
        if config["models"].get(model, {}).get("source") != "hub":
            continue
        arch = arch_of(config, model, models_dir)
        if arch is None:
            notes.append(f"memory plan {name}: architecture of {model} unknown (no {models_dir / model}"
                         "/config.json); not estimated")
            continue
        mem = cfg.get("memory") or {}
        gpus = int(cfg.get("gpus_required") or 0) or next(
            g for threshold, g in MINIMUM_GPUS_BY_SIZE if arch.params / 1e9 >= threshold)
        plans.append(plan(arch, run=name, gpus=gpus, gpu_gib=gpu_gib, row_tokens=int(cfg["row_tokens"]),
                          rows=int(cfg["rows_per_device_per_step"]), dtype=cfg.get("dtype", "bfloat16"),
                          cpu_offload=bool(mem.get("fsdp_cpu_offload")),
                          activation_checkpointing=bool(mem.get("activation_checkpointing")),
                          output_chunks=int(cfg.get("num_output_chunks") or 1),
                          sleep_engine=bool(cfg.get("sleep_engine_while_training")),
                          vllm_utilization=float(cfg["sampling"]["engine"]["gpu_memory_utilization"])))
    return plans, notes
