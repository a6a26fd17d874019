"""Writing a puzzle file: many puzzles in parallel, in index order, resumable and atomic.

Progress goes to `<out>.partial` (complete records in index order, appended one by one) with the
run's arguments in `<out>.partial.args.json`; the final name appears, by rename, only when every
puzzle is written. A rerun with the same arguments keeps the partial file's puzzles and goes on
after them, so the final file is byte-identical to an uninterrupted run.

Splits held out by content: a split may name puzzle files it must not repeat (`exclude`) and a
filter its puzzles must pass (`filter`, deductive.puzzles.shortcuts.FILTERS). Puzzle i is then
the first of its attempts 0, 1, 2, ... (deductive.puzzles.generator) whose key (content or
pattern, deductive.puzzles.content) is none of the excluded files' and that passes the filter.
Each puzzle depends only on (seed, i), the settings and the excluded files, so the file is still
byte-identical for a given config, and a puzzle that repeats nothing stays what it was.
Which split excludes which (`split_exclusions`): the held-out splits (every split but the
training ones, unfiltered) are generated first, each from its own seed alone; a training split
(the train split, and the splits of a curriculum) skips their puzzles; a filtered split skips every unfiltered split's puzzles and those of the
filtered splits listed before it, so adding one never changes another split.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Collection

from deductive.io import JsonlAppender, atomic_write_json, iter_jsonl
from deductive.progress import Progress
from deductive.puzzles.content import KEYS, keys_of_files
from deductive.puzzles.formats import Puzzle, PuzzleFileError
from deductive.puzzles.generator import MAX_QUESTIONS, GenerationError, generate
from deductive.puzzles.shortcuts import FILTERS
from deductive.puzzles.world import Shape

# Attempts at one puzzle index before a split that excludes or filters gives up: far more than
# a filter that keeps one puzzle in a hundred needs (the chance of running out is then e^-100).
MAX_ATTEMPTS = 10_000


class RunError(RuntimeError):
    """A problem the user can fix (shown as `error: ...`)."""


@dataclass(frozen=True)
class RunArgs:
    count: int
    seed: int
    players: tuple[int, int]
    shape: tuple[int, int, int, int] | None
    id_prefix: str
    max_questions: int = MAX_QUESTIONS
    main_kinds: tuple[str, ...] | None = None  # main question kinds asked (None: all)
    exclude: tuple[str, ...] = ()   # puzzle files whose puzzles this split must not repeat
    held_out_by: str = "content"    # the key compared with theirs: content or pattern
    filter: str | None = None       # a filter every puzzle must pass (shortcuts.FILTERS), or None

    def command_line(self) -> list[str]:
        """These arguments as scripts/generate_puzzles.py's options (without --out and --workers,
        which do not change the puzzles): what the workflow's `puzzles` rule runs."""
        args = ["--count", str(self.count), "--seed", str(self.seed), "--id-prefix", self.id_prefix,
                "--players", f"{self.players[0]}:{self.players[1]}", "--max-questions", str(self.max_questions)]
        if self.shape:
            args += ["--shape", ",".join(map(str, self.shape))]
        if self.main_kinds is not None:
            args += ["--main-questions", ",".join(self.main_kinds) or "none"]
        for path in self.exclude:
            args += ["--exclude", path]
        if self.held_out_by != "content":
            args += ["--held-out-by", self.held_out_by]
        if self.filter is not None:
            args += ["--filter", self.filter]
        return args

    def excluded_keys(self) -> frozenset[str]:
        """The keys (`held_out_by`) of every puzzle in the `exclude` files."""
        return keys_of_files(self.exclude, self.held_out_by)

    def accepts(self, record: dict, excluded: frozenset[str]) -> bool:
        """Whether a generated record may be this split's puzzle: its key is not `excluded` and
        it passes the filter (always, for a split that neither excludes nor filters)."""
        if not excluded and self.filter is None:
            return True
        puzzle = _as_puzzle(record)
        if excluded and KEYS[self.held_out_by](puzzle) in excluded:
            return False
        return self.filter is None or FILTERS[self.filter](puzzle)

    def job(self, index: int, excluded: frozenset[str] | None = None) -> dict:
        """Puzzle `index`: the first attempt at it that `accepts` (attempt 0 for a split that
        neither excludes nor filters). `excluded`: `excluded_keys()`, when the caller has it."""
        excluded = self.excluded_keys() if excluded is None else excluded
        shape = Shape(*self.shape) if self.shape else None
        for attempt in range(MAX_ATTEMPTS):
            record = generate(self.seed, index, players=self.players, shape=shape,
                              id_prefix=self.id_prefix, max_questions=self.max_questions,
                              main_kinds=self.main_kinds, attempt=attempt)
            if self.accepts(record, excluded):
                return record
        wanted = [f"passes the filter '{self.filter}'"] if self.filter else []
        wanted += ["repeats no puzzle of " + ", ".join(self.exclude)] if excluded else []
        raise GenerationError(f"puzzle {index} of seed {self.seed}: none of {MAX_ATTEMPTS} attempts "
                              f"{' and '.join(wanted)} (puzzles of these settings rarely or never do)")


def _as_puzzle(record: dict) -> Puzzle:
    return Puzzle(id=record["id"], prompt=record["prompt"], solution=record["solution"])


def _job(payload: tuple[RunArgs, int, frozenset[str]]) -> dict:
    args, index, excluded = payload
    return args.job(index, excluded)


def _meta(args: RunArgs, excluded: frozenset[str]) -> dict:
    """What a partial file records of its run: the arguments and, for a split that excludes
    others, a digest of the excluded keys (an excluded file generated again with other content
    makes the partial file another run's)."""
    meta = json.loads(json.dumps(asdict(args)))
    if args.exclude:
        meta["excluded_keys_sha256"] = hashlib.sha256("\n".join(sorted(excluded)).encode()).hexdigest()
    return meta


def _resume(partial: Path, meta: Path, args: RunArgs, excluded: frozenset[str] = frozenset()) -> int:
    """Number of puzzles already in a partial file left by an earlier run with `args`."""
    if not partial.exists():
        return 0
    wanted = _meta(args, excluded)
    if not meta.exists() or json.loads(meta.read_text(encoding="utf-8")) != wanted:
        raise RunError(f"{partial} was left by a run with other arguments; delete it to start over")
    done = 0
    for record in iter_jsonl(partial):
        if record.get("index") != done or record.get("seed") != args.seed:
            raise RunError(f"{partial}: record {done + 1} is not puzzle {done} of this run; "
                           "delete the file to start over")
        done += 1
    return done


def write_puzzles(out: str | os.PathLike, args: RunArgs, workers: int = 0,
                  stream=sys.stderr) -> dict:
    """Generate puzzles 0..count-1 into `out`; returns a small summary."""
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    meta = out.with_name(out.name + ".partial.args.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        excluded = args.excluded_keys()
    except PuzzleFileError as exc:
        raise RunError(f"a split this one must not repeat is not there to read: {exc}") from None
    done = _resume(partial, meta, args, excluded)
    if not partial.exists():
        atomic_write_json(meta, _meta(args, excluded))
    workers = workers or os.cpu_count() or 1
    progress = Progress(args.count, f"puzzles {out.name}", unit="puzzles", already_done=done,
                        stream=stream)
    todo = [(args, i, excluded) for i in range(done, args.count)]
    with JsonlAppender(partial) as sink:
        if workers == 1 or len(todo) <= 1:
            results = map(_job, todo)
            pool = None
        else:
            pool = multiprocessing.get_context("spawn").Pool(min(workers, len(todo)))
            results = pool.imap(_job, todo, chunksize=1)
        try:
            for record in results:
                sink.write(record)
                progress.advance()
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    os.replace(partial, out)
    meta.unlink(missing_ok=True)
    records = list(iter_jsonl(out))
    clues = [r["num_clues"] for r in records]
    summary = {"puzzles": len(clues), "resumed": done, "median_clues": statistics.median(clues),
               "replaced": sum(1 for r in records if r.get("attempt"))}
    replaced = f", {summary['replaced']} drawn again (excluded or filtered out)" if summary["replaced"] else ""
    print(progress.summary(f"median {summary['median_clues']} clues{replaced}, written to {out}"),
          file=stream, flush=True)
    return summary


def split_exclusions(puzzles_config: dict, train_splits: str | Collection[str] | None) -> dict[str, tuple[str, ...]]:
    """Split -> the splits whose puzzles it must not repeat, in config order (module doc):
    nothing for a held-out split, every held-out split for a training split (`train_splits`: the
    train split and the splits of a curriculum, deductive.settings.training_splits), every
    unfiltered split and the filtered splits listed before it for a filtered split."""
    training = {train_splits} if isinstance(train_splits, str) else set(train_splits or ())
    splits = list(puzzles_config["splits"])
    filters = puzzles_config.get("filters") or {}
    out = {}
    for position, split in enumerate(splits):
        if split in filters:
            out[split] = tuple(o for k, o in enumerate(splits) if o not in filters or k < position)
        elif split in training:
            out[split] = tuple(o for o in splits if o not in training and o not in filters)
        else:
            out[split] = ()
    return out


def plan_problems(puzzles_config: dict) -> list[str]:
    """Settings of the puzzles section that refer to each other and are not consistent."""
    splits = puzzles_config["splits"]
    return [f"puzzles.{key}.{split}: '{split}' is not a puzzle split (known: {', '.join(splits)})"
            for key in ("filters", "shapes") for split in puzzles_config.get(key) or {} if split not in splits]


def split_args(puzzles_config: dict, split: str, seed: int, train_splits: str | Collection[str] | None = None,
               directory: str | os.PathLike = ".") -> RunArgs:
    """The generator arguments of one split, from the resolved config's `puzzles` section and
    the training splits' names (deductive.settings.training_splits; None: no split trains, none
    excludes another unless filtered); the split files are `<directory>/<split>.jsonl`. The
    workflow both generates the split with them (`RunArgs.command_line`) and checks an existing
    split file against them (`stale_reason`). A split's shape is its own (`puzzles.shapes`) or
    the section's `shape`."""
    shape = (puzzles_config.get("shapes") or {}).get(split) or puzzles_config.get("shape")
    main = puzzles_config.get("main_questions")
    exclude = split_exclusions(puzzles_config, train_splits)[split]
    return RunArgs(count=int(puzzles_config["splits"][split]), seed=seed,
                   players=tuple(puzzles_config["players"]), shape=tuple(shape) if shape else None,
                   id_prefix=split, max_questions=int(puzzles_config["max_questions"]),
                   main_kinds=tuple(main) if main is not None else None,
                   exclude=tuple(str(Path(directory) / f"{o}.jsonl") for o in exclude),
                   held_out_by=puzzles_config.get("held_out_by") or "content",
                   filter=(puzzles_config.get("filters") or {}).get(split))


def stale_reason(out: str | os.PathLike, args: RunArgs) -> str | None:
    """Why the finished puzzle file `out` is not what `args` generates, or None (it is, or there
    is no file). Snakemake reruns a job whose parameters changed only with its own metadata,
    which a fresh clone of committed results lacks; this check needs nothing but the file.
    Checked: the count, every record's run seed and index, every record against the excluded
    files' keys and the filter, and puzzles 0, 1, 2 and the last one regenerated in full (shape,
    players, question settings and generator code show in them; a change that alters none of
    these four goes unnoticed). An excluded file that is missing is generated first, and the
    workflow then regenerates this split too (its input is new): nothing to check here."""
    out = Path(out)
    if not out.exists() or not all(Path(path).exists() for path in args.exclude):
        return None
    records = []
    for record in iter_jsonl(out):
        if record.get("index") != len(records) or record.get("seed") != args.seed:
            return f"record {len(records) + 1} is not puzzle {len(records)} of seed {args.seed}"
        records.append(record)
    if len(records) != args.count:
        return f"it holds {len(records)} puzzles and the config asks for {args.count}"
    puzzles = [_as_puzzle(r) for r in records]
    excluded = args.excluded_keys()
    if excluded:
        keys = [KEYS[args.held_out_by](p) for p in puzzles]
        theirs = {path: keys_of_files([path], args.held_out_by) for path in args.exclude}
        per_file = {path: sum(key in keys_of for key in keys) for path, keys_of in theirs.items()}
        repeated = [i for i, key in enumerate(keys) if key in excluded]
        if repeated:
            counts = ", ".join(f"{n} of {path}" for path, n in per_file.items() if n)
            return (f"{len(repeated)} of its puzzles (the first: {repeated[0]}) repeat the {args.held_out_by} of "
                    f"a puzzle of a split it must not repeat ({counts}): generated before splits were held out "
                    "by content, or against other versions of those files")
    if args.filter is not None:
        rejected = [i for i, p in enumerate(puzzles) if not FILTERS[args.filter](p)]
        if rejected:
            return f"{len(rejected)} of its puzzles (the first: {rejected[0]}) do not pass the filter '{args.filter}'"
    for index in sorted({0, 1, 2, args.count - 1} & set(range(args.count))):
        if records[index] != json.loads(json.dumps(args.job(index, excluded))):
            return (f"its puzzle {index} differs from the one the config's generator settings give "
                    "(shape, players, questions, excluded splits, filter or generator code changed)")
    return None
