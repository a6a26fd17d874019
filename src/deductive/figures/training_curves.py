"""Figure 1: validation accuracy per training iteration for each trained run.

The metric is `val_reward`, the mean per-puzzle reward (fraction of questions right) on the
validation split; iteration 0 is the base model. Raw points and an exponentially smoothed line
(weight from the config; the original reported the peak of such a smoothed curve), with the
base model's level and the best frontier baseline as horizontal reference lines. One legend
for all panels sits below them.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter

from deductive.figures import style
from deductive.figures.context import Context, Rendered
from deductive.figures.data import MEASURED, VAL_METRIC, load_measured, load_published, load_runs

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
    pool = measured or [p for p in load_published(ctx.published, inputs) if p.kind == "api"]
    if not pool:
        return None
    best = max(pool, key=lambda p: (p.accuracy, p.key))
    where = "measured here" if best.source == MEASURED else "published"
    return best.label, best.accuracy, f"{where}, {best.split}"


Y_LABEL = "validation accuracy\n(mean fraction of questions right)"


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of panels: one row up to three runs, then two or three columns."""
    columns = n if n <= 3 else (2 if n == 4 else 3)
    return math.ceil(n / columns), columns


def legend_handles(frontier: tuple[str, float, str] | None, chance: bool = False,
                   smoothed: bool = True) -> list[Line2D]:
    """The shared legend: the same styles as every panel draws (`smoothed`: a smoothing weight
    above 0, so the line and its peak are the smoothed curve's)."""
    colour = style.KIND_COLOURS["trained"]
    handles = [
        Line2D([], [], ls="none", marker="o", ms=3, color=colour, alpha=0.35,
               label=f"raw {VAL_METRIC} (iteration 0 = base model)"),
        Line2D([], [], ls="-", lw=1.6, color=colour, label="exponentially smoothed" if smoothed else "not smoothed"),
        Line2D([], [], ls="none", marker="*", ms=9, color=colour, label="smoothed peak" if smoothed else "peak"),
        Line2D([], [], ls="--", lw=1, color=style.KIND_COLOURS["base"], label="base model level"),
    ]
    if chance:
        handles.append(Line2D([], [], ls="-.", lw=1, color=style.CHANCE,
                              label="chance (uniformly random answers)"))
    if frontier is not None:
        label, acc, where = frontier
        handles.append(Line2D([], [], ls=":", lw=1.2, color=style.REFERENCE,
                              label=f"best frontier API model ({where}):\n{label} {acc:.1%}"))
    return handles


def render(ctx: Context) -> Rendered | None:
    inputs = ctx.new_inputs()
    runs = [r for r in load_runs(ctx.profile_dir, inputs) if any(i > 0 for i in r.iterations)]
    if not runs:
        return None
    frontier = best_frontier(ctx, inputs) if ctx.settings.published_reference else None
    weight = ctx.settings.smoothing_weight
    colour = style.KIND_COLOURS["trained"]
    style.setup()
    rows, columns = grid_shape(len(runs))
    fig, axes = plt.subplots(rows, columns, figsize=(max(7.2, 3.4 * columns + 0.8), 2.9 * rows + 1.3),
                             squeeze=False, sharey=True, layout="constrained")
    flat = [ax for row in axes for ax in row]
    for ax, run in zip(flat, runs):
        smoothed = smooth(run.values, weight)
        ax.plot(run.iterations, run.values, "o", ms=3, color=colour, alpha=0.35, clip_on=False)
        ax.plot(run.iterations, smoothed, "-", lw=1.6, color=colour, clip_on=False)
        peak = max(range(len(smoothed)), key=lambda i: (smoothed[i], -i))
        ax.plot([run.iterations[peak]], [smoothed[peak]], "*", ms=9, color=colour, clip_on=False)
        if run.base_value is not None:
            ax.axhline(run.base_value, ls="--", lw=1, color=style.KIND_COLOURS["base"])
        if run.chance_value is not None:
            ax.axhline(run.chance_value, ls="-.", lw=1, color=style.CHANCE)
        if frontier is not None:
            ax.axhline(frontier[1], ls=":", lw=1.2, color=style.REFERENCE)
        name = run.name + (f" ({run.model})" if run.model and run.model != run.name else "")
        base = f"base {run.base_value:.1%}, " if run.base_value is not None else ""
        ax.set_title(f"{name}\n{base}{'smoothed peak' if weight > 0 else 'peak'} {smoothed[peak]:.1%} at it. {run.iterations[peak]}",
                     fontsize=9)
        ax.set_xlabel("training iteration")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(0, 1)
    for ax in flat[len(runs):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel(Y_LABEL)
    has_chance = any(r.chance_value is not None for r in runs)
    handles = legend_handles(frontier, chance=has_chance, smoothed=weight > 0)
    # three legend columns under two or more panels, two under one (so the legend fits)
    fig.legend(handles=handles, loc="outside lower center", ncol=3 if columns > 1 else 2, frameon=False)
    fig.suptitle(f"{TITLE} (profile {ctx.profile}, {MEASURED} here)")
    files = style.save(fig, ctx.out_dir / NAME, dpi=ctx.settings.dpi)
    description = (
        f"Validation accuracy after each GRPO iteration, measured here: `{VAL_METRIC}`, the mean "
        f"per-puzzle reward (fraction of questions answered correctly) on this project's `val` "
        f"split; iteration 0 is the base model (`base_val_reward` of the run's summary). Points "
        + (f"are raw values, the line is exponentially smoothed with weight {weight:g} "
           f"(s_t = w s_(t-1) + (1 - w) x_t), the star marks its peak. " if weight > 0 else
           "and the line are the raw values (no smoothing), the star marks the peak. ")
        + f"Dashed: the base model's "
        f"level on the same split. "
        + ("Dash-dotted: chance, the exact expected reward of answering every question with a "
           "uniformly random option from the puzzle's own list, on the same split. " if has_chance else "")
        + ("No published number is drawn: this profile's puzzles are not the published kind and size "
           "(figures.published_reference is false)" if not ctx.settings.published_reference else
           "Dotted: the most accurate frontier API model"
           + (f" ({frontier[2]}; a different puzzle set than the curve)" if frontier else " (none available)"))
        + ". The checkpoint is selected on `val`; held-out results are in the accuracy figure."
    )
    return Rendered(NAME, TITLE, files, inputs, description)
