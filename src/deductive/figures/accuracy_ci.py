"""Figure 3: accuracy per model with 95% confidence intervals, base and trained side by side.

Measured here only (published numbers have no intervals), on the held-out split named by
`figures.accuracy_split` (default `test`). Each base model's bar stands next to the bars of the
runs trained from it; API models follow as single bars.
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
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


ZERO_MARK = 0.008  # a 0% bar is drawn this tall (accuracy units), so it shows above the axis
FIG_HEIGHT = 4.4
BAR_INCHES = 1.3  # width given to each bar


def _wrap_line(line: str, chars: int) -> list[str]:
    pieces = re.findall(r"[^-+_/ ]*(?:[-+_/ ]+|$)", line)  # break after a space, '-', '+', '_' or '/'
    out = [""]
    for piece in filter(None, pieces):
        if out[-1] and len(out[-1]) + len(piece.rstrip()) > chars:
            out.append("")
        out[-1] += piece
    return [part.strip() for part in out]


def wrap(text: str, chars: int) -> str:
    """Each line of `text` wrapped to about `chars` characters, breaking after separators only."""
    return "\n".join(part for line in text.split("\n") for part in _wrap_line(line, max(8, chars)))


def bar_label(p: Point, group: str, chars: int) -> str:
    """The text under one bar: its evaluation entry (none when the group row already says it)."""
    return "" if p.key == group else wrap(p.key, chars)


def _chart(ctx: Context, groups, split: str):
    n_bars = sum(len(m) for _, m in groups)
    fig, ax = plt.subplots(figsize=(max(5.5, BAR_INCHES * n_bars + 1.8), FIG_HEIGHT))
    width = 0.8 / max(len(members) for _, members in groups)
    # characters of 6.5 pt text (about 0.6 em each) that fit in one bar's slot; the axes take
    # about the figure width less 1.5 inches of margins, one x unit per group
    unit = (fig.get_figwidth() - 1.5) / len(groups)
    bar_x, bar_labels, group_x, group_labels = [], [], [], []
    for x, (group, members) in enumerate(groups):
        offsets = [(i - (len(members) - 1) / 2) * width for i in range(len(members))]
        slot = (width if len(members) > 1 else 0.8) * unit
        chars = int(slot * 72 / (6.5 * 0.62)) - 2
        for off, p in zip(offsets, members):
            colour = style.KIND_COLOURS.get(p.kind, style.MEASURED)
            err = None
            if p.ci95:
                err = [[max(0.0, p.accuracy - p.ci95[0])], [max(0.0, p.ci95[1] - p.accuracy)]]
            ax.bar(x + off, max(p.accuracy, ZERO_MARK), width * 0.92, color=colour, yerr=err,
                   capsize=3, error_kw={"lw": 1, "ecolor": "0.2"})
            high = max(p.accuracy, ZERO_MARK, p.ci95[1] if p.ci95 else 0.0)
            if p.chance is not None:  # chance on this bar's own puzzles
                ax.hlines(p.chance, x + off - width * 0.5, x + off + width * 0.5, colors=style.CHANCE,
                          linestyles="-.", lw=1.2, zorder=3)
            ax.annotate(f"{p.accuracy:.1%}", (x + off, high), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
            bar_x.append(x + off)
            bar_labels.append(bar_label(p, group, chars))
        group_x.append(x)
        group_labels.append(wrap(group, int(0.9 * unit * 72 / (7.5 * 0.62)) - 2))
    # entry names under each bar, the model group on a row below them
    ax.set_xticks(bar_x, bar_labels, fontsize=6.5)
    ax.tick_params(axis="x", length=2)
    lines = max(label.count("\n") + 1 for label in bar_labels)
    groups_axis = ax.secondary_xaxis("bottom")
    groups_axis.set_xticks(group_x, group_labels, fontsize=7.5)
    groups_axis.tick_params(axis="x", length=0, pad=6 + lines * 6.5 * 1.25)
    groups_axis.spines["bottom"].set_visible(False)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(0, 1.1)  # accuracy always on 0-100%, room for labels above a 100% bar
    ax.set_yticks([i / 5 for i in range(6)])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(f"accuracy on split '{split}'\n({style.MEASURED_LABEL})")
    kinds = [k for k in ("base", "trained", "api") if any(p.kind == k for _, m in groups for p in m)]
    handles = [Patch(color=style.KIND_COLOURS[k], label=k) for k in kinds]
    if any(p.chance is not None for _, m in groups for p in m):
        handles.append(Line2D([], [], ls="-.", lw=1.2, color=style.CHANCE,
                              label="chance (uniformly random answers)"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    ax.set_title(f"{TITLE}\nprofile {ctx.profile}, split '{split}', measured here", fontsize=9)
    ax.grid(axis="x", visible=False)
    fig.tight_layout(rect=(0, 0.3 / FIG_HEIGHT, 1, 1))
    return fig, ax


def render(ctx: Context) -> Rendered | None:
    inputs = ctx.new_inputs()
    split = ctx.settings.accuracy_split
    points = load_measured(ctx.profile_dir, split, inputs)
    if not points:
        return None
    groups = grouped(points)
    style.setup()
    fig, ax = _chart(ctx, groups, split)
    files = style.save(fig, ctx.out_dir / NAME, dpi=ctx.settings.dpi)
    description = (
        f"Accuracy (mean per-puzzle fraction of questions answered correctly) on split `{split}` "
        f"of profile `{ctx.profile}`, measured here, with 95% confidence intervals from the "
        "evaluation summaries (clustered bootstrap over puzzles). Bars of a base model and of the "
        "runs trained from it stand side by side, each named by its evaluation entry under the bar; "
        "a 0% result shows as a thin sliver on the axis."
        + (" The dash-dotted mark on each bar is chance on the same puzzles: the exact expected "
           "accuracy of answering every question with a uniformly random option from the puzzle's "
           "own list." if any(p.chance is not None for p in points) else "")
        + (" Small stand-in models (random weights or 135M parameters): these numbers check the "
           "pipeline or show learning at small scale, not the paper's claim."
           if any(p.stand_in for p in points) else "")
    )
    return Rendered(NAME, TITLE, files, inputs, description)
