"""Processes and devices of a training run: single process, or FSDP2 under torchrun.

Launch: `torchrun --nproc-per-node N scripts/train.py ...` on one node, or with rendezvous
arguments for several nodes (SLURM: `srun torchrun --nnodes $SLURM_NNODES --nproc-per-node
$GPUS --rdzv-backend c10d --rdzv-id $SLURM_JOB_ID --rdzv-endpoint $MASTER_ADDR:29500 ...`).
Without torchrun the run is one process. Sharding is FSDP2's `fully_shard` per decoder layer
(as torchtune's `shard_model`, with pinned CPU offload only where CUDA exists); weights are
loaded from rank 0 alone (`set_model_state_dict(..., broadcast_from_rank0=True)`) and gathered
with torchtune's `gather_cpu_state_dict`; activation checkpointing is torchtune's
`set_activation_checkpointing`. CPU offload needs a CPU backend beside NCCL (`backend`).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


class NotEnoughGPUs(RuntimeError):
    pass


@dataclass(frozen=True)
class Dist:
    world: int
    rank: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        """FSDP and collectives: several ranks, or a process group started for one rank
        (scripts/gpu_check.py on one GPU)."""
        return self.world > 1 or (dist.is_available() and dist.is_initialized())

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def sum(self, value: float) -> float:
        if not self.distributed:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64,
                         device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t)
        return float(t.item())

    def gather_objects(self, obj) -> list:
        """Every rank's `obj`, in rank order, on every rank."""
        if not self.distributed:
            return [obj]
        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def broadcast_object(self, obj):
        if not self.distributed:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def backend(use_cuda: bool, cpu_offload: bool = False) -> str:
    """The process group's backend(s). With FSDP2 CPU offload the gradients, the grad-norm and
    `full_tensor()` reductions live on the CPU, so NCCL alone fails ("No backend type associated
    with device type cpu"): add gloo for CPU tensors, as torchtune's recipes do."""
    if not use_cuda:
        return "gloo"
    return "cuda:nccl,cpu:gloo" if cpu_offload else "nccl"


def init(device: str = "auto", *, cpu_offload: bool = False, timeout_minutes: float = 60.0) -> Dist:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1). `timeout_minutes`
    bounds every collective, among them the wait of ranks 1..N-1 while rank 0 samples
    (`training.collective_timeout_minutes`)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    dev = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend=backend(use_cuda, cpu_offload),
                                timeout=datetime.timedelta(minutes=float(timeout_minutes)))
    return Dist(world=world, rank=rank, local_rank=local_rank, device=dev)


def check_gpus(required: int, world: int) -> None:
    """Stop before any work when the run needs more GPUs than this launch has."""
    if not required:
        return
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if visible == 0:
        raise NotEnoughGPUs(f"this run needs {required} GPUs (training.runs.*.gpus_required) and "
                            "no CUDA GPU was found; use the smoke profile on a CPU machine")
    if world < required:
        raise NotEnoughGPUs(f"this run needs {required} GPUs, found {visible} visible and {world} "
                            f"training process(es); launch with `torchrun --nproc-per-node "
                            f"{min(required, visible) if visible >= required else required} "
                            "scripts/train.py ...` on a node (or nodes) with enough GPUs")


def clip_grad_norm(params: list[torch.Tensor], max_norm: float | None) -> float | None:
    """Clip the gradients to `max_norm` and return their total norm before clipping. No clipping
    (`max_norm` null or 0) computes nothing: no norm, no collective."""
    if not max_norm:
        return None
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm=float(max_norm))
    if hasattr(norm, "full_tensor"):  # a DTensor under FSDP2: the all-reduce of the shards' norms
        norm = norm.full_tensor()
    return float(norm)


def shard(model: torch.nn.Module, *, cpu_offload: bool, reshard_after_forward: bool = True) -> None:
    """FSDP2: each transformer layer, then the root (what torchtune.training.shard_model does).
    CPU offload pins its host memory only when CUDA is present (pinning needs an accelerator:
    this is what lets the offload path run, and be tested, on a CPU machine)."""
    from torch.distributed.fsdp import CPUOffloadPolicy, fully_shard
    from torchtune.modules import TransformerSelfAttentionLayer

    kwargs: dict = {"reshard_after_forward": reshard_after_forward}
    if cpu_offload:
        kwargs["offload_policy"] = CPUOffloadPolicy(pin_memory=torch.cuda.is_available())
    for module in reversed(list(model.modules())):
        if isinstance(module, TransformerSelfAttentionLayer):
            fully_shard(module, **kwargs)
    fully_shard(model, **kwargs)


def activation_checkpointing(model: torch.nn.Module) -> None:
    from torchtune import training
    from torchtune.modules import TransformerSelfAttentionLayer

    training.set_activation_checkpointing(model, auto_wrap_policy={TransformerSelfAttentionLayer})


def release_cached_memory(d: Dist) -> None:
    """Return this process's cached accelerator memory to the driver (PyTorch's caching
    allocator keeps freed blocks otherwise), so that another process on the same GPU (the
    engine's tensor-parallel worker) can allocate it. Nothing to do on a CPU."""
    import gc

    gc.collect()
    if d.device.type == "cuda":
        torch.cuda.synchronize(d.device)
        torch.cuda.empty_cache()


def on_rank0(d: Dist, load):
    """`load()` on rank 0 (or the only process), {} elsewhere: one full copy of the weights in
    the node's CPU memory, not one per rank (`load_full_state` broadcasts it from rank 0)."""
    return load() if d.is_main else {}


def load_full_state(model: torch.nn.Module, full_state: dict, d: Dist, *, cpu_offload: bool) -> None:
    """Load a full (unsharded) tune-named state dict into a sharded or plain model.

    Under FSDP only rank 0's dict is read: torch's `set_model_state_dict` with
    `broadcast_from_rank0` broadcasts one tensor at a time and every rank keeps its shard, so
    the other ranks pass {} (`on_rank0`) and a node holds one full copy, not one per rank.
    (torchtune 0.6.1's `load_from_full_model_state_dict` has this path switched off
    (`_DISTRIBUTED_STATE_DICT_API_IS_AVAILABLE = False`) and needs the full dict on every rank.)"""
    if not d.distributed:
        model.load_state_dict(full_state, strict=True)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    if d.is_main:
        dtypes = {k: v.dtype for k, v in model.state_dict().items()}
        full_state = {k: v.to(dtypes[k]) if k in dtypes else v for k, v in full_state.items()}
    set_model_state_dict(model, full_state, options=StateDictOptions(
        full_state_dict=True, broadcast_from_rank0=True, strict=True, cpu_offload=cpu_offload))


def full_state(model: torch.nn.Module, d: Dist) -> dict[str, torch.Tensor]:
    """The full state dict on CPU (rank 0; empty on other ranks under FSDP)."""
    if d.distributed:
        from torchtune import training

        return training.gather_cpu_state_dict(model, d.is_main, device=d.device)
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def close(d: Dist) -> None:
    if d.distributed and dist.is_initialized():
        dist.destroy_process_group()
