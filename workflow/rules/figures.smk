# Stage: figures. Renders figures/<profile>/ from this profile's evaluation summaries and tables
# and its training metrics (the other stages' results files under results/<profile>/) plus the
# published numbers; the rule passes the folder it reads, the table and the folder it writes.
# It only reads results; `make figures` runs the same script over every profile without
# Snakemake. The inputs are looked up when the DAG is built, so the order the rule files are
# included in does not matter.


def figure_inputs(wildcards):
    return {"config": job_config("figures"), "published": PUBLISHED,
            "train": TRAIN_TARGETS, "eval": EVAL_TARGETS, "tables": TABLE_TARGETS}


rule figures:
    input:
        unpack(figure_inputs),
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
    params:
        profile_results=RESULTS,
    shell:
        "{PY} scripts/make_figures.py --config {input.config} --profile-results {params.profile_results}"
        " --published {input.published} --out-dir {output} 2> >(tee {log} >&2)"


FIGURE_TARGETS = [f"figures/{PROFILE}"]
