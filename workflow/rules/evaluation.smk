# Stage: evaluation. Every entry of the profile (base models, trained checkpoints selected on
# val, API baselines) on the evaluation splits, then the accuracy and comparison tables.
# Entries and splits come from deductive.evaluation.entries (one source of truth with the scripts);
# each job reads its entry's resolved config, work/<profile>/config/eval-<entry>.json.
import os

from deductive.config import PUBLISHED_SPLIT
from deductive.evaluation.entries import list_entries

EVAL_ENTRIES = list_entries(config)
EVAL_LOCAL = sorted(n for n, e in EVAL_ENTRIES.items() if e.kind != "api")
EVAL_API = sorted(n for n, e in EVAL_ENTRIES.items() if e.kind == "api")
EVAL_SPLITS = list(config["evaluation"]["splits"])
PRICES = "workflow/pricing.yaml"  # the price table every summary's cost comes from
PUBLISHED = "results/published/published.csv"  # the published numbers the tables and figures show


def eval_puzzle_files(entry):
    """split -> puzzle file of the entry's splits."""
    return {s: config["evaluation"]["published_val"] if s == PUBLISHED_SPLIT else f"{RESULTS}/puzzles/{s}.jsonl"
            for s in entry.splits}


def eval_inputs(wildcards):
    """Named inputs of an entry's job: its resolved config, price table, puzzles, model and
    training summary."""
    entry = EVAL_ENTRIES[wildcards.entry]
    inputs = {"config": job_config(f"eval-{entry.name}"), "prices": PRICES,
              **{f"puzzles_{s}": f for s, f in eval_puzzle_files(entry).items()}}
    model = entry.api.get("serve") if entry.kind == "api" else entry.model_name
    if model:
        inputs["model"] = f"models/{model}/manifest.json"
    if entry.kind == "trained":
        inputs["train_summary"] = f"{RESULTS}/train/{entry.run}/summary.json"
    return inputs


def eval_args(wildcards, input):
    """The paths scripts/evaluate.py reads and writes, all chosen here."""
    entry = EVAL_ENTRIES[wildcards.entry]
    args = [f"--out-dir {RESULTS}/eval/{entry.name}", f"--work-dir work/{PROFILE}/eval/{entry.name}",
            f"--prices {input.prices}"]
    args += [f"--puzzles {s}={f}" for s, f in eval_puzzle_files(entry).items()]
    if "model" in input.keys():
        args.append(f"--model-dir {Path(input.model).parent}")
    if "train_summary" in input.keys():
        args.append(f"--train-summary {input.train_summary}")
    return " ".join(args)


def api_key_state(wildcards):
    """Part of the rule's params, so the job reruns when the key appears or disappears."""
    entry = EVAL_ENTRIES[wildcards.entry]
    if entry.api.get("serve"):
        return "served-locally"
    return "key-set" if os.environ.get(entry.api["api_key_env"]) else "key-missing"


def api_env(wildcards):
    """A locally served endpoint gets a dummy key from the rule (never a real one)."""
    entry = EVAL_ENTRIES[wildcards.entry]
    return f"{entry.api['api_key_env']}=local-dummy-key" if entry.api.get("serve") else ""


if EVAL_LOCAL:

    rule evaluate_local:
        input:
            unpack(eval_inputs),
        output:
            expand(f"{RESULTS}/eval/{{{{entry}}}}/{{split}}.summary.json", split=EVAL_SPLITS),
            expand(f"{RESULTS}/eval/{{{{entry}}}}/{{split}}.samples.jsonl.gz", split=EVAL_SPLITS),
        params:
            paths=eval_args,
        wildcard_constraints:
            entry="|".join(map(lambda n: n.replace(".", r"\."), EVAL_LOCAL)),
        threads: workflow.cores
        resources:
            vllm_engines=1,
        log:
            f"{RESULTS}/logs/evaluate-{{entry}}.log",
        shell:
            "{PY} scripts/evaluate.py --config {input.config} --entry {wildcards.entry} {params.paths}"
            " 2> >(tee {log} >&2)"


if EVAL_API:

    rule evaluate_api:
        input:
            unpack(eval_inputs),
        output:
            f"{RESULTS}/eval/{{entry}}/api.status.json",
        params:
            key=api_key_state,
            env=api_env,
            paths=eval_args,
        wildcard_constraints:
            entry="|".join(map(lambda n: n.replace(".", r"\."), EVAL_API)),
        threads: lambda wc: workflow.cores if EVAL_ENTRIES[wc.entry].api.get("serve") else 1
        resources:
            vllm_engines=1,
        log:
            f"{RESULTS}/logs/evaluate-{{entry}}.log",
        shell:
            "env {params.env} {PY} scripts/evaluate.py --config {input.config} --entry {wildcards.entry}"
            " {params.paths} --status-out {output} 2> >(tee {log} >&2)"


EVAL_OUTPUTS = [f"{RESULTS}/eval/{e}/{s}.summary.json" for e in EVAL_LOCAL for s in EVAL_SPLITS]
EVAL_OUTPUTS += [f"{RESULTS}/eval/{e}/api.status.json" for e in EVAL_API]


rule tables:
    input:
        eval=EVAL_OUTPUTS,
        published=PUBLISHED,
    output:
        f"{RESULTS}/tables/accuracy.csv",
        f"{RESULTS}/tables/accuracy.md",
        f"{RESULTS}/tables/comparison.csv",
        f"{RESULTS}/tables/comparison.md",
    localrule: True
    params:
        eval_root=f"{RESULTS}/eval",
        out=f"{RESULTS}/tables",
    shell:
        "{PY} scripts/make_tables.py --eval-root {params.eval_root} --published {input.published} --out {params.out}"


EVAL_TARGETS = EVAL_OUTPUTS
TABLE_TARGETS = [f"{RESULTS}/tables/accuracy.csv", f"{RESULTS}/tables/comparison.csv"]
