"""Typed settings of each stage, built in one place from a resolved config with one merge.

The config is resolved once (deductive.config.resolve_config: schema defaults filled, cross
references checked); the functions here turn the sections a stage uses into frozen dataclasses.
Overrides are merged one way only, `deep_merge` (nested mappings merged key by key, anything
else replaced):

- training: `training` (without `runs`) <- `training.runs.<run>`; its sampling is the shared
  `sampling` <- `training.sampling` <- `training.runs.<run>.sampling`;
- evaluation: its sampling is the shared `sampling` (without `engine`) <- `evaluation.sampling`.

Defaults live in the schema (`default:`), nowhere else.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from deductive.config import ConfigError, fill_defaults, load_schema
from deductive.merge import deep_merge  # noqa: F401 - the one merge, used here and re-exported


# ------------------------------------------------------------------------------ training

def training_section(config: dict, run: str) -> dict:
    """The merged training settings of `run` as a mapping (what TrainingSettings holds)."""
    training = config.get("training") or {}
    runs = training.get("runs") or {}
    if run not in runs:
        raise ConfigError(f"no training run '{run}' in the config (known: {', '.join(sorted(runs)) or 'none'})")
    merged = deep_merge({k: v for k, v in training.items() if k != "runs"}, runs[run])
    merged["sampling"] = deep_merge(config.get("sampling") or {}, merged.get("sampling") or {})
    if isinstance(merged.get("lora"), dict):  # a run's own `lora` gets the schema's defaults too
        fill_defaults(merged["lora"], load_schema()["properties"]["training"]["properties"]["lora"])
    return merged


def training_splits(config: dict) -> tuple[str, ...]:
    """The splits training runs train on: `training.train_split` and the splits of every run's
    curriculum (`training.curriculum`, a run's own over it), in that order, each once. These
    skip the held-out splits' puzzles (deductive.puzzles.run.split_exclusions)."""
    training = config.get("training") or {}
    names = [training["train_split"]] if training.get("train_split") else []
    for run in training.get("runs") or {}:
        names += [stage["split"] for stage in training_section(config, run).get("curriculum") or []]
    return tuple(dict.fromkeys(names))


def with_training_defaults(cfg: dict) -> dict:
    """A partial training mapping (benchmarks, tests) completed with the schema's defaults."""
    return fill_defaults(copy.deepcopy(cfg), load_schema()["properties"]["training"])


@dataclass(frozen=True)
class LossSettings:
    """`training.loss`: the PPO-clip loss of the step."""

    epsilon: float
    kl_coef: float
    entropy_coef: float
    zero_last_token_advantage: bool

    @classmethod
    def from_mapping(cls, m: dict) -> "LossSettings":
        return cls(epsilon=float(m["epsilon"]), kl_coef=float(m["kl_coef"]), entropy_coef=float(m["entropy_coef"]),
                   zero_last_token_advantage=bool(m["zero_last_token_advantage"]))


@dataclass(frozen=True)
class OptimizerSettings:
    """`training.optimizer`: AdamW and gradient clipping."""

    lr: float
    betas: tuple
    weight_decay: float
    eps: float
    max_grad_norm: float | None  # None: no clipping
    reset_optimizer_each_iteration: bool

    @classmethod
    def from_mapping(cls, m: dict) -> "OptimizerSettings":
        return cls(lr=float(m["lr"]), betas=tuple(m["betas"]), weight_decay=float(m["weight_decay"]),
                   eps=float(m["eps"]), max_grad_norm=m["max_grad_norm"],
                   reset_optimizer_each_iteration=bool(m["reset_optimizer_each_iteration"]))


@dataclass(frozen=True)
class LoraSettings:
    """`training.lora` when set (None on TrainingSettings: full fine-tuning)."""

    rank: int
    alpha: float
    dropout: float
    attn_modules: tuple[str, ...]
    mlp: bool
    output: bool

    @classmethod
    def from_mapping(cls, m: dict | None) -> "LoraSettings | None":
        if not m:
            return None
        return cls(rank=int(m["rank"]), alpha=float(m["alpha"]), dropout=float(m["dropout"]),
                   attn_modules=tuple(m["attn_modules"]), mlp=bool(m["mlp"]), output=bool(m["output"]))


@dataclass(frozen=True)
class MemorySettings:
    """`training.memory`: where the trainer's state lives and what it recomputes."""

    fsdp_cpu_offload: bool
    activation_checkpointing: bool
    reshard_after_forward: bool
    compile: bool

    @classmethod
    def from_mapping(cls, m: dict) -> "MemorySettings":
        return cls(fsdp_cpu_offload=bool(m["fsdp_cpu_offload"]),
                   activation_checkpointing=bool(m["activation_checkpointing"]),
                   reshard_after_forward=bool(m["reshard_after_forward"]), compile=bool(m["compile"]))


@dataclass(frozen=True)
class StepSettings:
    """What one optimiser pass reads (deductive.training.step.optimise): a part of
    TrainingSettings (its `.step`), or built from a partial mapping completed by
    `with_training_defaults` (benchmarks, the GPU check, tests)."""

    rows_per_device_per_step: int
    epochs_per_iteration: int
    flex_attention: bool
    fixed_step_shapes: bool | None  # None: whenever flex attention runs
    num_output_chunks: int
    sampling_temperature: float  # the sampler's log-probs are of softmax(logits / T)
    loss: LossSettings
    optimizer: OptimizerSettings

    @classmethod
    def from_mapping(cls, m: dict) -> "StepSettings":
        return cls(rows_per_device_per_step=int(m["rows_per_device_per_step"]),
                   epochs_per_iteration=int(m["epochs_per_iteration"]), flex_attention=bool(m["flex_attention"]),
                   fixed_step_shapes=m["fixed_step_shapes"], num_output_chunks=int(m["num_output_chunks"]),
                   sampling_temperature=float(m["sampling"]["temperature"]),
                   loss=LossSettings.from_mapping(m["loss"]), optimizer=OptimizerSettings.from_mapping(m["optimizer"]))


@dataclass(frozen=True)
class CurriculumStage:
    """One stage of an easy-first curriculum: `iterations` iterations drawn from `split`."""

    split: str
    iterations: int


@dataclass(frozen=True)
class TrainingSettings:
    """The merged training settings of one run (`training` <- `training.runs.<run>`, see
    training_section); every value from the resolved config, none defaulted here. `as_dict()`
    is the merged mapping itself: what checkpoints, base evaluations and summaries record."""

    model: str
    train_split: str
    val_split: str
    iterations: int
    patience: int | None  # None: never stop early
    val_every: int
    checkpoint_every: int
    reward_shaping: dict | None  # as written (None: absent); see `shaping`
    puzzles_per_iteration: int
    refill_rounds: int  # training.dynamic_sampling.max_rounds; 0: absent, no dynamic sampling
    curriculum: tuple[CurriculumStage, ...]  # stages before train_split; (): absent
    samples_per_puzzle: int
    val_samples_per_puzzle: int
    grader_mode: str
    sampling: dict  # merged: shared `sampling` <- `training.sampling` <- the run's (inference reads it)
    sleep_engine_while_training: bool
    weight_handoff: str
    world_size: int
    collective_timeout_minutes: float
    gpus_required: int | None  # None: absent (the run needs no GPU)
    row_tokens: int
    rows_per_device_per_step: int
    epochs_per_iteration: int
    lora: LoraSettings | None  # None: full fine-tuning
    flex_attention: bool
    fixed_step_shapes: bool | None
    num_output_chunks: int
    dtype: str
    device: str
    loss: LossSettings
    optimizer: OptimizerSettings
    memory: MemorySettings
    merged: dict = field(repr=False, compare=False)  # the mapping these were read from

    @classmethod
    def from_config(cls, config: dict, run: str) -> "TrainingSettings":
        """The settings of training run `run` of a resolved config (ConfigError: no such run)."""
        return cls.from_merged(training_section(config, run))

    @classmethod
    def from_merged(cls, m: dict) -> "TrainingSettings":
        """From a merged mapping (what training_section returns)."""
        m = copy.deepcopy(m)  # held as read: nothing outside can change it
        return cls(model=m["model"], train_split=m["train_split"], val_split=m["val_split"],
                   iterations=int(m["iterations"]), patience=m["patience"], val_every=int(m["val_every"]),
                   checkpoint_every=int(m["checkpoint_every"]), reward_shaping=m.get("reward_shaping"),
                   puzzles_per_iteration=int(m["puzzles_per_iteration"]),
                   refill_rounds=int((m.get("dynamic_sampling") or {}).get("max_rounds", 0)),
                   curriculum=tuple(CurriculumStage(split=c["split"], iterations=int(c["iterations"]))
                                    for c in m.get("curriculum") or ()),
                   samples_per_puzzle=int(m["samples_per_puzzle"]),
                   val_samples_per_puzzle=int(m["val_samples_per_puzzle"]), grader_mode=m["grader_mode"],
                   sampling=m["sampling"], sleep_engine_while_training=bool(m["sleep_engine_while_training"]),
                   weight_handoff=m["weight_handoff"], world_size=int(m["world_size"]),
                   collective_timeout_minutes=float(m["collective_timeout_minutes"]),
                   gpus_required=m.get("gpus_required"), row_tokens=int(m["row_tokens"]),
                   rows_per_device_per_step=int(m["rows_per_device_per_step"]),
                   epochs_per_iteration=int(m["epochs_per_iteration"]), lora=LoraSettings.from_mapping(m["lora"]),
                   flex_attention=bool(m["flex_attention"]), fixed_step_shapes=m["fixed_step_shapes"],
                   num_output_chunks=int(m["num_output_chunks"]), dtype=m["dtype"], device=m["device"],
                   loss=LossSettings.from_mapping(m["loss"]), optimizer=OptimizerSettings.from_mapping(m["optimizer"]),
                   memory=MemorySettings.from_mapping(m["memory"]), merged=m)

    def as_dict(self) -> dict:
        """The merged mapping (a copy): what is recorded and compared on resume, as before."""
        return copy.deepcopy(self.merged)

    @property
    def step(self) -> StepSettings:
        return StepSettings(rows_per_device_per_step=self.rows_per_device_per_step,
                            epochs_per_iteration=self.epochs_per_iteration, flex_attention=self.flex_attention,
                            fixed_step_shapes=self.fixed_step_shapes, num_output_chunks=self.num_output_chunks,
                            sampling_temperature=float(self.sampling["temperature"]), loss=self.loss,
                            optimizer=self.optimizer)

    @property
    def shaping(self) -> dict[str, float]:
        """The training-only reward shaping weights as numbers ({}: none)."""
        return {k: float(v) for k, v in (self.reward_shaping or {}).items()}

    def stage_split(self, iteration: int) -> str:
        """The split 1-based `iteration` draws its puzzles from: the curriculum's stages in
        order, then `train_split` for the remaining iterations."""
        first = 1
        for stage in self.curriculum:
            if iteration < first + stage.iterations:
                return stage.split
            first += stage.iterations
        return self.train_split

    @property
    def max_model_len(self) -> int:
        return int(self.sampling["engine"]["max_model_len"])


# ------------------------------------------------------------------------------ evaluation

def evaluation_sampling(config: dict) -> dict:
    """The shared `sampling` section (its `engine` part dropped) with `evaluation.sampling` over it."""
    base = {k: v for k, v in (config.get("sampling") or {}).items() if k != "engine"}
    return deep_merge(base, (config.get("evaluation") or {}).get("sampling") or {})


@dataclass(frozen=True)
class EvaluationSettings:
    """The `evaluation` section of a resolved config."""

    seed: int
    splits: tuple[str, ...]
    samples_per_puzzle: int
    grader_mode: str
    bootstrap_replicates: int
    bootstrap_confidence: float
    device: str  # hardware price key of the throughput cost
    limit_puzzles: dict[str, int] = field(default_factory=dict)
    sampling: dict[str, Any] = field(default_factory=dict)  # merged, see evaluation_sampling

    @classmethod
    def from_config(cls, config: dict) -> "EvaluationSettings":
        ev = config["evaluation"]
        return cls(seed=ev["seed"], splits=tuple(ev["splits"]),
                   samples_per_puzzle=ev["samples_per_puzzle"], grader_mode=ev["grader_mode"],
                   bootstrap_replicates=ev["bootstrap"]["replicates"],
                   bootstrap_confidence=ev["bootstrap"]["confidence"], device=ev["device"],
                   limit_puzzles=dict(ev.get("limit_puzzles") or {}), sampling=evaluation_sampling(config))

    def limit(self, split: str) -> int | None:
        return self.limit_puzzles.get(split)
