"""The GRPO policy loss: PPO's clipped objective against the sampling log-probabilities.

Per completion token t (all tensors have the same shape; `weights` is 0 off completion tokens):

    ratio_t = exp(new_logprob_t - sampling_logprob_t)      (NaN ratio -> 1)
    obj_t   = min(ratio_t * A_t, clip(ratio_t, 1 - eps, 1 + eps) * A_t)
    loss    = -sum_t w_t * (obj_t - kl_coef * kl_t + entropy_coef * H_t) / num_tokens

`A_t` is the completion's group advantage (0 on its last token, see packing.py), `w_t` the token
weight 1/len(completion) renormalised to mean 1 (packing.py), `num_tokens` the number of
completion tokens of the whole optimiser step (all micro-batches and ranks), so splitting a step
does not change it. `kl_t` is the k3 estimate of KL(new || sampling policy) and `H_t` an entropy
value from the caller; both coefficients default to 0 (method.md section 3: no KL, no entropy).

A token whose sampling log-prob is NaN or infinite gets ratio 1 (treated as sampled on-policy:
value 1, the plain policy gradient). The log-ratio is clamped to +-20 so exp() stays finite;
that only touches ratios beyond 4.8e8, where the gradient would be garbage anyway.
"""

from __future__ import annotations

import torch


def ppo_clip_loss(new_logprobs: torch.Tensor, sampling_logprobs: torch.Tensor,
                  advantages: torch.Tensor, weights: torch.Tensor, num_tokens: float, *,
                  epsilon: float = 0.2, kl_coef: float = 0.0, entropy: torch.Tensor | None = None,
                  entropy_coef: float = 0.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Return (loss, stats); stats are detached sums over completion tokens (divide by tokens)."""
    on = weights != 0
    # Off-completion positions and NaN sampling log-probs take the new value itself (ratio 1):
    # replacing before exp() keeps NaN out of the backward pass.
    bad = on & ~torch.isfinite(sampling_logprobs)
    old = torch.where(on & ~bad, sampling_logprobs, new_logprobs.detach())
    log_ratio = torch.clamp(new_logprobs - old, -20.0, 20.0)
    ratio = torch.exp(log_ratio)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - epsilon, 1.0 + epsilon) * advantages
    objective = torch.minimum(unclipped, clipped)
    if kl_coef:
        kl = torch.exp(-log_ratio) + log_ratio - 1.0  # k3 estimator of KL(new || old), >= 0
        objective = objective - kl_coef * kl
    if entropy_coef and entropy is not None:
        objective = objective + entropy_coef * entropy
    objective = torch.where(on, objective, torch.zeros_like(objective))
    loss = -(weights * objective).sum() / num_tokens
    with torch.no_grad():
        stats = {
            "tokens": on.sum().float(),
            "clipped_tokens": (on & ((ratio - 1.0).abs() > epsilon)).sum().float(),
            "nan_ratio_tokens": bad.sum().float(),
            "ratio_sum": torch.where(on, ratio, torch.zeros_like(ratio)).sum(),
        }
    return loss, stats
