"""One GRPO optimiser pass over packed rows, and the AdamW it steps (the loop's `optimise`).

Kept apart from loop.py so that what the training step needs is torch, torchtune and this
package's training modules only: the GPU check (gpu_check.py) imports it on a machine without
vLLM, jsonschema or OR-Tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from deductive.training import distributed
from deductive.training.loss import ppo_clip_loss
from deductive.training.packing import PackedRows, packed_logprobs, step_batches

if TYPE_CHECKING:
    from deductive.settings import OptimizerSettings, StepSettings


def make_optimizer(model: torch.nn.Module, opt: OptimizerSettings) -> torch.optim.Optimizer:
    trainable = [p for p in model.parameters() if p.requires_grad]  # LoRA: the adapters only
    return torch.optim.AdamW(trainable, lr=opt.lr, betas=opt.betas, weight_decay=opt.weight_decay, eps=opt.eps)


def init_adamw_state(optimizer: torch.optim.Optimizer) -> None:
    """Zero AdamW moments and step for every parameter (the state before the first step)."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            optimizer.state[p] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p),
                                  "exp_avg_sq": torch.zeros_like(p)}


def optimise(model: torch.nn.Module, optimizer: torch.optim.Optimizer, rows: PackedRows, cfg: StepSettings,
             d: distributed.Dist) -> dict:
    """One pass (per epoch) over the packed rows: optimiser steps of `rows_per_device_per_step`
    rows on each rank. The loss of a step is normalised by the completion tokens of the whole
    step (all ranks), so the update does not depend on how rows are spread over ranks."""
    loss_cfg = cfg.loss
    per_step = cfg.rows_per_device_per_step * d.world
    max_norm = cfg.optimizer.max_grad_norm
    params = [p for p in model.parameters() if p.requires_grad]
    use_block = d.device.type == "cuda" and cfg.flex_attention
    # compiled flex attention: a few fixed step shapes, else it recompiles until it gives up
    fixed_shapes = use_block if cfg.fixed_step_shapes is None else bool(cfg.fixed_step_shapes)
    want_entropy = bool(loss_cfg.entropy_coef)
    # the sampler records log-probs of softmax(logits / T) (vLLM's processed log-probs)
    temperature = cfg.sampling_temperature
    totals = {"loss": 0.0, "tokens": 0.0, "clipped": 0.0, "nan_ratio": 0.0, "ratio_sum": 0.0}
    grad_norms: list[float] = []
    steps = 0
    model.train()
    for _ in range(cfg.epochs_per_iteration):
        for batch, local in step_batches(rows, per_step, d.rank, d.world, fixed_shapes=fixed_shapes):
            num_tokens = batch.completion_tokens  # identical on every rank (same packing)
            if num_tokens == 0:
                continue
            local = PackedRows(*(getattr(local, f).to(d.device) for f in local.__dataclass_fields__))
            new_lp, entropy = packed_logprobs(model, local, use_block_mask=use_block, entropy=want_entropy,
                                              chunks=max(1, cfg.num_output_chunks),
                                              temperature=temperature)
            loss, stats = ppo_clip_loss(new_lp, local.sampling_logprobs, local.advantages, local.weights,
                                        num_tokens, epsilon=loss_cfg.epsilon,
                                        kl_coef=loss_cfg.kl_coef, entropy=entropy,
                                        entropy_coef=loss_cfg.entropy_coef)
            # FSDP averages gradients over ranks; the loss is already a global mean, so undo it.
            (loss * d.world).backward()
            norm = distributed.clip_grad_norm(params, max_norm)  # None when clipping is off
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            steps += 1
            if norm is not None:
                grad_norms.append(norm)
            totals["loss"] += d.sum(loss.item())
            totals["tokens"] += num_tokens
            totals["clipped"] += d.sum(stats["clipped_tokens"].item())
            totals["nan_ratio"] += d.sum(stats["nan_ratio_tokens"].item())
            totals["ratio_sum"] += d.sum(stats["ratio_sum"].item())
    tokens = totals["tokens"]
    return {
        "optimizer_steps": steps,
        "loss": totals["loss"] / steps if steps else None,
        "tokens_trained": int(tokens),
        "clip_fraction": totals["clipped"] / tokens if tokens else None,
        "nan_ratio_tokens": int(totals["nan_ratio"]),
        "ratio_mean": totals["ratio_sum"] / tokens if tokens else None,
        "grad_norm": float(np.mean(grad_norms)) if grad_norms else None,
        "grad_norm_max": float(np.max(grad_norms)) if grad_norms else None,
    }
