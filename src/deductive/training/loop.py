"""The GRPO training loop, top to bottom: setup, then per iteration sample, grade, advantages,
pack, step, hand weights to the engine, evaluate, checkpoint (method.md sections 3-4).

Design:
- One long-running job per run. The vLLM engine (`deductive.inference.rollout.Sampler`) lives
  for the whole run on rank 0 and receives the new weights after every iteration through
  `Sampler.load_weights` (no restart, no reload of the engine), from the weights written once
  to `<ckpt_root>/.tmp-handoff` (a checkpoint of the iteration hard-links those files). On a
  GPU node it is colocated
  with the trainer: it is created before the trainer allocates anything, with
  `sampling.engine.gpu_memory_utilization` (the paper profile's training override: 0.6) and
  tensor parallelism over the node's GPUs (`sampling.engine.tensor_parallel_size`, 0 = all);
  with `sleep_engine_while_training` the engine is built with vLLM's sleep mode and put to
  sleep at level 2 after sampling (vLLM frees its KV cache and discards its weights), then
  woken weights first, given the new weights, and its KV cache last, so the optimiser step has
  the memory. The compiled flex-attention step sees a few fixed shapes (`step_batches`). The trainer is FSDP2 over all ranks (torchrun) with parameters and AdamW state on
  the CPU (`memory.fsdp_cpu_offload`) and activation checkpointing. On CPU (smoke) the engine
  runs in its own engine process beside the trainer, with a small KV cache. Samples are
  broadcast from rank 0 to every rank; each rank trains on its share of the packed rows.
  Several nodes: the engine spans rank 0's node only; training spans all nodes.
- Data order: the train split shuffled once with the run's seed and read as a cyclic stream;
  iteration i (1-based) takes the next P puzzles, the slice [(i-1)P, iP) of it. With dynamic
  sampling (training.dynamic_sampling, deductive.training.dynamic_sampling) an iteration also
  takes a refill of new puzzles for its tied groups. With an easy-first curriculum
  (training.curriculum) the first iterations draw from the stages' own splits, each its own
  stream shuffled with the run's seed and the split's name. The state counts the puzzles drawn
  from each stream so far, so a resumed run sees the same puzzles.
- Every random choice has a seed derived from the config seed, the run and the iteration
  (sampling seeds per iteration and split); RNG states are saved with each checkpoint.
- AdamW's state persists across iterations and is saved with each checkpoint;
  `optimizer.reset_optimizer_each_iteration` reproduces the original's fresh optimiser per
  iteration.
- Resume: the newest complete checkpoint (checkpoint.py) gives weights, optimiser, RNG and the
  loop state; metrics.jsonl is reconciled with it. Iteration 0 is the base model's evaluation.
- Time per phase is measured; "overhead" is what is neither sampling (train or val) nor the
  optimiser step: packing, weight hand-off, checkpointing, bookkeeping.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict, set_optimizer_state_dict

from deductive.config import ConfigError, derive_seed
from deductive.evaluation.chance import chance_if_parsable
from deductive.io import atomic_write_json, read_jsonl
from deductive.progress import Progress
from deductive.puzzles.formats import Puzzle, load_puzzles
from deductive.settings import TrainingSettings
from deductive.training import checkpoint as ckpt
from deductive.training import distributed
from deductive.training.advantages import assign_advantages, shape_rewards, shaped_reward
from deductive.training.dynamic_sampling import Draw, draw_groups
from deductive.training.metrics import MetricsFile, Wandb, iteration_record, reward_stats
from deductive.training.tune_model import (build_model, engine_extra, hf_to_tune, is_adapter_key, load_hf_state_dict,
                                           merged_weights, starting_weights, tune_to_hf)
from deductive.training.packing import PackedRows, pack
from deductive.training.resume_guard import mismatch_message, same_settings, trajectory_settings
from deductive.training.step import init_adamw_state, make_optimizer, optimise


class TrainingError(RuntimeError):
    """A user-facing failure (bad run name, missing input, not enough GPUs)."""


class Stream(NamedTuple):
    """A training split read as a stream: its puzzles and the seeded order they are read in."""

    puzzles: list[Puzzle]
    order: list[int]


# ------------------------------------------------------------------------------ configuration

def run_config(config: dict, run: str) -> TrainingSettings:
    """The run's training settings (deductive.settings: one merge, then typed)."""
    try:
        return TrainingSettings.from_config(config, run)
    except ConfigError as exc:
        raise TrainingError(str(exc)) from None


def data_order(n: int, seed: int) -> list[int]:
    return np.random.default_rng(seed).permutation(n).tolist()


def stream_puzzles(puzzles: list[Puzzle], order: list[int], start: int, count: int) -> list[Puzzle]:
    """`count` puzzles of the shuffled train split read cyclically from position `start`."""
    return [puzzles[order[(start + j) % len(order)]] for j in range(count)]


def iteration_puzzles(puzzles: list[Puzzle], order: list[int], iteration: int, per_iter: int) -> list[Puzzle]:
    """The cyclic slice of the shuffled train split for 1-based `iteration` (no refills)."""
    return stream_puzzles(puzzles, order, (iteration - 1) * per_iter, per_iter)


# ------------------------------------------------------------------------------ the run

def _dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _default_sampler(model_dir: Path, cfg: TrainingSettings):
    from deductive.inference.rollout import Sampler, engine_kwargs

    return Sampler(str(model_dir), **engine_kwargs(cfg.sampling, sleep=cfg.sleep_engine_while_training))


def _sampling(cfg: TrainingSettings, seed: int, *parts):
    from deductive.inference.rollout import SamplingConfig

    return SamplingConfig.from_config(dict(cfg.sampling, seed=derive_seed(seed, *parts) % 2**31))


def _sample(sampler, puzzles: list[Puzzle], k: int, sampling, cfg: TrainingSettings, d: distributed.Dist) -> list[dict]:
    """Sample on rank 0, share with every rank; records sorted by (puzzle order, sample index)."""
    records = None
    if d.is_main:
        records = sampler.sample(puzzles, k, sampling, grader_mode=cfg.grader_mode)
        rank_of = {p.id: i for i, p in enumerate(puzzles)}
        records = sorted(records, key=lambda r: (rank_of[r["puzzle_id"]], r["sample_index"]))
    return d.broadcast_object(records)


class Timer:
    """Seconds per named phase: `with timer("sample"): ...` (repeated names add up)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.started = time.monotonic()

    @contextlib.contextmanager
    def __call__(self, name: str):
        t = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - t

    def total(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Session:
    """What one training run holds between iterations: built by `_setup` and `_resume`."""

    config: dict
    run: str
    cfg: TrainingSettings  # the run's training settings
    d: distributed.Dist
    seed: int
    model_dir: Path
    train_file: Path
    val_file: Path
    out_dir: Path
    ckpt_root: Path
    streams: dict[str, Stream]  # training split -> its stream: train_split and the curriculum's splits
    curriculum_files: dict[str, Path]  # the curriculum's splits -> their puzzle files ({}: none)
    val_puzzles: list[Puzzle]
    log: Callable
    settings: dict  # what a resume must share with this run (resume_guard.trajectory_settings)
    state: dict = field(default_factory=dict)  # iteration, history, best, since_best, ...
    sampler: object = None  # the live engine (rank 0)
    make_sampler: Callable | None = None  # (weights directory, run settings) -> a new engine
    model: torch.nn.Module | None = None
    optimizer: torch.optim.Optimizer | None = None
    metrics: MetricsFile | None = None
    wandb: Wandb | None = None


def train(config: dict, run: str, *, model_dir: Path, train_file: Path, val_file: Path, out_dir: Path,
          ckpt_root: Path, make_sampler: Callable | None = None, stop_after: int | None = None,
          curriculum_files: dict[str, Path] | None = None, log=None) -> dict:
    """Train `run` to completion (or `stop_after` more iterations); returns the summary dict.
    `curriculum_files`: the puzzle file of each curriculum stage's split (training.curriculum)."""
    s = _setup(config, run, model_dir=Path(model_dir), train_file=Path(train_file), val_file=Path(val_file),
               out_dir=Path(out_dir), ckpt_root=Path(ckpt_root),
               curriculum_files={k: Path(v) for k, v in (curriculum_files or {}).items()},
               log=log or (lambda msg: print(msg, file=sys.stderr, flush=True)))
    try:
        _resume(s, make_sampler or _default_sampler)
        _base_evaluation(s)
        iterations = s.cfg.iterations
        first = s.state["iteration"] + 1
        last = iterations if stop_after is None else min(iterations, s.state["iteration"] + stop_after)
        progress = Progress(total=iterations, label=f"train {run}", unit="iterations",
                            already_done=s.state["iteration"], interval=0.0)
        for it in range(first, last + 1):
            if s.state["stopped_because"]:
                break
            _iteration(s, it)
            progress.advance()
        summary = _finish(s)
        s.log(progress.summary(f"best val reward {summary['best_val_reward']:.4f} at iteration "
                               f"{summary['best_iteration']} (base {summary['base_val_reward']:.4f}); "
                               f"stopped: {summary['stopped_because'] or 'not yet'}"))
        return summary
    finally:  # also on an error or an interrupt: no engine process outlives the run
        if s.wandb is not None:
            s.wandb.close()
        if s.sampler is not None:
            s.sampler.close()
        distributed.close(s.d)


def _setup(config: dict, run: str, *, model_dir: Path, train_file: Path, val_file: Path, out_dir: Path,
           ckpt_root: Path, curriculum_files: dict[str, Path], log: Callable) -> Session:
    """Processes, GPUs and data; every check that can fail before any work."""
    cfg = run_config(config, run)
    d = distributed.init(cfg.device, cpu_offload=cfg.memory.fsdp_cpu_offload,
                         timeout_minutes=cfg.collective_timeout_minutes)
    try:
        distributed.check_gpus(cfg.gpus_required or 0, d.world)
    except distributed.NotEnoughGPUs as exc:
        raise TrainingError(str(exc)) from None
    stage_files = _stage_files(cfg, train_file, curriculum_files)
    for path in (model_dir / "config.json", *stage_files.values(), val_file):
        if not Path(path).is_file():
            raise TrainingError(f"missing input {path}")
    seed = derive_seed(config["seed"], "training", run)
    streams = {split: _stream(cfg, split, path, seed) for split, path in stage_files.items()}
    val_puzzles = load_puzzles(val_file)
    if cfg.row_tokens < cfg.max_model_len:
        raise TrainingError(f"training.row_tokens ({cfg.row_tokens}) must be >= sampling.engine."
                            f"max_model_len ({cfg.sampling['engine']['max_model_len']}) so every "
                            "prompt + completion fits one packing row")
    from deductive.inference.rollout import RolloutError, check_trainable_sampling

    try:
        check_trainable_sampling(_sampling(cfg, seed, "check"))
    except RolloutError as exc:
        raise TrainingError(str(exc)) from None
    curriculum = {split: path for split, path in stage_files.items() if split != cfg.train_split}
    return Session(config=config, run=run, cfg=cfg, d=d, seed=seed, model_dir=model_dir, train_file=train_file,
                   val_file=val_file, out_dir=out_dir, ckpt_root=ckpt_root, streams=streams,
                   curriculum_files=curriculum, val_puzzles=val_puzzles,
                   log=log, settings=trajectory_settings(cfg.as_dict(), seed=seed, train_file=train_file, val_file=val_file,
                                                         curriculum_files=curriculum))


def _stage_files(cfg: TrainingSettings, train_file: Path, curriculum_files: dict[str, Path]) -> dict[str, Path]:
    """Training split -> its puzzle file: the curriculum's splits (stage order), then train_split."""
    stages = [stage.split for stage in cfg.curriculum]
    if set(curriculum_files) != set(stages):
        raise TrainingError(f"training.curriculum names the splits {stages or 'none'}; the puzzle files given are for "
                            f"{sorted(curriculum_files) or 'none'} (scripts/train.py --curriculum SPLIT=PATH, once per stage)")
    return {**{split: curriculum_files[split] for split in stages}, cfg.train_split: train_file}


def _stream(cfg: TrainingSettings, split: str, path: Path, seed: int) -> Stream:
    """A training split's puzzles, checked against what one iteration draws, in the run's order
    (train_split's seed stream is the one runs without a curriculum always had)."""
    puzzles = load_puzzles(path)
    per_iter = cfg.puzzles_per_iteration
    if per_iter > len(puzzles):
        raise TrainingError(f"training.puzzles_per_iteration ({per_iter}) exceeds the {len(puzzles)} "
                            f"puzzles of {path}: a puzzle would appear twice in one group")
    if per_iter * (1 + cfg.refill_rounds) > len(puzzles):
        raise TrainingError(f"training.dynamic_sampling.max_rounds ({cfg.refill_rounds}) lets an iteration draw up to "
                            f"{per_iter * (1 + cfg.refill_rounds)} puzzles, more than the {len(puzzles)} of "
                            f"{path}: a puzzle could be drawn twice in one iteration")
    parts = ("data-order",) if split == cfg.train_split else ("data-order", split)
    return Stream(puzzles, data_order(len(puzzles), derive_seed(seed, *parts)))


def _resume(s: Session, make_sampler: Callable) -> None:
    """The resume point (newest complete checkpoint, or the base model), then the engine (first,
    so it gets its GPU memory share), the model and the optimiser in the state saved there."""
    cfg, d, mem = s.cfg, s.d, s.cfg.memory
    if d.is_main:
        removed = ckpt.remove_incomplete(s.ckpt_root)
        if removed:
            s.log(f"train {s.run}: removed incomplete checkpoint(s) {', '.join(sorted(removed))}")
    d.barrier()
    latest = ckpt.latest_complete(s.ckpt_root)
    s.state = ckpt.load_state(latest) if latest else {
        "run": s.run, "iteration": 0, "history": [], "best": None, "since_best": 0,
        "stopped_because": None, "base_val_reward": None, "puzzles_drawn": {}}
    if latest is not None:  # before any engine or model: a refused resume costs nothing
        problem = mismatch_message(latest, s.ckpt_root, s.state.get("settings"), s.settings)
        if problem:
            raise TrainingError(problem)
    s.state["settings"] = s.settings
    weights_dir = latest or s.model_dir

    s.make_sampler = make_sampler
    s.sampler = make_sampler(weights_dir, cfg) if d.is_main else None
    d.barrier()
    dtype = _dtype(cfg.dtype)
    max_len = max(cfg.row_tokens, cfg.max_model_len)
    lora = cfg.lora
    full = distributed.on_rank0(d, lambda: _initial_weights(s, latest))
    if d.distributed:
        model = build_model(s.model_dir, dtype=dtype, device="meta", max_seq_len=max_len, lora=lora)
        if mem.activation_checkpointing:
            distributed.activation_checkpointing(model)
        distributed.shard(model, cpu_offload=mem.fsdp_cpu_offload, reshard_after_forward=mem.reshard_after_forward)
        distributed.load_full_state(model, {k: v.to(dtype) for k, v in full.items()}, d,
                                    cpu_offload=mem.fsdp_cpu_offload)
        with torch.device(d.device):
            for m in model.modules():
                if hasattr(m, "rope_init"):
                    m.rope_init()
    else:
        model = build_model(s.model_dir, dtype=dtype, device=d.device, max_seq_len=max_len, lora=lora)
        model.load_state_dict({k: v.to(dtype) for k, v in full.items()}, strict=True)
        if mem.activation_checkpointing:
            distributed.activation_checkpointing(model)
    del full
    if mem.compile:
        for layer in model.layers:
            layer.compile()
    s.model = model
    s.optimizer = make_optimizer(model, cfg.optimizer)
    if latest is not None:
        if not cfg.optimizer.reset_optimizer_each_iteration:
            init_adamw_state(s.optimizer)  # empty moments, so the saved tensors have a place to go
            template = get_optimizer_state_dict(model, s.optimizer)
            set_optimizer_state_dict(model, s.optimizer, ckpt.load_optimizer(latest, template))
        ckpt.load_rng(latest)
        s.log(f"train {s.run}: resuming after iteration {s.state['iteration']} from {latest}")
    else:
        _seed_everything(s.seed)

    s.metrics = MetricsFile(s.out_dir / "metrics.jsonl")
    if d.is_main:
        s.metrics.reconcile(s.state["history"], s.state["iteration"])
    s.wandb = Wandb(s.config["logging"]["wandb"], s.run, cfg.as_dict(), enabled=d.is_main)


def _initial_weights(s: Session, latest: Path | None) -> dict[str, torch.Tensor]:
    """The full tune-named weights the trainer starts from (rank 0): the newest checkpoint's or
    the base model's; with LoRA the base model's, frozen, and the checkpoint's adapters or, for a
    new run, adapters freshly initialised from the run's seed (tune_model.starting_weights)."""
    return starting_weights(s.model_dir, latest, s.cfg.lora,
                            base=lambda: hf_to_tune(load_hf_state_dict(s.model_dir), s.model_dir),
                            adapter_seed=derive_seed(s.seed, "lora-init"))


def _base_evaluation(s: Session) -> None:
    """Iteration 0: the base model's validation reward (kept beside the checkpoints)."""
    if s.state["base_val_reward"] is not None:
        return
    base_file = s.ckpt_root / "base_eval.json"
    base = json.loads(base_file.read_text(encoding="utf-8")) if base_file.is_file() else None
    if base is not None and not same_settings(base.get("settings"), s.settings):
        s.log(f"train {s.run}: {base_file} was measured under other settings; measuring it again")
        base = None
    if base is None:
        t0 = time.monotonic()
        val = _sample(s.sampler, s.val_puzzles, s.cfg.val_samples_per_puzzle,
                      _sampling(s.cfg, s.seed, "val", 0), s.cfg, s.d)
        base = dict(reward_stats(val, "val"), iteration=0, seconds=round(time.monotonic() - t0, 3),
                    settings=s.settings)
        if s.d.is_main:
            atomic_write_json(base_file, base)
    s.state["base_val_reward"] = base["val_reward_mean"]
    s.state["best"] = {"iteration": 0, "val_reward": base["val_reward_mean"]}
    s.log(f"train {s.run}: base val reward {base['val_reward_mean']:.4f}")


def _iteration(s: Session, it: int) -> dict:
    """One iteration, one phase after another: sample + grade, advantages and pack, the step,
    weights to the engine, validate (every `val_every` iterations and at the last), bookkeeping,
    checkpoint (at a new best, every `checkpoint_every` iterations and at the last). Returns its
    metrics record (also appended to metrics.jsonl)."""
    timer = Timer()
    with timer("sample"):  # the Sampler grades each completion, with the current weights
        draw = _train_samples(s, it)
    samples = draw.samples
    gave_way = _engine_gives_way(s)  # before any rank allocates for the step
    with timer("pack"):  # advantages, drop zero-advantage completions, pack
        kept, rows, packing = _pack(s, draw.used)
    with timer("train"):  # PPO-clip step(s)
        step = _train(s, rows, kept)
    with timer("weights"):  # hand the new weights to the engine
        weights = _hand_over_weights(s, changed=bool(kept), gave_way=gave_way)
    validate = it % s.cfg.val_every == 0 or it == s.cfg.iterations
    with timer("eval"):  # validate
        val = _val_samples(s, it) if validate else []
    val_reward = reward_stats(val, "val")["val_reward_mean"] if validate else None
    new_best = _bookkeeping(s, it, val_reward)
    record = _record(s, it, timer, samples=samples, kept=kept, packing=packing, step=step, val=val)
    if s.cfg.refill_rounds:
        record.update(draw.record())
    if s.cfg.curriculum:
        record["train_split"] = s.cfg.stage_split(it)
    save = _saves(s, it, new_best)
    checkpoint_seconds = _checkpoint(s, it, weights.hf_state, weights.handoff, weights.adapters) if save else 0.0
    _complete_record(s, record, samples, checkpoint_seconds=checkpoint_seconds, saved=save)
    _publish(s, it, record, val_reward, kept=len(kept), sampled=len(samples))
    return record


class HandedOver(NamedTuple):
    """The weights after an iteration's step, as the checkpoint needs them."""

    hf_state: dict | None  # rank 0's full HF-named copy; None once it is on disk (hand-off)
    handoff: Path | None  # the hand-off directory rank 0 wrote (None: none written)
    adapters: dict | None  # LoRA: the trained adapters (tune names); None without LoRA


def _train_samples(s: Session, it: int) -> Draw:
    """Iteration `it`'s puzzles, the next ones of its split's stream (the curriculum's stage, or
    train_split), sampled and graded (every rank gets them): P of them, and with dynamic sampling
    the refills of its tied groups."""
    cfg = s.cfg
    split = cfg.stage_split(it)
    stream = s.streams[split]
    drawn = _puzzles_drawn(s, it)
    start = drawn.get(split, 0)

    def sample_next(count: int, round_: int) -> list[dict]:
        nonlocal start
        puzzles = stream_puzzles(stream.puzzles, stream.order, start, count)
        start += count
        parts = ("train", it) if round_ == 0 else ("train", it, "refill", round_)
        return _sample(s.sampler, puzzles, cfg.samples_per_puzzle, _sampling(cfg, s.seed, *parts), cfg, s.d)

    draw = draw_groups(sample_next, cfg.puzzles_per_iteration, cfg.refill_rounds, cfg.shaping)
    s.state["puzzles_drawn"] = dict(drawn, **{split: start})
    return draw


def _puzzles_drawn(s: Session, it: int) -> dict[str, int]:
    """Puzzles drawn so far from each training split's stream. A checkpoint written before the
    count was kept drew exactly P puzzles an iteration from train_split; one written before it
    was kept per split holds train_split's count alone."""
    drawn = s.state.get("puzzles_drawn")
    if drawn is None:
        return {s.cfg.train_split: (it - 1) * s.cfg.puzzles_per_iteration}
    if isinstance(drawn, int):
        return {s.cfg.train_split: drawn}
    return dict(drawn)


def _val_samples(s: Session, it: int) -> list[dict]:
    return _sample(s.sampler, s.val_puzzles, s.cfg.val_samples_per_puzzle, _sampling(s.cfg, s.seed, "val", it),
                   s.cfg, s.d)


def _pack(s: Session, samples: list[dict]) -> tuple[list[dict], PackedRows, dict]:
    """(kept: the completions with a non-zero advantage, under the training-only reward shaping;
    their packed rows; the packing figures of the metrics record)."""
    kept = assign_advantages(shape_rewards(samples, **s.cfg.shaping))
    rows = pack(kept, s.cfg.row_tokens, rows_multiple_of=s.d.world,
                zero_last_token=s.cfg.loss.zero_last_token_advantage, pad_id=0)
    real_rows = int((rows.doc_ids >= 0).any(-1).sum())
    packing = {"rows": real_rows, "rows_padded": len(rows),
               "packing_efficiency": rows.real_tokens / max(1, real_rows * rows.tokens.shape[1])}
    return kept, rows, packing


def _train(s: Session, rows: PackedRows, kept: list[dict]) -> dict:
    """The PPO-clip step(s) over the packed rows (a fresh AdamW first where the config says so)."""
    if s.cfg.optimizer.reset_optimizer_each_iteration:
        s.optimizer = make_optimizer(s.model, s.cfg.optimizer)
    if not kept:
        return {"optimizer_steps": 0, "tokens_trained": 0}
    return optimise(s.model, s.optimizer, rows, s.cfg.step, s.d)


def _hand_over_weights(s: Session, *, changed: bool, gave_way: bool) -> HandedOver:
    """The trained weights gathered (a collective under FSDP; rank 0 holds them), merged for the
    engine with LoRA, and given to the engine (see _engine_takes_weights)."""
    lora = s.cfg.lora
    state = distributed.full_state(s.model, s.d)
    adapters = {k: v for k, v in state.items() if is_adapter_key(k)} if lora else None
    hf_state = tune_to_hf(merged_weights(state, lora), s.model_dir)  # what the engine serves
    del state
    handoff = _engine_takes_weights(s, hf_state, changed=changed, gave_way=gave_way)
    if handoff is not None:
        hf_state = None  # rank 0's full copy is on disk now
    return HandedOver(hf_state, handoff, adapters)


def _record(s: Session, it: int, timer: Timer, *, samples: list[dict], kept: list[dict], packing: dict, step: dict,
            val: list[dict]) -> dict:
    """The iteration's metrics record (seconds so far), added to the loop state's history: what
    its checkpoint saves."""
    seconds = dict(timer.seconds, total=timer.total())
    record = iteration_record(it, samples=samples, kept=len(kept), packing=packing, step=step,
                              val_samples=val, seconds=seconds, lr=float(s.optimizer.param_groups[0]["lr"]))
    s.state["iteration"] = it
    s.state["history"] = s.state["history"] + [record]
    return record


def _saves(s: Session, it: int, new_best: bool) -> bool:
    """Whether iteration `it` is checkpointed: a new best, every `checkpoint_every` iterations,
    the last one and a stop; a run killed in between resumes from the newest saved."""
    return (new_best or it % s.cfg.checkpoint_every == 0 or it == s.cfg.iterations
            or bool(s.state["stopped_because"]))


def _complete_record(s: Session, record: dict, samples: list[dict], *, checkpoint_seconds: float,
                     saved: bool) -> None:
    """After the checkpoint: its seconds (counted as overhead), whether it was saved, and the
    shaped train reward where shaping is on (metrics.jsonl has them; the checkpoint's history not)."""
    record["seconds"]["checkpoint"] = round(checkpoint_seconds, 4)
    record["seconds"]["overhead"] = round(record["seconds"]["overhead"] + record["seconds"]["checkpoint"], 4)
    record["seconds"]["total"] = round(record["seconds"]["total"] + record["seconds"]["checkpoint"], 4)
    record["checkpoint_saved"] = saved
    shaping = s.cfg.shaping
    if any(shaping.values()):
        record["train_shaped_reward_mean"] = float(np.mean([shaped_reward(r, **shaping) for r in samples]))


def _publish(s: Session, it: int, record: dict, val_reward: float | None, *, kept: int, sampled: int) -> None:
    """The record to metrics.jsonl and W&B (rank 0), and one log line."""
    if s.d.is_main:
        s.metrics.append(record)
        s.wandb.log(record)
    val_text = f"{val_reward:.3f}" if val_reward is not None else "not measured"
    s.log(f"train {s.run}: iteration {it}: train reward {record['train_reward_mean']:.3f}, "
          f"val reward {val_text}, kept {kept}/{sampled}, "
          f"{record['seconds']['total']:.1f}s (overhead {record['seconds']['overhead']:.1f}s)")


def _engine_gives_way(s: Session) -> bool:
    """Before the optimiser step: free the engine's GPU memory for the trainer, on every GPU.

    `weight_handoff: restart` closes the engine (a new one starts from the saved weights after
    the step); `sleep_engine_while_training` puts it to sleep at level 2 (it discards its weights
    and KV cache; its weights are replaced after the step anyway). Either way every rank waits
    at a barrier until rank 0's engine has let go, so no rank allocates for the step on a GPU
    the engine's tensor-parallel workers still hold. Returns whether the engine gave way."""
    cfg, d = s.cfg, s.d
    restart = cfg.weight_handoff == "restart"
    if not (restart or cfg.sleep_engine_while_training):
        return False
    if d.is_main:
        if restart:
            s.sampler.close()
            s.sampler = None
        else:
            s.sampler.sleep(level=2)
    d.barrier()
    return True


def _engine_takes_weights(s: Session, hf_state: dict, *, changed: bool, gave_way: bool) -> Path | None:
    """After the step: the engine samples with the new weights. Returns the hand-off directory
    rank 0 wrote (None when the weights stayed in memory: unchanged, nothing to hand over).

    Every rank first returns its cached GPU memory to the driver and waits at a barrier: the
    engine's workers on GPUs 1..N-1 need their share back, and no process can make another
    free its cache. Then rank 0 wakes the engine (weights first, KV cache after the new
    weights are in) or, with `weight_handoff: restart`, starts a new one from the hand-off."""
    cfg, d = s.cfg, s.d
    if gave_way:
        distributed.release_cached_memory(d)
        d.barrier()
    if not d.is_main:
        return None
    restart = cfg.weight_handoff == "restart"
    if not (restart or gave_way or changed):
        return None  # the engine's weights are still these (a discarded or new engine needs them)
    # written once: the engine reads it and the checkpoint of this iteration links its files
    handoff = ckpt.write_handoff(s.ckpt_root, hf_state, s.model_dir, engine_extra=engine_extra(hf_state, s.model_dir))
    if restart:
        s.sampler = s.make_sampler(handoff, cfg)
        return handoff
    if gave_way:
        s.sampler.wake_up(["weights"])
    s.sampler.load_weights(handoff)
    if gave_way:
        s.sampler.wake_up(["kv_cache"])
    return handoff


def _bookkeeping(s: Session, it: int, val_reward: float | None) -> bool:
    """Best iteration, patience and the stop reason after iteration `it` (only validated
    iterations, `val_reward` not None, count); returns whether `it` is the new best."""
    state, patience = s.state, s.cfg.patience
    new_best = val_reward is not None and val_reward > state["best"]["val_reward"]
    if new_best:
        state["best"] = {"iteration": it, "val_reward": val_reward}
        state["since_best"] = 0
    elif val_reward is not None:
        state["since_best"] += 1
    if patience is not None and state["since_best"] >= int(patience):
        state["stopped_because"] = f"patience ({patience} evaluations without improvement)"
    return new_best


def _checkpoint(s: Session, it: int, hf_state: dict | None, handoff: Path | None,
                adapters: dict | None = None) -> float:
    """Save iteration `it` atomically (its weights linked from the hand-off directory when rank 0
    wrote one), keep the newest and the best; returns the seconds taken."""
    t = time.monotonic()
    d, state = s.d, s.state
    ckpt.save(s.ckpt_root, it, hf_state=hf_state, base_model_dir=s.model_dir, weights_from=handoff, adapters=adapters,
              optimizer_state=get_optimizer_state_dict(s.model, s.optimizer), state=state,
              rank=d.rank, barrier=d.barrier)
    if d.is_main:
        keep = {it} | ({state["best"]["iteration"]} if state["best"]["iteration"] > 0 else set())
        ckpt.prune(s.ckpt_root, keep)
        atomic_write_json(s.ckpt_root / "best.json", dict(state["best"], path=str(
            ckpt.iter_dir(s.ckpt_root, state["best"]["iteration"]) if state["best"]["iteration"]
            else s.model_dir)))
    return time.monotonic() - t


def _finish(s: Session) -> dict:
    """The run's summary; written (with provenance) once the run is done."""
    state, iterations = s.state, s.cfg.iterations
    done = state["iteration"] >= iterations or bool(state["stopped_because"])
    stopped = state["stopped_because"] or ("iterations" if state["iteration"] >= iterations else None)
    best_it = state["best"]["iteration"]
    summary = {
        "run": s.run, "model": s.cfg.model, "base_model_dir": str(s.model_dir),
        "best_iteration": best_it, "best_val_reward": state["best"]["val_reward"],
        "base_val_reward": state["base_val_reward"], "iterations_done": state["iteration"],
        "val_chance_reward": chance_if_parsable(s.val_puzzles),
        "reward_shaping": s.cfg.reward_shaping or None,
        "stopped_because": stopped,
        "checkpoint_best": str(ckpt.iter_dir(s.ckpt_root, best_it) if best_it else s.model_dir),
        "checkpoint_latest": str(ckpt.iter_dir(s.ckpt_root, state["iteration"])) if state["iteration"] else None,
    }
    if s.d.is_main and done:
        from deductive.provenance import provenance

        metrics_path = s.out_dir / "metrics.jsonl"
        records = read_jsonl(metrics_path) if metrics_path.exists() else []
        overheads = [r["seconds"]["overhead"] for r in records if r.get("seconds")]
        summary["mean_overhead_seconds"] = float(np.mean(overheads)) if overheads else None
        summary["provenance"] = provenance(profile=s.config["profile"], config=s.config, model=s.cfg.model,
                                           inputs={"train": s.train_file, "val": s.val_file,
                                                   "model_config": s.model_dir / "config.json",
                                                   **{f"curriculum_{split}": path
                                                      for split, path in s.curriculum_files.items()}},
                                           world_size=s.d.world)
        atomic_write_json(s.out_dir / "summary.json", summary)
    return summary
