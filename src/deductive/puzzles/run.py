"""Writing a puzzle file: many puzzles in parallel, in index order, resumable and atomic.

Progress goes to `<out>.partial` (complete records in index order, appended one by one) with the
run's arguments in `<out>.partial.args.json`; the final name appears, by rename, only when every
puzzle is written. A rerun with the same arguments keeps the partial file's puzzles and goes on
after them, so the final file is byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from deductive.io import JsonlAppender, atomic_write_json, iter_jsonl
from deductive.progress import Progress
from deductive.puzzles.generator import MAX_QUESTIONS, generate
from deductive.puzzles.world import Shape


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

    def command_line(self) -> list[str]:
        """These arguments as scripts/generate_puzzles.py's options (without --out and --workers,
        which do not change the puzzles): what the workflow's `puzzles` rule runs."""
        args = ["--count", str(self.count), "--seed", str(self.seed), "--id-prefix", self.id_prefix,
                "--players", f"{self.players[0]}:{self.players[1]}", "--max-questions", str(self.max_questions)]
        if self.shape:
            args += ["--shape", ",".join(map(str, self.shape))]
        if self.main_kinds is not None:
            args += ["--main-questions", ",".join(self.main_kinds) or "none"]
        return args

    def job(self, index: int) -> dict:
        shape = Shape(*self.shape) if self.shape else None
        return generate(self.seed, index, players=self.players, shape=shape,
                        id_prefix=self.id_prefix, max_questions=self.max_questions,
                        main_kinds=self.main_kinds)


def _job(payload: tuple[RunArgs, int]) -> dict:
    args, index = payload
    return args.job(index)


def _resume(partial: Path, meta: Path, args: RunArgs) -> int:
    """Number of puzzles already in a partial file left by an earlier run with `args`."""
    if not partial.exists():
        return 0
    wanted = json.loads(json.dumps(asdict(args)))
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
    done = _resume(partial, meta, args)
    if not partial.exists():
        atomic_write_json(meta, asdict(args))
    workers = workers or os.cpu_count() or 1
    progress = Progress(args.count, f"puzzles {out.name}", unit="puzzles", already_done=done,
                        stream=stream)
    todo = [(args, i) for i in range(done, args.count)]
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
    clues = [r["num_clues"] for r in iter_jsonl(out)]
    summary = {"puzzles": len(clues), "resumed": done, "median_clues": statistics.median(clues)}
    print(progress.summary(f"median {summary['median_clues']} clues, written to {out}"),
          file=stream, flush=True)
    return summary


def split_args(puzzles_config: dict, split: str, seed: int) -> RunArgs:
    """The generator arguments of one split, from the resolved config's `puzzles` section: the
    workflow both generates the split with them (`RunArgs.command_line`) and checks an existing
    split file against them (`stale_reason`)."""
    shape = puzzles_config.get("shape")
    main = puzzles_config.get("main_questions")
    return RunArgs(count=int(puzzles_config["splits"][split]), seed=seed,
                   players=tuple(puzzles_config["players"]), shape=tuple(shape) if shape else None,
                   id_prefix=split, max_questions=int(puzzles_config["max_questions"]),
                   main_kinds=tuple(main) if main is not None else None)


def stale_reason(out: str | os.PathLike, args: RunArgs) -> str | None:
    """Why the finished puzzle file `out` is not what `args` generates, or None (it is, or there
    is no file). Snakemake reruns a job whose parameters changed only with its own metadata,
    which a fresh clone of committed results lacks; this check needs nothing but the file.
    Checked: the count, every record's run seed and index, and puzzles 0, 1, 2 and the last one
    regenerated in full (shape, players, question settings and generator code show in them; a
    change that alters none of these four goes unnoticed)."""
    out = Path(out)
    if not out.exists():
        return None
    records = []
    for record in iter_jsonl(out):
        if record.get("index") != len(records) or record.get("seed") != args.seed:
            return f"record {len(records) + 1} is not puzzle {len(records)} of seed {args.seed}"
        records.append(record)
    if len(records) != args.count:
        return f"it holds {len(records)} puzzles and the config asks for {args.count}"
    for index in sorted({0, 1, 2, args.count - 1} & set(range(args.count))):
        if records[index] != json.loads(json.dumps(args.job(index))):
            return (f"its puzzle {index} differs from the one the config's generator settings give "
                    "(shape, players, questions or generator code changed)")
    return None
