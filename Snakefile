# One DAG for every profile: puzzles -> models -> training -> evaluation -> tables/figures.
# Choose the profile with `--profile workflow/profiles/<name>` (its configfile) or
# `--configfile workflow/config/<name>.yaml`. Rules live in workflow/rules/, one file a stage;
# each rule calls one script under scripts/, and the logic lives in src/deductive/.
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from deductive.config import derive_seed, validate_config  # noqa: E402

# No default configfile: Snakemake would merge it with the chosen one (smoke's models would leak
# into paper). Without any config, fall back to the smoke profile.
if not config:
    configfile: "workflow/config/smoke.yaml"

validate_config(config, source="snakemake config")  # clear message naming a bad key
validate(config, "workflow/schemas/config.schema.yaml")

PROFILE = config["profile"]
RESULTS = f"results/{PROFILE}"
PY = sys.executable
CONFIG_FILE = f"workflow/config/{PROFILE}.yaml"

# Each rules file appends the final outputs of its stage; `all` asks for them.
ALL_TARGETS = []

include: "workflow/rules/puzzles.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        ALL_TARGETS,
