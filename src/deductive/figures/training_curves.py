"""Figure 1: validation accuracy per training iteration for each trained run.

Raw points and an exponentially smoothed line (weight from the config; the original reported
the peak of such a smoothed curve), with the base model's level and the best frontier baseline
as horizontal reference lines.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter

from deductive.figures import style
from deductive.figures.context import Context, Rendered
from deductive.figures.data import MEASURED, load_measured, load_published, load_runs

NAME = "training_curves"
TITLE = "Validation accuracy during GRPO training"


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential smoothing: s_0 = x_0, s_t = weight * s_(t-1) + (1 - weight) * x_t."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out: list[float] = []
    for x in values:
        out.append(x if not out else weight * out[-1] + (1.0 - weight) * x)
    return out


def best_frontier(ctx: Context, inputs) -> tuple[str, float, str] | None:
    """(label, accuracy, provenance) of the most accurate API model: measured here if any, else published."""
    measured = [p for p in load_measured(ctx.profile_dir, ctx.settings.comparison_split, inputs) if p.kind == "api"]
    pool = measured or [p for p in load_published(ctx.results, inputs) if p.kind == "api"]
    if not pool:
        return None
    best = max(pool, key=lambda p: (p.accuracy, p.key))
    where = "measured here" if best.source == MEASURED else "published"
    return best.label, best.accuracy, f"{where}, {best.split}"


def render(ctx: Context) -> Rendered | None:
    inputs = ctx.new_inputs()
    runs = [r for r in load_runs(ctx.profile_dir, inputs) if r.iterations]
    if not runs:
        return None
    frontier = best_frontier(ctx, inputs)
    weight = ctx.settings.smoothing_weight
    style.setup()
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs) + 0.6, 3.6), squeeze=False,
                             sharey=True)
    for ax, run in zip(axes[0], runs):
        smoothed = smooth(run.values, weight)
        ax.plot(run.iterations, run.values, "o", ms=3, color=style.KIND_COLOURS["trained"], alpha=0.35,
                label=f"raw ({run.metric})")
        ax.plot(run.iterations, smoothed, "-", lw=1.6, color=style.KIND_COLOURS["trained"],
                label=f"smoothed (weight {weight:g})")
        peak = max(range(len(smoothed)), key=lambda i: (smoothed[i], -i))
        ax.plot([run.iterations[peak]], [smoothed[peak]], "*", ms=9, color=style.KIND_COLOURS["trained"],
                label=f"smoothed peak {smoothed[peak]:.1%} at it. {run.iterations[peak]}")
        if run.base_value is not None:
            ax.axhline(run.base_value, ls="--", lw=1, color=style.KIND_COLOURS["base"],
                       label=f"base model {run.base_value:.1%}")
        if frontier is not None:
            label, acc, where = frontier
            ax.axhline(acc, ls=":", lw=1.2, color=style.REFERENCE,
                       label=f"best frontier: {label} {acc:.1%} ({where})")
        ax.set_title(f"{run.name}" + (f" ({run.model})" if run.model and run.model != run.name else ""))
        ax.set_xlabel("training iteration")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(0, 1)
        ax.legend(loc="upper left", frameon=False)
    axes[0][0].set_ylabel(f"validation accuracy ({MEASURED} here)")
    fig.suptitle(f"{TITLE} (profile {ctx.profile})")
    fig.tight_layout()
    files = style.save(fig, ctx.out_dir / NAME, dpi=ctx.settings.dpi)
    description = (
        f"Validation accuracy (mean per-puzzle reward on this project's `val` split) after each "
        f"GRPO iteration, measured here; points are raw values, the line is exponentially "
        f"smoothed with weight {weight:g} (s_t = w s_(t-1) + (1 - w) x_t), the star marks its "
        f"peak. Dashed: the base model's level on the same split (iteration 0). Dotted: the "
        f"most accurate frontier API model"
        + (f" ({frontier[2]}; a different puzzle set than the curve)" if frontier else " (none available)")
        + ". The checkpoint is selected on `val`; held-out results are in the accuracy figure."
    )
    return Rendered(NAME, TITLE, files, inputs, description)
