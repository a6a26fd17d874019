"""Figure 3: accuracy per model with 95% confidence intervals, base and trained side by side.

Measured here only (published numbers have no intervals), on the held-out split named by
`figures.accuracy_split` (default `test`). Each base model's bar stands next to the bars of the
runs trained from it; API models follow as single bars.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from deductive.figures import style
from deductive.figures.context import Context, Rendered
from deductive.figures.data import Point, load_measured

NAME = "accuracy_ci"
TITLE = "Accuracy per model with 95% confidence intervals"
KIND_ORDER = {"base": 0, "trained": 1, "api": 2}


GRPO_SUFFIX = "+grpo"


def group_of(p: Point) -> str:
    """The base model a result belongs to: its published row without '+grpo' (API: itself)."""
    if p.kind == "api":
        return p.key
    if p.published_key:
        return p.published_key.removesuffix(GRPO_SUFFIX)
    return (p.model or p.key).split("+", 1)[0]


def grouped(points: list[Point]) -> list[tuple[str, list[Point]]]:
    """[(group label, its points base first)], model groups by name, then API models."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(group_of(p), []).append(p)
    order = sorted(groups, key=lambda g: (min(KIND_ORDER.get(p.kind, 3) for p in groups[g]) == 2, g))
    out = []
    for g in order:
        members = sorted(groups[g], key=lambda p: (KIND_ORDER.get(p.kind, 3), p.key))
        base = [p for p in members if p.kind == "base"]
        label = base[0].model if base and base[0].model else g
        if any(p.stand_in for p in members) and g != label:
            label = f"{label}\n(stands in for {g.split('/')[-1]})"
        out.append((label, members))
    return out


def render(ctx: Context) -> Rendered | None:
    inputs = ctx.new_inputs()
    split = ctx.settings.accuracy_split
    points = load_measured(ctx.profile_dir, split, inputs)
    if not points:
        return None
    groups = grouped(points)
    style.setup()
    width = 0.8 / max(len(members) for _, members in groups)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * sum(len(m) for _, m in groups) + 1.5), 4.2))
    ticks, ticklabels = [], []
    top = 0.0
    for x, (group, members) in enumerate(groups):
        offsets = [(i - (len(members) - 1) / 2) * width for i in range(len(members))]
        for off, p in zip(offsets, members):
            colour = style.KIND_COLOURS.get(p.kind, style.MEASURED)
            err = None
            if p.ci95:
                err = [[max(0.0, p.accuracy - p.ci95[0])], [max(0.0, p.ci95[1] - p.accuracy)]]
            ax.bar(x + off, p.accuracy, width * 0.92, color=colour, yerr=err, capsize=3,
                   error_kw={"lw": 1, "ecolor": "0.2"})
            high = p.ci95[1] if p.ci95 else p.accuracy
            top = max(top, high)
            ax.annotate(f"{p.accuracy:.1%}", (x + off, high), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
            if p.kind == "trained":
                ax.annotate(p.key, (x + off, 0), xytext=(0, 3), textcoords="offset points", ha="center",
                            va="bottom", fontsize=6.5, rotation=90, color="white")
        ticks.append(x)
        ticklabels.append(group)
    ax.set_xticks(ticks, ticklabels, fontsize=7.5)
    ax.set_ylim(0, min(1.05, max(0.1, top * 1.2 + 0.02)))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(f"accuracy on split '{split}' ({style.MEASURED_LABEL})")
    kinds = [k for k in ("base", "trained", "api") if any(p.kind == k for p in points)]
    ax.legend(handles=[Patch(color=style.KIND_COLOURS[k], label=k) for k in kinds], loc="upper left",
              frameon=False)
    ax.set_title(f"{TITLE}\nprofile {ctx.profile}, split '{split}', measured here", fontsize=9)
    ax.grid(axis="x", visible=False)
    fig.tight_layout()
    files = style.save(fig, ctx.out_dir / NAME, dpi=ctx.settings.dpi)
    description = (
        f"Accuracy (mean per-puzzle fraction of questions answered correctly) on split `{split}` "
        f"of profile `{ctx.profile}`, measured here, with 95% confidence intervals from the "
        "evaluation summaries (clustered bootstrap over puzzles). Bars of a base model and of the "
        "runs trained from it stand side by side; trained bars carry the run name."
        + (" Smoke profile: small stand-in models (random weights or 135M parameters), which "
           "checks the pipeline, not the paper's claim." if any(p.stand_in for p in points) else "")
    )
    return Rendered(NAME, TITLE, files, inputs, description)
