# Stage: training. One GRPO run per `training.runs` entry (scripts/train.py, deductive.training.loop):
# a long resumable job that samples with a live vLLM engine, trains with torchtune and keeps
# checkpoints under checkpoints/<profile>/<run>/ (git-ignored). Runs needing GPUs, or several
# CPU processes (`world_size`), are started with torchrun (scripts/launch_torchrun.sh: the run's
# placement, deductive.training.placement; several SLURM nodes: rendezvous over the allocation).

from deductive.settings import training_section

TRAIN_RUNS = config["training"]["runs"]


def curriculum_files(run):
    """The run's curriculum splits (stage order) -> their puzzle files."""
    stages = training_section(config, run).get("curriculum") or []
    return {stage["split"]: f"{RESULTS}/puzzles/{stage['split']}.jsonl" for stage in stages}


def train_inputs(wildcards):
    t = config["training"]
    return {"config": job_config(f"train-{wildcards.run}"),
            "model": f"models/{TRAIN_RUNS[wildcards.run]['model']}/manifest.json",
            "train": f"{RESULTS}/puzzles/{t['train_split']}.jsonl",
            "val": f"{RESULTS}/puzzles/{t['val_split']}.jsonl",
            "curriculum": list(curriculum_files(wildcards.run).values())}


def train_gpus(wildcards):
    return int(TRAIN_RUNS[wildcards.run].get("gpus_required", 0))


def train_launcher(wildcards):
    run = TRAIN_RUNS[wildcards.run]
    processes = int(run.get("world_size", config["training"].get("world_size", 0)) or 0)
    return f"{PY}" if train_gpus(wildcards) == 0 and processes <= 1 else f"bash scripts/launch_torchrun.sh {PY}"


rule train:
    input:
        unpack(train_inputs),
    output:
        summary=f"{RESULTS}/train/{{run}}/summary.json",
        metrics=f"{RESULTS}/train/{{run}}/metrics.jsonl",
    params:
        launch=train_launcher,
        model_dir=lambda wc, input: str(Path(input.model).parent),
        out_dir=lambda wc, output: str(Path(output.summary).parent),
        checkpoints=f"checkpoints/{PROFILE}/{{run}}",
        curriculum=lambda wc: "".join(f" --curriculum {split}={path}" for split, path in curriculum_files(wc.run).items()),
    wildcard_constraints:
        run="|".join(map(lambda n: n.replace(".", r"\."), TRAIN_RUNS)),
    threads: workflow.cores
    resources:
        vllm_engines=1,
        gpu_jobs=lambda wc: 1 if train_gpus(wc) else 0,
        gpus=train_gpus,
    log:
        f"{RESULTS}/logs/train-{{run}}.log",
    shell:
        "{params.launch} scripts/train.py --config {input.config} --run {wildcards.run}"
        " --model-dir {params.model_dir} --train {input.train} --val {input.val}"
        " --out {params.out_dir} --checkpoints {params.checkpoints}{params.curriculum} 2> >(tee {log} >&2)"


TRAIN_TARGETS = expand(f"{RESULTS}/train/{{run}}/summary.json", run=list(TRAIN_RUNS))
