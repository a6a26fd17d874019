"""Memory plan of a training run, per GPU, before anything starts (scripts/preflight.py,
`--plan NxGIB` for a node shape without its GPUs; gpu_check.py sets it beside a measurement).

An estimate from the architecture and the settings, in two phases that never overlap on a GPU.
Calibrated against `make gpu-check` on one H200 (results/gpu-check/: the 14B and 32B layer and
vocabulary shapes at 2-8 layers and the 1.5B shape): the step's tensors came out 2-7% below
this plan in all five measurements.

**Optimiser step** (the engine asleep), bytes per GPU of one rank of an FSDP2 run over N GPUs,
b bytes per parameter (`training.dtype`), T = rows_per_device_per_step x row_tokens tokens.
Held through the whole step:

- parameter, gradient and optimiser shards: P*b/N each for parameters and gradients and
  2*P*b/N for AdamW's moments (in the parameter dtype); 0 on the GPU with
  `memory.fsdp_cpu_offload` (they live in host memory).
- root unit gathered: FSDP2 never reshards the root unit (embedding, final norm and an untied
  output matrix) between forward and backward, so (V*H*(1 or 2) + H)*b stay gathered through
  the step (with offload, plus the shard copied up to gather from).
- output gradient: the unsharded gradient of the output matrix, V*H*b, is formed when the
  backward pass starts and reduce-scattered with the root unit's, at its end.
- checkpointed inputs: with activation checkpointing each layer keeps its input, the decoder
  its final hidden states and the output its normalised completion positions: (L + 2) x T*H*b
  (measured: 0.31 GiB per layer at T = 32768, H = 5120, exactly T*H*b).

Then the larger of two working sets (they come one after the other in the backward pass):

- layer recompute: the layer being recomputed and the one prefetched, gathered (2 x layer
  parameters x b, plus their shards copied up with offload), one layer's unsharded gradient,
  and the recomputed layer's tensors: per token two float32 norm inputs and their gradients
  (4 x 4H bytes), q, K and V expanded to all heads (GQA), the attention output, the output
  projection and the residual (6 x H*b), K/V before expansion (2 x kv*b) and three MLP-wide
  tensors (3 x I*b; the measurement gives 2.5). Without activation checkpointing every layer
  keeps its tensors.
- output chunk: each piece of ceil(T / `num_output_chunks`) = c completion positions computes
  its own logits (packing.packed_logprobs), recomputed in backward: bf16 logits, their float32
  copy, the log-sum-exp's exponentials, the float32 gradient and its bf16 copy, c*V*(2b + 12)
  bytes, beside one gathered layer. No tensor of all T positions times V exists. (An upper
  bound: on the measured shapes this phase was never the peak.)

And beside the tensors:

- allocator: the caching allocator's reserve beyond its tensors: `ALLOCATOR_OVERHEAD` of them
  with `expandable_segments:True`, which the launcher sets (measured 0.32 on the 14B shape; 0.78
  without expandable segments).
- CUDA context and NCCL buffers of the trainer (`CONTEXT_GIB` + `NCCL_GIB`).
- engine asleep: what a vLLM engine at sleep level 2 keeps on each GPU: its CUDA context,
  CUDA-graph pool and NCCL buffers (`ENGINE_ASLEEP_GIB`; not measured: no vLLM on the H200).

**Sampling** (the engine awake): the engine's share `gpu_memory_utilization` x GPU memory (vLLM
keeps its weights, activations and KV cache inside it), its process's CUDA context, and what the
trainer keeps while it waits: its CUDA context and, without CPU offload, its parameter and
optimiser shards (every rank empties its allocator cache before the engine wakes,
training/loop.py).

The share must also hold the engine's model: per GPU its weights, P*b_e / t (t its tensor-parallel
size, b_e the engine's dtype), its working memory (vLLM sizes its KV cache after a profiling
forward pass: the plan counts one pass over max_model_len tokens, 3 MLP-wide tensors split by t
and 4 hidden-wide ones per token, plus `ENGINE_GRAPHS_GIB` of CUDA graphs unless
`enforce_eager`), and at least the KV cache of one sequence of max_model_len tokens,
2 x L x kv x max_model_len x b_e / min(t, KV heads): vLLM refuses to start with less. What is
left beyond weights and working memory is the engine's KV cache; the plan prints it in sequences
of max_model_len tokens (a small cache samples few completions at a time: slow, not refused).
None of the engine's parts is measured (no vLLM on the H200).

**LoRA** (`training.lora`, not measured on a GPU: the GPU check measured full fine-tuning
only). The base weights are frozen; rank-r adapters on the chosen projections add r x (in + out)
parameters per adapted matrix (A). What changes:

- parameter shards: (P + A)*b/N; gradient shards and AdamW moments: the adapters' only, A*b/N
  and 2*A*b/N (all 0 on the GPU with CPU offload, as for full fine-tuning);
- output gradient: no unsharded V x H gradient (the frozen output matrix gets none; the
  gradient still flows through it to the hidden states, which the output chunk counts); with
  `output` adapted, its adapter's r x (H + V) (and the output chunk its adapter's c x V logits);
- layer recompute: the layer's unsharded gradient is its adapters', and the gathered layers carry
  their adapters; with `dropout` > 0 each adapted projection keeps its dropped input and mask
  ((b + 1) bytes per input element per token);
- host memory: the base weights (rank 0's full copy, while loading and again at each hand-off,
  gathered and merged in place; plus the offloaded copy with CPU offload) and the adapters'
  parameters, gradients and moments, 4*A*b.

Everything else (root unit gathered, checkpointed inputs, the recomputed layer's tensors, output
chunk, allocator, contexts, the engine) is as for full fine-tuning: the engine serves the merged
weights, P*b_e / t.

A run fits when both phases fit and the engine's share holds its model; otherwise it is refused
with the setting to change for the largest part.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

GiB = 2**30
BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}
ENGINE_ASLEEP_GIB = 2.0      # vLLM sleep level 2: context, CUDA-graph pool, NCCL buffers (not measured)
ALLOCATOR_OVERHEAD = 0.35    # reserved beyond the tensors, expandable segments (measured 0.32, H200)
CONTEXT_GIB = 0.6            # one CUDA context (a process that touches the GPU)
NCCL_GIB = 0.5               # NCCL's buffers of the trainer's process group
ENGINE_GRAPHS_GIB = 1.0      # vLLM's CUDA-graph pool inside its share (not measured; 0 with enforce_eager)
PREFETCHED_LAYERS = 2
VALID_TP = (1, 2, 4, 8)      # tensor-parallel sizes vLLM accepts for 40 heads / 8 KV heads
# The original's stated minimum GPUs for a model's size (method.md section 1): (billions >=, GPUs)
MINIMUM_GPUS_BY_SIZE = ((30.0, 4), (10.0, 2), (0.0, 1))


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
    def root_params(self) -> int:
        """Embedding, final norm and (untied) output matrix: FSDP2's root unit."""
        return self.vocab * self.hidden * (1 if self.tied else 2) + self.hidden

    @property
    def params(self) -> int:
        return self.layers * self.layer_params + self.root_params

    def lora_layer_params(self, lora: dict) -> int:
        """Adapter parameters of one layer: r x (in + out) per adapted projection."""
        H, kv, I, r = self.hidden, self.kv_dim, self.intermediate, int(lora["rank"])
        shapes = {"q_proj": (H, H), "k_proj": (H, kv), "v_proj": (H, kv), "output_proj": (H, H)}
        n = sum(r * sum(shapes[m]) for m in lora["attn_modules"])
        return n + (3 * r * (H + I) if lora["mlp"] else 0)

    def lora_output_params(self, lora: dict) -> int:
        return int(lora["rank"]) * (self.hidden + self.vocab) if lora["output"] else 0

    def lora_params(self, lora: dict) -> int:
        """Every adapter parameter (what a LoRA run trains)."""
        return self.layers * self.lora_layer_params(lora) + self.lora_output_params(lora)

    def lora_dropout_inputs(self, lora: dict) -> int:
        """Per token, the input elements of the adapted projections of one layer (each keeps its
        own dropped copy when dropout > 0)."""
        H, I = self.hidden, self.intermediate
        ins = {"q_proj": H, "k_proj": H, "v_proj": H, "output_proj": H}
        return sum(ins[m] for m in lora["attn_modules"]) + ((2 * H + I) if lora["mlp"] else 0)

    @classmethod
    def from_hf_config(cls, cfg: dict) -> "Arch":
        return cls(layers=cfg["num_hidden_layers"], hidden=cfg["hidden_size"],
                   intermediate=cfg["intermediate_size"], vocab=cfg["vocab_size"],
                   heads=cfg["num_attention_heads"], kv_heads=cfg["num_key_value_heads"],
                   tied=bool(cfg.get("tie_word_embeddings", False)))

    def hf_config(self) -> dict:
        """A Qwen2 config.json of this shape (random-weight checks; rope and norm as Qwen2.5's)."""
        return {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": self.hidden,
                "intermediate_size": self.intermediate, "num_hidden_layers": self.layers,
                "num_attention_heads": self.heads, "num_key_value_heads": self.kv_heads,
                "vocab_size": self.vocab, "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
                "rope_theta": 1000000.0, "tie_word_embeddings": self.tied, "torch_dtype": "bfloat16"}


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
    step: dict[str, float]      # GiB per GPU at the optimiser step's peak (engine asleep)
    sampling: dict[str, float]  # GiB per GPU while the engine samples
    cpu_gib: float              # GiB of host memory per node (offloaded state + rank 0's full copy)
    fatal: str | None = None
    placement: str | None = None  # the placement line (deductive.training.placement), if placed
    engine: dict[str, float] = field(default_factory=dict)  # GiB per GPU inside the engine's share
    engine_tp: int = 0
    max_model_len: int = 0
    lora: str | None = None       # what a LoRA run trains, in words (None: full fine-tuning)

    @property
    def step_total(self) -> float:
        return sum(self.step.values())

    @property
    def sampling_total(self) -> float:
        return sum(self.sampling.values())

    @property
    def total(self) -> float:
        return max(self.step_total, self.sampling_total)

    @property
    def step_allocated_gib(self) -> float:
        """The step's tensors alone (what torch.cuda.max_memory_allocated measures): the step
        phase without the engine, contexts and allocator reserve."""
        return sum(v for k, v in self.step.items() if k in TENSOR_PARTS)

    def lines(self) -> list[str]:
        def fmt(parts):
            return ", ".join(f"{k} {v:.1f}" for k, v in parts.items() if v)

        if not self.step:  # not placed: nothing planned
            return [f"memory plan {self.run}: not planned ({self.fatal})"]
        verdict = " - does not fit" if self.fatal else " - fits"
        kind = ", LoRA" if self.lora else ""
        out = ([self.placement] if self.placement else []) + [
            f"memory plan {self.run} (estimate{kind}, GiB per GPU of {self.gpu_gib:.0f}, {self.gpus} GPUs){verdict}"]
        if self.lora:
            out.append(f"  LoRA: {self.lora}; base weights frozen (no gradient or AdamW state); not measured on a GPU")
        out += [f"  optimiser step: {fmt(self.step)}; total {self.step_total:.1f}",
                f"  sampling: {fmt(self.sampling)}; total {self.sampling_total:.1f}"]
        if self.engine:
            e = self.engine
            out.append(f"  engine share {e['share']:.1f}: weights {e['weights']:.1f} (tensor parallel {self.engine_tp}), "
                       f"working memory {e['working']:.1f}, KV cache {e['KV cache']:.1f} = "
                       f"{e['KV cache'] / e['KV per sequence']:.1f} sequences of {self.max_model_len} tokens "
                       f"(needs at least 1: {e['KV per sequence']:.1f})")
        host = ("frozen base weights: offloaded and rank 0's full copy; adapters' state" if self.lora
                else "offloaded shards, rank 0's full copy")
        return out + [f"  host memory: about {self.cpu_gib:.0f} GiB per node ({host})"]


TENSOR_PARTS = ("parameter shards", "gradient shards", "optimizer state", "root unit gathered", "output gradient",
                "checkpointed inputs", "layer recompute", "output chunk")


def settings_to_change(run: str) -> dict[str, str]:
    offload = f"turn on training.memory.fsdp_cpu_offload or add GPUs (training.runs.{run}.gpus_required)"
    activations = ("lower training.rows_per_device_per_step or training.row_tokens, or turn on "
                   "training.memory.activation_checkpointing")
    return {"parameter shards": offload, "gradient shards": offload, "optimizer state": offload,
            "root unit gathered": "use GPUs with more memory", "output gradient": "use GPUs with more memory",
            "checkpointed inputs": "lower training.rows_per_device_per_step or training.row_tokens",
            "layer recompute": activations,
            "output chunk": "raise training.num_output_chunks or lower training.rows_per_device_per_step",
            "engine": "lower training.sampling.engine.gpu_memory_utilization",
            "engine awake during the step": "turn on training.sleep_engine_while_training or lower "
                                            "training.sampling.engine.gpu_memory_utilization",
            "trainer while sampling": offload}


def step_parts(arch: Arch, *, gpus: int, row_tokens: int, rows: int, dtype: str, cpu_offload: bool,
               activation_checkpointing: bool, output_chunks: int,
               lora: dict | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(bytes per GPU of the optimiser step's tensors at its peak, the two working sets), the
    module docstring's parts: the held parts, then the larger working set under its own name.
    `lora`: the run's merged `training.lora` (None: full fine-tuning)."""
    b = BYTES[dtype]
    P, N = arch.params, max(1, gpus)
    H, I, V, L, kv = arch.hidden, arch.intermediate, arch.vocab, arch.layers, arch.kv_dim
    T = rows * row_tokens
    shard = 0 if cpu_offload else 1
    up_copy = 1.0 / N if cpu_offload else 0.0  # the shard copied to the GPU to gather from
    recomputed = T * (4 * 4 * H + 6 * H * b + 2 * kv * b + 3 * I * b)
    if lora:  # frozen base: only the adapters have gradients and AdamW moments
        layer_adapters, output_adapter = arch.lora_layer_params(lora), arch.lora_output_params(lora)
        trained, stored = arch.lora_params(lora), P + arch.lora_params(lora)
        layer_gradient = layer_adapters * b
        output_gradient = output_adapter * b
        if float(lora["dropout"]) > 0:  # each adapted projection's dropped input and mask
            recomputed += T * arch.lora_dropout_inputs(lora) * (b + 1)
    else:
        layer_adapters = output_adapter = 0
        trained = stored = P
        layer_gradient = arch.layer_params * b
        output_gradient = V * H * b
    gathered_layer = (arch.layer_params + layer_adapters) * b * (1 + up_copy)
    c = math.ceil(T / max(1, output_chunks))
    working = {
        "layer recompute": PREFETCHED_LAYERS * gathered_layer + layer_gradient
                           + (recomputed if activation_checkpointing else L * recomputed),
        # an adapted output adds its adapter's logits (c x V) before they join the base's
        "output chunk": c * V * (2 * b + 12 + (b if output_adapter else 0)) + gathered_layer,
    }
    peak = max(working, key=working.get)
    held = {
        "parameter shards": shard * stored * b / N,
        "gradient shards": shard * trained * b / N,
        "optimizer state": shard * 2 * trained * b / N,
        "root unit gathered": (arch.root_params + output_adapter) * b * (1 + up_copy),
        "output gradient": output_gradient,
        "checkpointed inputs": ((L + 2) * T * H * b) if activation_checkpointing else 2 * T * H * b,
    }
    return dict(held, **{peak: working[peak]}), working


def engine_parts(arch: Arch, *, tp: int, max_model_len: int, dtype: str, enforce_eager: bool) -> dict[str, float]:
    """Bytes per GPU of what the engine's share must hold (the module docstring): its weights,
    its working memory and the KV cache of one max_model_len sequence."""
    b = BYTES.get(dtype, 2)  # "auto": the checkpoint's dtype (bf16 for Qwen2.5)
    t = max(1, tp)
    working = max_model_len * (3 * arch.intermediate / t + 4 * arch.hidden) * b
    return {"weights": arch.params * b / t,
            "working": working + (0 if enforce_eager else ENGINE_GRAPHS_GIB * GiB),
            "KV per sequence": 2 * arch.layers * arch.kv_dim * max_model_len * b / min(t, arch.kv_heads)}


def lora_words(arch: Arch, lora: dict) -> str:
    where = list(lora["attn_modules"]) + (["the MLP's three projections"] if lora["mlp"] else []) \
        + (["the output projection"] if lora["output"] else [])
    return (f"rank {lora['rank']}, alpha {lora['alpha']:g} on {', '.join(where)}: "
            f"{arch.lora_params(lora) / 1e6:.1f}M adapter parameters ({arch.lora_params(lora) / arch.params:.2%} "
            f"of {arch.params / 1e9:.2f}B)")


def plan(arch: Arch, *, run: str, gpus: int, gpu_gib: float, row_tokens: int, rows: int, dtype: str,
         cpu_offload: bool, activation_checkpointing: bool, output_chunks: int, sleep_engine: bool,
         vllm_utilization: float = 0.0, placement: str | None = None, lora: dict | None = None,
         engine_tp: int = 0, max_model_len: int = 0, engine_dtype: str = "bfloat16",
         enforce_eager: bool = False) -> Plan:
    """The plan of one training run (the run's settings, no defaults: they live in the schema);
    `vllm_utilization` is the engine's share while it samples (0: no engine, gpu_check.py; the
    check that the share holds the model needs `max_model_len` too); `engine_tp` its
    tensor-parallel size (0: `gpus`); `lora` the run's merged `training.lora` (None: full
    fine-tuning)."""
    b = BYTES[dtype]
    P, N = arch.params, max(1, gpus)
    A = arch.lora_params(lora) if lora else 0
    tensors, _ = step_parts(arch, gpus=N, row_tokens=row_tokens, rows=rows, dtype=dtype, cpu_offload=cpu_offload,
                            activation_checkpointing=activation_checkpointing, output_chunks=output_chunks,
                            lora=lora)
    step = {k: v / GiB for k, v in tensors.items()}
    step["allocator"] = ALLOCATOR_OVERHEAD * sum(step.values())
    step["CUDA context and NCCL"] = CONTEXT_GIB + NCCL_GIB
    if sleep_engine:
        step["engine asleep"] = ENGINE_ASLEEP_GIB
    else:
        step["engine awake during the step"] = vllm_utilization * gpu_gib
    # parameter and optimiser shards (LoRA: the frozen base, the adapters and their moments)
    kept = 0.0 if cpu_offload else ((P + 3 * A) if lora else 3 * P) * b / N / GiB
    sampling = {"engine": vllm_utilization * gpu_gib, "engine context": CONTEXT_GIB,
                "trainer while sampling": CONTEXT_GIB + NCCL_GIB + kept}
    if lora:  # frozen base: rank 0's full copy (loading, then each hand-off) + the offloaded one; adapters
        cpu = (P * b if cpu_offload else 0) + P * b + 4 * A * b
    else:
        cpu = (4 * P * b if cpu_offload else 0) + 2 * P * b  # params + grads + 2 moments; rank 0 gather + load
    tp = engine_tp or N
    engine = {}
    if vllm_utilization and max_model_len:
        parts = engine_parts(arch, tp=tp, max_model_len=max_model_len, dtype=engine_dtype,
                             enforce_eager=enforce_eager)
        engine = {"share": vllm_utilization * gpu_gib, **{k: v / GiB for k, v in parts.items()}}
        engine["KV cache"] = engine["share"] - engine["weights"] - engine["working"]
    out = Plan(run=run, gpus=N, gpu_gib=gpu_gib, step=step, sampling=sampling, cpu_gib=cpu / GiB,
               placement=placement, engine=engine, engine_tp=tp, max_model_len=max_model_len,
               lora=lora_words(arch, lora) if lora else None)
    for phase, parts, total in (("optimiser step", step, out.step_total),
                                ("sampling phase", sampling, out.sampling_total)):
        if total > gpu_gib:
            change = settings_to_change(run)
            worst = max((k for k in parts if k in change), key=lambda k: parts[k])
            out.fatal = (f"training run {run} needs about {total:.0f} GiB per GPU in its {phase}, more than "
                         f"the {gpu_gib:.0f} GiB of each of its {N} GPUs (largest part: {worst} "
                         f"{parts[worst]:.0f} GiB): {change[worst]}")
            break
    if out.fatal is None and engine and engine["KV cache"] < engine["KV per sequence"]:
        needed = engine["weights"] + engine["working"] + engine["KV per sequence"]
        rest = out.sampling_total - engine["share"]
        least = math.ceil(needed / gpu_gib * 100) / 100
        key = "training.sampling.engine.gpu_memory_utilization"
        if least * gpu_gib + rest <= gpu_gib and least <= 1:
            change = (f"raise {key} to at least {least:.2f}, or add GPUs (training.runs.{run}.gpus_required and "
                      "world_size; the engine's tensor parallelism splits its weights)")
        else:
            change = (f"{key} cannot make room on these GPUs: add GPUs (training.runs.{run}.gpus_required; the "
                      "engine's tensor parallelism splits its weights) or use GPUs with more memory")
        out.fatal = (f"training run {run}: the engine's share of each GPU ({key} {vllm_utilization:g} x "
                     f"{gpu_gib:.0f} GiB = {engine['share']:.1f} GiB) cannot hold its model: weights "
                     f"{engine['weights']:.1f} GiB at tensor parallel {tp}, working memory {engine['working']:.1f} GiB "
                     f"and the KV cache of one {max_model_len}-token sequence ({engine['KV per sequence']:.1f} GiB) "
                     f"need {needed:.1f} GiB: {change}")
    return out


def arch_of(config: dict, model: str, models_dir: Path) -> Arch | None:
    spec = config["models"].get(model, {})
    local = models_dir / model / "config.json"
    if local.is_file():
        return Arch.from_hf_config(json.loads(local.read_text(encoding="utf-8")))
    return KNOWN.get(spec.get("repo_id") or spec.get("stands_for") or "")


def minimum_gpus(arch: Arch) -> int:
    return next(g for threshold, g in MINIMUM_GPUS_BY_SIZE if arch.params / 1e9 >= threshold)


def run_plans(config: dict, gpu_gib: float, models_dir: Path,
              visible_gpus: int | None = None) -> tuple[list[Plan], list[str]]:
    """A plan per training run of a hub model, for its placement on a node of `visible_gpus`
    GPUs (deductive.training.placement; None: its `gpus_required` or the stated minimum); lines
    for runs without a known architecture. A run that cannot be placed gets a fatal plan."""
    from deductive.settings import training_section
    from deductive.training.placement import PlacementError, place

    plans, notes = [], []
    runs = (config.get("training") or {}).get("runs") or {}
    for name in sorted(runs):
        cfg = training_section(config, name)
        model = cfg["model"]
        if config["models"].get(model, {}).get("source") != "hub":
            continue
        arch = arch_of(config, model, models_dir)
        if arch is None:
            notes.append(f"memory plan {name}: architecture of {model} unknown (no {models_dir / model}"
                         "/config.json); not estimated")
            continue
        mem, engine = cfg["memory"], cfg["sampling"]["engine"]
        gpus = int(cfg.get("gpus_required") or 0) or minimum_gpus(arch)
        placed = None
        if visible_gpus is not None:
            try:
                placed = place(name, dict(cfg, gpus_required=gpus), arch.heads, arch.kv_heads, visible_gpus,
                               intermediate=arch.intermediate)
                gpus = placed.processes
            except PlacementError as exc:
                plans.append(Plan(run=name, gpus=gpus, gpu_gib=gpu_gib, step={}, sampling={}, cpu_gib=0.0,
                                  fatal=str(exc)))
                continue
        plans.append(plan(arch, run=name, gpus=gpus, gpu_gib=gpu_gib, row_tokens=int(cfg["row_tokens"]),
                          rows=int(cfg["rows_per_device_per_step"]), dtype=cfg["dtype"],
                          cpu_offload=bool(mem["fsdp_cpu_offload"]),
                          activation_checkpointing=bool(mem["activation_checkpointing"]),
                          output_chunks=int(cfg["num_output_chunks"] or 1),
                          sleep_engine=bool(cfg["sleep_engine_while_training"]),
                          vllm_utilization=float(engine["gpu_memory_utilization"]),
                          placement=placed.line(name) if placed else None, lora=cfg["lora"] or None,
                          engine_tp=placed.engine_tp if placed else int(engine["tensor_parallel_size"] or 0),
                          max_model_len=int(engine["max_model_len"]), engine_dtype=engine["dtype"],
                          enforce_eager=bool(engine["enforce_eager"])))
    return plans, notes
