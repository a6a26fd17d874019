# Stage 1: puzzles. One JSON Lines file per split; each split draws from its own seed stream,
# derived from puzzles.seed and the split's name, so splits are independent and reproducible.

PUZZLE_SPLITS = list(config["puzzles"]["splits"])


def split_seed(split):
    return derive_seed(config["puzzles"]["seed"], "split", split)


# A split file generated with other settings (a count, shape or question setting changed since,
# e.g. in a fresh clone of committed results, where Snakemake has no metadata to notice) stops
# the DAG here with what differs, before anything downstream trains or evaluates on it.
for _split in PUZZLE_SPLITS:
    _stale = stale_reason(f"{RESULTS}/puzzles/{_split}.jsonl",
                          split_args(config["puzzles"], _split, split_seed(_split)))
    if _stale:
        raise WorkflowError(
            f"error: {RESULTS}/puzzles/{_split}.jsonl was generated with other settings than the config's "
            f"puzzles section: {_stale}. Delete it and {RESULTS}/puzzles/{_split}.stats.json to generate it "
            "again; every job that uses it (training, evaluation) then reruns too")


rule puzzles:
    output:
        f"{RESULTS}/puzzles/{{split}}.jsonl",
    params:
        n=lambda wc: config["puzzles"]["splits"][wc.split],
        seed=lambda wc: split_seed(wc.split),
        players=":".join(map(str, config["puzzles"]["players"])),
        workers=config["puzzles"]["workers"],
        shape=(f" --shape {','.join(map(str, config['puzzles']['shape']))}"
               if config["puzzles"].get("shape") else ""),
        max_questions=config["puzzles"]["max_questions"],
        main_questions=(f" --main-questions {','.join(config['puzzles']['main_questions']) or 'none'}"
                        if config["puzzles"].get("main_questions") is not None else ""),
    wildcard_constraints:
        split="|".join(PUZZLE_SPLITS),
    threads: workflow.cores
    log:
        f"{RESULTS}/logs/puzzles-{{split}}.log",
    shell:
        "{PY} scripts/generate_puzzles.py --count {params.n} --seed {params.seed}"
        " --id-prefix {wildcards.split} --players {params.players}{params.shape}"
        " --max-questions {params.max_questions}{params.main_questions} --workers {params.workers}"
        " --out {output} 2> >(tee {log} >&2)"


rule verify_puzzles:
    input:
        expand(f"{RESULTS}/puzzles/{{split}}.jsonl", split=PUZZLE_SPLITS),
    output:
        f"{RESULTS}/puzzles/verified.txt",
    log:
        f"{RESULTS}/logs/verify-puzzles.log",
    shell:
        "{PY} scripts/verify_puzzles.py {input} > {output}.tmp 2> >(tee {log} >&2) && mv {output}.tmp {output}"


rule puzzle_stats:
    input:
        f"{RESULTS}/puzzles/{{split}}.jsonl",
    output:
        f"{RESULTS}/puzzles/{{split}}.stats.json",
    wildcard_constraints:
        split="|".join(PUZZLE_SPLITS),
    shell:
        "{PY} scripts/puzzle_stats.py {input} --json {output}"


PUZZLE_TARGETS = [f"{RESULTS}/puzzles/verified.txt"]
PUZZLE_TARGETS += expand(f"{RESULTS}/puzzles/{{split}}.stats.json", split=PUZZLE_SPLITS)
