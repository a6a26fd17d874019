"""Figure/table 4: reproduced (measured here) versus published, as a table and a paired chart.

Every published row is listed; a measured result is paired with the published row its
evaluation entry reproduces (`published_key` in its evaluation summary, on the split
`figures.comparison_split`, default `published_val`: the puzzles the publication used).
The pairing and the numbers of each pair come from deductive.evaluation.comparison, which
also feeds results/<profile>/tables/comparison.{csv,md}; this module only renders them.
The table is written as Markdown and LaTeX; the paired chart only when a pair exists.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from deductive.evaluation.comparison import Comparison, compare
from deductive.figures import style
from deductive.figures.context import Context, Rendered
from deductive.figures.data import load_published_rows, load_summaries
from deductive.io import atomic_write_text

NAME = "published_compare"
TITLE = "Reproduced versus published"
MISSING = "not measured"


def pairs(ctx: Context, inputs) -> list[Comparison]:
    """Every published row with the results of split `figures.comparison_split` reproducing it,
    paired by deductive.evaluation.comparison (the owner of the pairing, shared with the table)."""
    published = load_published_rows(ctx.published, inputs)
    summaries = load_summaries(ctx.profile_dir, ctx.settings.comparison_split, inputs)
    # a result reproduces a published row only on that row's own puzzles (its split): a profile
    # whose comparison split is another one (learn: test) shows "not measured" throughout
    return compare(summaries, published)


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def _usd(x: float | None) -> str:
    if x is None:
        return ""
    return f"${x:.4g}"


def table_cells(row: Comparison) -> list[str]:
    if not row.measured:
        measured = [MISSING, "", "", ""]
    else:
        ci = f" [{_pct(row.ci95_lo)}, {_pct(row.ci95_hi)}]" if row.ci95 else ""
        delta = f"{100 * row.difference:+.1f}"
        entry = row.entry + (" (stand-in)" if row.stand_in else "")
        measured = [f"{_pct(row.measured_accuracy)}{ci}", delta, _usd(row.measured_usd_per_puzzle), entry]
    return [row.published_label, _pct(row.published_accuracy), _usd(row.published_usd_per_puzzle), *measured]


HEADER = ["model", "published accuracy", "published $/puzzle", "measured here: accuracy [95% CI]",
          "difference (points)", "measured here: $/puzzle", "measured entry"]


def markdown(ctx: Context, rows: list[Comparison]) -> str:
    lines = [f"| {' | '.join(HEADER)} |", "|" + "---|" * len(HEADER)]
    lines += [f"| {' | '.join(table_cells(r))} |" for r in rows]
    return "\n".join(lines) + "\n"


TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
               "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def _tex(text: str) -> str:
    return "".join(TEX_ESCAPES.get(c, c) for c in text)


def latex(ctx: Context, rows: list[Comparison]) -> str:
    lines = [r"\begin{tabular}{lrrrrrl}", r"\hline",
             " & ".join(_tex(h) for h in HEADER) + r" \\", r"\hline"]
    lines += [" & ".join(_tex(c) for c in table_cells(r)) + r" \\" for r in rows]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


LABEL_WIDTH = 40  # characters per line of a model label on the y axis
ROW_INCHES = 0.62  # height of one published/measured pair
ZERO_MARK = 0.006  # a measured 0% is drawn as a sliver this long (accuracy units) so it shows


def pair_label(row: Comparison) -> str:
    """'<published model>' over 'vs <measured entry>', each wrapped to LABEL_WIDTH characters."""
    measured = f"vs {row.entry}" + (" (stand-in)" if row.stand_in else "")
    return "\n".join(textwrap.fill(part, LABEL_WIDTH) for part in (row.published_label, measured))


def chart(ctx: Context, rows: list[Comparison]):
    """Horizontal paired bars, one pair per row (published hatched, measured filled), 0-100%."""
    paired = [r for r in rows if r.measured]
    style.setup()
    labels = [pair_label(r) for r in paired]
    lines = max(label.count("\n") + 1 for label in labels)
    row_in = max(ROW_INCHES, 0.16 * lines + 0.12)
    fig, ax = plt.subplots(figsize=(7.2, 1.55 + row_in * len(paired)))
    height = 0.38
    for y, row in enumerate(paired):
        pub, m, ci = row.published_accuracy, row.measured_accuracy, row.ci95
        ax.barh(y - height / 2, pub, height * 0.92, color="white", edgecolor=style.PUBLISHED,
                hatch="///", lw=1.0)
        err = ([[max(0.0, m - ci[0])], [max(0.0, ci[1] - m)]] if ci else None)
        ax.barh(y + height / 2, max(m, ZERO_MARK), height * 0.92, color=style.MEASURED,
                xerr=err, capsize=2.5, error_kw={"lw": 1, "ecolor": "0.2"})
        for off, value, end in ((-height / 2, pub, pub), (height / 2, m, max(m, ZERO_MARK, ci[1] if ci else 0))):
            ax.annotate(_pct(value), (end, y + off), xytext=(4, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=7)
    ax.set_yticks(range(len(paired)), labels, fontsize=7.5)
    ax.set_ylim(len(paired) - 0.5, -0.5)  # first pair on top
    ax.set_xlim(0, 1.1)  # room for a label right of a 100% bar
    ax.set_xticks([i / 5 for i in range(6)])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("accuracy")
    ax.grid(axis="y", visible=False)
    fig.legend(handles=[Patch(facecolor="white", edgecolor=style.PUBLISHED, hatch="///",
                              label=f"{style.PUBLISHED_LABEL} (OpenPipe, 2025)"),
                        Patch(color=style.MEASURED, label=f"{style.MEASURED_LABEL} (95% CI)")],
               loc="lower center", ncol=2, frameon=False)
    ax.set_title(f"{TITLE}: profile {ctx.profile}, split '{ctx.settings.comparison_split}'", fontsize=9)
    fig.tight_layout(rect=(0, 0.32 / fig.get_figheight(), 1, 1))
    return fig


def render(ctx: Context) -> Rendered | None:
    if not ctx.settings.published_reference:
        return None
    inputs = ctx.new_inputs()
    rows = pairs(ctx, inputs)
    if not rows:
        return None
    files = []
    for suffix, text in (("md", markdown(ctx, rows)), ("tex", latex(ctx, rows))):
        path = ctx.out_dir / f"{NAME}.{suffix}"
        atomic_write_text(path, text)
        files.append(path)
    n_pairs = sum(r.measured for r in rows)
    if n_pairs:
        files += style.save(chart(ctx, rows), ctx.out_dir / NAME, dpi=ctx.settings.dpi)
    stand_in = any(r.stand_in for r in rows)
    description = (
        "Every published number (taken from the publication, measured on the 64 published "
        "validation puzzles) beside the result measured here for the evaluation entry that "
        f"reproduces it, on split `{ctx.settings.comparison_split}` of profile `{ctx.profile}`. "
        f"{n_pairs} of {len(rows)} rows have a measured counterpart"
        + ("; the others read 'not measured' (no entry of this profile evaluated them)." if n_pairs < len(rows) else ".")
        + (" In the chart a measured 0% shows as a thin sliver on the axis." if n_pairs else "")
        + " Measured costs come from each model's own recorded token counts; published costs are as "
        "published (the 32B 'after GRPO' dollar figure contains the original's cost error, see "
        "results/published/SOURCE.md)."
        + (" Stand-in rows: a small model standing in for the published one (smoke profile); the "
           "numbers are not comparable, the pairing only exercises the pipeline." if stand_in else "")
        + (" The table is in `published_compare.md` and `published_compare.tex`"
           + ("; the chart shows the measured pairs." if n_pairs else "."))
    )
    return Rendered(NAME, TITLE, files, inputs, description)
