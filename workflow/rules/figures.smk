# Stage: figures. Renders figures/<profile>/ from this profile's evaluation summaries and tables
# and its training metrics (the other stages' results files) plus the published numbers. It
# only reads results; `make figures` runs the same script without Snakemake.

FIGURE_INPUT_PREFIXES = tuple(f"{RESULTS}/{stage}/" for stage in ("eval", "tables", "train"))


def figure_inputs(wildcards):
    """Final outputs of the evaluation and training stages (appended to ALL_TARGETS before)."""
    return sorted({str(t) for t in ALL_TARGETS if str(t).startswith(FIGURE_INPUT_PREFIXES)})


rule figures:
    input:
        figure_inputs,
        published="results/published/published.csv",
    output:
        report(
            directory(f"figures/{PROFILE}"),
            patterns=["{name}.png"],
            category="Figures",
            subcategory=PROFILE,
            caption="../report/figures.rst",
        ),
    localrule: True
    log:
        f"{RESULTS}/logs/figures.log",
    shell:
        "{PY} scripts/make_figures.py --results results --out figures --profile {PROFILE}"
        " 2> >(tee {log} >&2)"


ALL_TARGETS += [f"figures/{PROFILE}"]
