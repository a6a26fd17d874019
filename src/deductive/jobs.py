"""The resolved config values each job of the DAG uses, and nothing else.

The Snakefile resolves the config once (deductive.config.resolve_config), then writes one JSON
file per job, `work/<profile>/config/<job>.json`, from `job_configs(config)`; a rule reads
the file it needs as an input. The file is written by a rule whose params are its text, so
changing a value reruns exactly the jobs that use it (and what depends on them). Each file has
the shape of a config (same section names) cut down to the job's values, plus `resolved_job`.
"""

from __future__ import annotations

from deductive.config import JOB_MARKER
from deductive.evaluation.entries import Entry, list_entries, run_lora
from deductive.io import dumps_canonical


def _job(name: str, **sections) -> dict:
    return {JOB_MARKER: name, **sections}


def model_job(config: dict, name: str) -> dict:
    return _job(f"model-{name}", profile=config["profile"], models={name: config["models"][name]})


def train_job(config: dict, run: str) -> dict:
    training = {k: v for k, v in config["training"].items() if k != "runs"}
    training["runs"] = {run: config["training"]["runs"][run]}
    model = training["runs"][run]["model"]
    return _job(f"train-{run}", profile=config["profile"], seed=config["seed"],
                models={model: config["models"][model]}, sampling=config["sampling"], training=training,
                logging=config["logging"])


def eval_job(config: dict, entry: Entry) -> dict:
    evaluation = {k: v for k, v in config["evaluation"].items() if k != "api"}
    sections: dict = {"profile": config["profile"]}
    if entry.kind == "api":
        evaluation["api"] = {entry.name: config["evaluation"]["api"][entry.name]}
        serve = entry.api.get("serve")
        sections["models"] = {serve: config["models"][serve]} if serve else {}
        if serve:  # the local server starts with the shared engine settings
            sections["sampling"] = {"engine": config["sampling"]["engine"]}
        sections["training"] = {"runs": {}}
    else:
        sections["models"] = {entry.model_name: config["models"][entry.model_name]}
        sections["sampling"] = config["sampling"]
        runs = {entry.run: {"model": entry.model_name}} if entry.kind == "trained" else {}
        sections["training"] = {"val_split": config["training"].get("val_split"), "runs": runs}
        lora = run_lora(config, entry.run) if entry.kind == "trained" else None
        if lora:  # the entry's name says LoRA: its job must list it under the same name
            runs[entry.run]["lora"] = lora
    sections["evaluation"] = evaluation
    return _job(f"eval-{entry.name}", **sections)


def figures_job(config: dict) -> dict:
    return _job("figures", profile=config["profile"], figures=config.get("figures") or {})


def job_configs(config: dict) -> dict[str, dict]:
    """job name -> its resolved config, for every job of the DAG that reads config values."""
    jobs = [model_job(config, name) for name in config["models"]]
    jobs += [train_job(config, run) for run in (config.get("training") or {}).get("runs") or {}]
    jobs += [eval_job(config, entry) for entry in list_entries(config).values()]
    jobs.append(figures_job(config))
    return {job[JOB_MARKER]: job for job in jobs}


def job_texts(config: dict) -> dict[str, str]:
    """job name -> the canonical JSON text of its resolved config (what the rule writes)."""
    return {name: dumps_canonical(job) for name, job in job_configs(config).items()}
