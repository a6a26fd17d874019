# Stage 1: puzzles. One JSON Lines file per split; each split draws from its own seed stream,
# derived from puzzles.seed and the split's name, so splits are reproducible. Splits are held
# out by content: the held-out splits (val, test) come first, a training split (the train split
# and the splits of a curriculum) skips any puzzle with the content of one of theirs, and a
# filtered split (puzzles.filters, e.g. the shortcut-free one) skips the puzzles of all of them,
# so the rule of a split that must not repeat others takes their files as inputs
# (deductive.puzzles.run.split_exclusions). A split may have its own shape (puzzles.shapes).
from deductive.puzzles.run import plan_problems
from deductive.settings import training_splits

PUZZLE_SPLITS = list(config["puzzles"]["splits"])
_problems = plan_problems(config["puzzles"])
if _problems:
    raise WorkflowError("\n".join(f"error: snakemake config: {p}" for p in _problems))


def split_seed(split):
    return derive_seed(config["puzzles"]["seed"], "split", split)


def puzzle_args(split):
    """The generator arguments of `split` (one mapping from config, for generating and checking):
    its excluded split files are its rule's inputs."""
    return split_args(config["puzzles"], split, split_seed(split), training_splits(config), f"{RESULTS}/puzzles")


# A split file generated with other settings (a count, shape or question setting changed since,
# e.g. in a fresh clone of committed results, where Snakemake has no metadata to notice), or one
# that repeats a puzzle of a split it must not repeat (made before splits were held out by
# content), stops the DAG here with what differs, before anything downstream trains or evaluates
# on it.
for _split in PUZZLE_SPLITS:
    _stale = stale_reason(f"{RESULTS}/puzzles/{_split}.jsonl", puzzle_args(_split))
    if _stale:
        raise WorkflowError(
            f"error: {RESULTS}/puzzles/{_split}.jsonl was generated with other settings than the config's "
            f"puzzles section: {_stale}. Delete it and {RESULTS}/puzzles/{_split}.stats.json to generate it "
            "again; every job that uses it (training, evaluation) then reruns too")


rule puzzles:
    input:
        lambda wc: puzzle_args(wc.split).exclude,
    output:
        f"{RESULTS}/puzzles/{{split}}.jsonl",
    params:
        args=lambda wc: " ".join(puzzle_args(wc.split).command_line()),
        workers=config["puzzles"]["workers"],
    wildcard_constraints:
        split="|".join(PUZZLE_SPLITS),
    threads: workflow.cores
    log:
        f"{RESULTS}/logs/puzzles-{{split}}.log",
    shell:
        "{PY} scripts/generate_puzzles.py {params.args} --workers {params.workers}"
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
        split=f"{RESULTS}/puzzles/{{split}}.jsonl",
        others=lambda wc: [f"{RESULTS}/puzzles/{s}.jsonl" for s in PUZZLE_SPLITS if s != wc.split],
    output:
        f"{RESULTS}/puzzles/{{split}}.stats.json",
    params:
        against=lambda wc, input: " ".join(f"--against {path}" for path in input.others),
    wildcard_constraints:
        split="|".join(PUZZLE_SPLITS),
    shell:
        "{PY} scripts/puzzle_stats.py {input.split} {params.against} --json {output}"


PUZZLE_TARGETS = [f"{RESULTS}/puzzles/verified.txt"]
PUZZLE_TARGETS += expand(f"{RESULTS}/puzzles/{{split}}.stats.json", split=PUZZLE_SPLITS)
