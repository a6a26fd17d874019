# One DAG for every profile: puzzles -> models -> training -> evaluation -> tables/figures.
# Choose the profile with `--profile workflow/profiles/<name>` (its configfile) or
# `--configfile <any>.yaml`; `--config key=value` / `--config 'training={"iterations": 1}'`
# overrides reach every job. Rules live in workflow/rules/, one file a stage; each rule calls one
# script under scripts/ with its {input} and {output}, and the logic lives in src/deductive/.
#
# The config is resolved here once (after every --configfile and --config): string scalars of a
# nested --config are coerced to the schema's types, then the schema and every cross reference
# (model names, splits, price keys) are checked. Each job reads only its own resolved values,
# work/<profile>/config/<job>.json (git-ignored, never committed: a stale copy could not be
# told apart), written by the rule `job_config` whose params are the file's text, so a changed
# value reruns exactly the jobs that use it.
# The package is installed (make setup: an editable install; the Makefile also puts this
# checkout's src/ first on PYTHONPATH, so a second worktree runs its own code).
import sys
from pathlib import Path

from deductive.config import ConfigError, derive_seed, resolve_config
from deductive.jobs import job_texts
from deductive.puzzles.run import split_args, stale_reason
from snakemake.exceptions import WorkflowError

# No default configfile: Snakemake would merge it with the chosen one (smoke's models would leak
# into paper). Without any config, fall back to the smoke profile.
if not config:
    configfile: "workflow/config/smoke.yaml"

try:
    _resolved = resolve_config(config, source="snakemake config")
except ConfigError as exc:
    raise WorkflowError(f"error: {exc}") from None
config.clear()
config.update(_resolved)

PROFILE = config["profile"]
RESULTS = f"results/{PROFILE}"
PY = sys.executable
JOB_TEXTS = job_texts(config)


def job_config(name):
    """The resolved config file of job `name` (an input of the rule that runs it)."""
    return f"work/{PROFILE}/config/{name}.json"


rule job_config:
    output:
        f"work/{PROFILE}/config/{{job}}.json",
    params:
        resolved=lambda wc: JOB_TEXTS[wc.job],
    wildcard_constraints:
        job="|".join(map(lambda n: n.replace(".", r"\."), JOB_TEXTS)),
    localrule: True
    shell:  # a shell job: no Snakemake subprocess per file (a `run:` block would start one)
        "printf '%s\\n' {params.resolved:q} > {output}.tmp && mv {output}.tmp {output}"


include: "workflow/rules/puzzles.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        PUZZLE_TARGETS,
        MODEL_TARGETS,
        TRAIN_TARGETS,
        EVAL_TARGETS,
        TABLE_TARGETS,
        FIGURE_TARGETS,
