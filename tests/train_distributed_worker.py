"""Worker of tests/test_train_distributed.py, in one process or as one rank of `torchrun`
(FSDP2, gloo):
  train_distributed_worker.py step MODEL_DIR OUT.pt [offload]
      two optimiser steps of the loop's own `optimise` on fixed packed rows (with `offload`:
      FSDP2 CPU offload, no clipping and fixed step shapes, the paper profile's GPU settings);
  train_distributed_worker.py loop MODEL_DIR WORK_DIR ITERATIONS
      the whole training loop (stand-in sampler on rank 0), resumable in WORK_DIR;
  train_distributed_worker.py order MODEL_DIR WORK_DIR HANDOFF
      one iteration of the loop with the engine giving way during the step (`sleep_engine_while_
      training`, `weight_handoff` HANDOFF: live or restart); every rank writes the order of its
      engine calls, cache releases, barriers and optimiser steps to WORK_DIR/events-<rank>.json."""

import os
import sys
from pathlib import Path

import torch

from deductive.settings import StepSettings, with_training_defaults
from deductive.training import distributed
from deductive.training.advantages import assign_advantages
from deductive.training.packing import pack
from deductive.training.step import make_optimizer, optimise
from deductive.training.tune_model import build_model, hf_to_tune, load_hf_state_dict
from training_fixtures import synthetic_samples  # tests/, this script's folder

GLOBAL_ROWS_PER_STEP = 4


def main(model_dir: Path, out: Path, offload: bool = False) -> None:
    torch.manual_seed(0)
    d = distributed.init("cpu", cpu_offload=offload)
    full = distributed.on_rank0(d, lambda: hf_to_tune(load_hf_state_dict(model_dir), model_dir))
    assert bool(full) == d.is_main  # one full copy per node, on rank 0
    if d.distributed:
        model = build_model(model_dir, device="meta", max_seq_len=256)
        distributed.shard(model, cpu_offload=offload)
        distributed.load_full_state(model, full, d, cpu_offload=offload)
        for m in model.modules():
            if hasattr(m, "rope_init"):
                m.rope_init()
    else:
        model = build_model(model_dir, max_seq_len=256)
        model.load_state_dict(full)
    samples = assign_advantages(synthetic_samples(torch.Generator().manual_seed(3), puzzles=4, k=6,
                                                  prompt_len=10, max_completion=14, vocab=256))
    noise = torch.Generator().manual_seed(4)
    for sample in samples:  # sampling log-probs near the model's (~log 1/256): ratios both sides of the clip
        n = len(sample["completion_token_ids"])
        sample["logprobs"] = (-5.545 + 0.3 * torch.randn(n, generator=noise)).tolist()
    rows = pack(samples, row_tokens=64, rows_multiple_of=GLOBAL_ROWS_PER_STEP)
    cfg = StepSettings.from_mapping(with_training_defaults({"rows_per_device_per_step": GLOBAL_ROWS_PER_STEP // d.world,
                                  "fixed_step_shapes": offload,  # the compiled path's padded steps: same results
                                  "sampling": {"temperature": 1.0},
                                  "loss": {"epsilon": 0.2, "kl_coef": 0.0, "entropy_coef": 0.0},
                                  "optimizer": {"lr": 1e-3, "betas": [0.9, 0.99], "weight_decay": 0.1,
                                                # no clipping either way; a huge bound still measures the norm
                                                "max_grad_norm": None if offload else 1e9}}))
    optimizer = make_optimizer(model, cfg.optimizer)
    stats = optimise(model, optimizer, rows, cfg, d)
    state = distributed.full_state(model, d)
    if d.is_main:
        torch.save({"state": state, "stats": stats, "rows": len(rows), "world": d.world}, out)
    distributed.close(d)


def loop(model_dir: Path, work: Path, iterations: int) -> None:
    from deductive.training.loop import train
    from test_train import good_token_share
    from training_fixtures import TorchSampler, tiny_config, write_puzzles

    train_file, val_file = work / "train.jsonl", work / "val.jsonl"
    work.mkdir(parents=True, exist_ok=True)
    if not train_file.exists() and int(os.environ.get("RANK", "0")) == 0:
        write_puzzles(train_file, 12, "train")
        write_puzzles(val_file, 3, "val")
    # the same global batch (4 rows a step) whatever the number of ranks
    per_device = GLOBAL_ROWS_PER_STEP // int(os.environ.get("WORLD_SIZE", "1"))
    train(tiny_config(iterations=iterations, rows_per_device_per_step=per_device), "tiny", model_dir=model_dir, train_file=train_file,
          val_file=val_file, out_dir=work / "out", ckpt_root=work / "ckpt", log=lambda msg: None,
          make_sampler=lambda d, cfg: TorchSampler(d, cfg, good_token_share))


def order(model_dir: Path, work: Path, handoff: str) -> None:
    import json

    from deductive.training import loop as training_loop
    from test_train import good_token_share
    from training_fixtures import TorchSampler, tiny_config, write_puzzles

    rank = int(os.environ.get("RANK", "0"))
    events: list[str] = []
    barrier, release, optimise_ = distributed.Dist.barrier, distributed.release_cached_memory, training_loop.optimise

    def record(name, fn):
        def wrapped(*args, **kwargs):
            events.append(name)
            return fn(*args, **kwargs)
        return wrapped

    distributed.Dist.barrier = record("barrier", barrier)
    distributed.release_cached_memory = record("release", release)
    training_loop.optimise = record("step", optimise_)

    def make_sampler(weights, cfg):
        events.append("engine start")
        sampler = TorchSampler(weights, cfg, good_token_share)
        sampler.sleep = record("sleep", sampler.sleep)
        sampler.wake_up = lambda tags=None: events.append(f"wake {','.join(tags or ['all'])}")
        sampler.close = record("engine close", sampler.close)
        return sampler

    train_file, val_file = work / "train.jsonl", work / "val.jsonl"
    work.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        write_puzzles(train_file, 12, "train")
        write_puzzles(val_file, 3, "val")
    per_device = GLOBAL_ROWS_PER_STEP // int(os.environ.get("WORLD_SIZE", "1"))
    config = tiny_config(iterations=1, rows_per_device_per_step=per_device, sleep_engine_while_training=True,
                         weight_handoff=handoff)
    try:
        training_loop.train(config, "tiny", model_dir=model_dir, train_file=train_file, val_file=val_file,
                            out_dir=work / "out", ckpt_root=work / "ckpt", log=lambda msg: None, make_sampler=make_sampler)
    finally:
        (work / f"events-{rank}.json").write_text(json.dumps(events))


if __name__ == "__main__":
    if sys.argv[1] == "step":
        main(Path(sys.argv[2]), Path(sys.argv[3]), offload=sys.argv[4:] == ["offload"])
    elif sys.argv[1] == "order":
        order(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
    else:
        loop(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
