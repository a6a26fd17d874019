import math

import torch

from deductive.training.loss import ppo_clip_loss


def _reference(new, old, adv, w, n, eps=0.2):
    """Token by token, in plain Python: -sum w * min(r A, clip(r) A) / n, NaN ratio -> 1."""
    total = 0.0
    for a, b, A, wt in zip(new, old, adv, w):
        if wt == 0:
            continue
        r = math.exp(a - b)
        if math.isnan(r):
            r = 1.0
        total += wt * min(r * A, min(max(r, 1 - eps), 1 + eps) * A)
    return -total / n


def test_matches_hand_computed_reference_with_clipping_on_both_sides():
    new = [math.log(1.5), math.log(0.5), math.log(1.1), math.log(0.7), math.log(1.5), math.log(0.5), 0.0]
    old = [0.0] * 7
    adv = [1.0, -1.0, 2.0, -0.5, -1.0, 1.0, 3.0]
    w = [1.0, 0.5, 2.0, 1.0, 1.0, 1.5, 0.0]      # last token is off-completion (weight 0)
    loss, stats = ppo_clip_loss(torch.tensor(new), torch.tensor(old), torch.tensor(adv),
                                torch.tensor(w), num_tokens=6)
    # by hand: r=1.5,A=1 -> 1.2 (clipped above); r=.5,A=-1 -> -.8 (clipped below);
    # r=1.1,A=2 -> 2.2; r=.7,A=-.5 -> -.4 (clip .8*-.5=-.4 is min); r=1.5,A=-1 -> -1.5 (unclipped);
    # r=.5,A=1 -> .5 (unclipped)
    by_hand = -(1.0 * 1.2 + 0.5 * -0.8 + 2.0 * 2.2 + 1.0 * -0.4 + 1.0 * -1.5 + 1.5 * 0.5) / 6
    assert abs(loss.item() - by_hand) < 1e-6
    assert abs(loss.item() - _reference(new, old, adv, w, 6)) < 1e-6
    assert stats["tokens"].item() == 6 and stats["clipped_tokens"].item() == 5


def test_gradient_is_zero_where_clipped_and_flows_where_not():
    new = torch.tensor([math.log(1.5), math.log(1.5), math.log(1.1)], requires_grad=True)
    loss, _ = ppo_clip_loss(new, torch.zeros(3), torch.tensor([1.0, -1.0, 1.0]), torch.ones(3), 3)
    loss.backward()
    g = new.grad
    assert g[0] == 0                                   # ratio above 1+eps with A>0: clipped
    assert abs(g[1].item() - (1.5 / 3)) < 1e-6        # A<0: unclipped term, d(-rA/3)/dlogp = r/3
    assert abs(g[2].item() - (-1.1 / 3)) < 1e-6


def test_zero_advantage_and_zero_weight_tokens_contribute_nothing():
    new = torch.tensor([-1.0, -2.0, -0.3], requires_grad=True)
    old = torch.tensor([-1.5, float("nan"), -0.2])
    loss, _ = ppo_clip_loss(new, old, torch.tensor([0.0, 5.0, 0.0]), torch.tensor([1.0, 0.0, 1.0]), 2)
    loss.backward()
    assert loss.item() == 0 and torch.all(new.grad == 0)


def test_nan_sampling_logprob_gives_ratio_one_and_finite_gradient():
    new = torch.tensor([-0.7, -0.2], requires_grad=True)
    old = torch.tensor([float("nan"), float("-inf")])
    loss, stats = ppo_clip_loss(new, old, torch.tensor([2.0, -1.0]), torch.tensor([1.0, 3.0]), 4)
    assert abs(loss.item() - (-(2.0 * 1 + 3.0 * -1.0) / 4)) < 1e-6
    loss.backward()
    assert torch.isfinite(new.grad).all() and stats["nan_ratio_tokens"].item() == 2
    assert abs(new.grad[0].item() - (-2.0 / 4)) < 1e-6   # plain policy gradient, ratio 1


def test_normalised_by_given_token_count_so_micro_batches_add_up():
    torch.manual_seed(0)
    new, old, adv = torch.randn(10) - 2, torch.randn(10) - 2, torch.randn(10)
    w = torch.rand(10) + 0.1
    whole, _ = ppo_clip_loss(new, old, adv, w, 10)
    parts = sum(ppo_clip_loss(new[s], old[s], adv[s], w[s], 10)[0] for s in (slice(0, 4), slice(4, 10)))
    assert abs(whole.item() - parts.item()) < 1e-6


def test_kl_and_entropy_terms_are_off_by_default_and_on_when_asked():
    new, old, adv, w = torch.tensor([-1.0]), torch.tensor([-1.5]), torch.tensor([0.0]), torch.ones(1)
    base, _ = ppo_clip_loss(new, old, adv, w, 1)
    assert base.item() == 0
    kl, _ = ppo_clip_loss(new, old, adv, w, 1, kl_coef=0.1)
    lr = 0.5
    assert abs(kl.item() - 0.1 * (math.exp(-lr) + lr - 1)) < 1e-6
    ent, _ = ppo_clip_loss(new, old, adv, w, 1, entropy=torch.tensor([2.0]), entropy_coef=0.01)
    assert abs(ent.item() + 0.02) < 1e-6
