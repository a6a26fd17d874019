"""Figure 2: dollars per puzzle (log scale) against accuracy for every model.

Measured models (filled, coloured by kind) and published numbers (hollow, grey) are drawn
together; the Pareto frontier (cheaper and more accurate dominates) is computed over all drawn
points and shown as a step line. Labels are placed by the deterministic scheme in `labels`.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from deductive.figures import style
from deductive.figures.context import Context, Rendered
from deductive.figures.data import MEASURED, PUBLISHED, Point, load_measured, load_published
from deductive.figures.labels import place_labels
from deductive.figures.pareto import frontier, staircase

NAME = "cost_accuracy"
TITLE = "Accuracy against cost per puzzle"
KIND_ORDER = {"base": 0, "trained": 1, "api": 2}


def collect(ctx: Context, inputs) -> tuple[list[Point], list[Point]]:
    """(drawable points in a fixed order, points left out for lack of a positive cost)."""
    measured = load_measured(ctx.profile_dir, ctx.settings.comparison_split, inputs)
    published = load_published(ctx.published, inputs) if ctx.settings.published_reference else []
    everything = sorted(measured, key=lambda p: (KIND_ORDER.get(p.kind, 3), p.key)) + published
    drawn = [p for p in everything if p.usd_per_puzzle is not None and p.usd_per_puzzle > 0]
    left_out = [p for p in everything if p not in drawn]
    return drawn, left_out


def point_label(p: Point) -> str:
    return p.label if p.source == PUBLISHED else f"{p.label} [{p.kind or 'model'}]"


def render(ctx: Context) -> Rendered | None:
    inputs = ctx.new_inputs()
    drawn, left_out = collect(ctx, inputs)
    if not drawn:
        return None
    coords = [(p.usd_per_puzzle, p.accuracy) for p in drawn]
    front = frontier(coords)
    style.setup()
    fig, ax = plt.subplots(figsize=(8.0, 5.2))
    ax.set_xscale("log")
    lo = min(c[0] for c in coords)
    hi = max(c[0] for c in coords)
    ax.set_xlim(10 ** (math.log10(lo) - 0.9), 10 ** (math.log10(hi) + 0.7))  # room for labels
    top = max(c[1] for c in coords)
    ax.set_ylim(0, min(1.0, max(0.1, top * 1.18 + 0.03)))
    xs, ys = staircase(coords, ax.get_xlim()[1])
    ax.plot(xs, ys, "-", color=style.FRONTIER, lw=1.2, alpha=0.8, zorder=1)
    colours = []
    for i, p in enumerate(drawn):
        if p.source == MEASURED:
            colour = style.KIND_COLOURS.get(p.kind, style.MEASURED)
            ax.plot(p.usd_per_puzzle, p.accuracy, "o", ms=7, color=colour, zorder=3)
        else:
            colour = style.PUBLISHED
            ax.plot(p.usd_per_puzzle, p.accuracy, "s", ms=6.5, mfc="white", mec=colour, mew=1.4, zorder=3)
        if i in front:
            ax.plot(p.usd_per_puzzle, p.accuracy, "o", ms=13, mfc="none", mec=style.FRONTIER, mew=1.0, zorder=2)
        colours.append("0.35" if p.source == PUBLISHED else "black")
    ax.set_xlabel("US dollars per puzzle (log scale)")
    ax.set_ylabel("accuracy (mean fraction of questions right)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    handles = [Line2D([], [], ls="", marker="s", mfc="white", mec=style.PUBLISHED, mew=1.4,
                      label=f"{style.PUBLISHED_LABEL} (OpenPipe, 2025)")] if any(p.source == PUBLISHED for p in drawn) else []
    for kind in ("base", "trained", "api"):
        if any(p.source == MEASURED and p.kind == kind for p in drawn):
            handles.append(Line2D([], [], ls="", marker="o", color=style.KIND_COLOURS[kind],
                                  label=f"{style.MEASURED_LABEL}: {kind}"))
    handles.append(Line2D([], [], color=style.FRONTIER, label="Pareto frontier (all points)"))
    ax.legend(handles=handles, loc="upper left", frameon=True, framealpha=0.9)
    has_measured = any(p.source == MEASURED for p in drawn)
    scope = (f"measured here: profile {ctx.profile}, split {ctx.settings.comparison_split}"
             if has_measured else "published numbers only; nothing measured for this profile yet")
    ax.set_title(f"{TITLE} ({scope})", fontsize=9)
    fig.tight_layout()  # final layout first: labels are placed in display space
    place_labels(ax, [c[0] for c in coords], [c[1] for c in coords], [point_label(p) for p in drawn],
                 fontsize=7, colors=colours, avoid_lines=[(xs, ys)])
    files = style.save(fig, ctx.out_dir / NAME, dpi=ctx.settings.dpi)
    members = ", ".join(f"{drawn[i].label} ({drawn[i].source})" for i in front)
    description = (
        "Accuracy (mean per-puzzle fraction of questions answered correctly) against US dollars "
        "per puzzle on a log scale. "
        + ("Hollow grey squares are published numbers (64 published validation puzzles, one sample "
           "each for API models; taken from the publication, not measured here). "
           if ctx.settings.published_reference else
           "No published number is drawn: this profile's puzzles are not the published kind and "
           "size (figures.published_reference is false). ")
        + "Filled circles were measured here"
        + (f" on split `{ctx.settings.comparison_split}` of profile `{ctx.profile}`, priced from "
           "each model's own recorded token counts" if has_measured else " (none yet for this profile)")
        + ". The green step line is the Pareto frontier over all drawn points (a point is dominated "
        f"when another is no dearer and no less accurate); ringed points are on it: {members}."
        + (" Not drawn (no positive cost): " + ", ".join(f"{p.label} ({p.source})" for p in left_out) + "."
           if left_out else "")
        + (" Small stand-in models, not comparable with the published numbers."
           if any(p.stand_in for p in drawn) else "")
    )
    return Rendered(NAME, TITLE, files, inputs, description)
