"""Entry points of scripts/evaluate.py, scripts/make_tables.py and scripts/regrade.py: argument
handling and the one-line `error:` contract (exit status 2, no traceback, nothing lost)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from deductive.config import ConfigError, load_config
from deductive.io import atomic_write_json


def _expected_errors() -> tuple[type[BaseException], ...]:
    from deductive.evaluation.regrade import RegradeError
    from deductive.evaluation.run import EvaluationError
    from deductive.evaluation.summary import IncompleteEvaluation
    from deductive.inference.rollout import RolloutError
    from deductive.pricing import PricingError
    from deductive.puzzles.formats import PuzzleFileError

    return (ConfigError, EvaluationError, IncompleteEvaluation, PricingError, PuzzleFileError, RegradeError,
            RolloutError, FileNotFoundError)


def _fail(exc: BaseException) -> int:
    text = str(exc).strip().replace("\n", "; ") or type(exc).__name__
    print(f"error: {text}", file=sys.stderr, flush=True)
    return 2


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main_evaluate(args) -> int:
    # SIGTERM (Snakemake cancelling the job) unwinds like Ctrl-C: the engine is closed and the
    # samples already written stay for the rerun
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        config = load_config(args.config)
        from deductive.evaluation.entries import list_entries
        from deductive.evaluation.run import Layout, evaluate_api, evaluate_local

        puzzles = {}
        for item in args.puzzles:
            split, sep, path = item.partition("=")
            if not sep or not split or not path:
                raise ConfigError(f"--puzzles {item}: expected SPLIT=FILE")
            puzzles[split] = Path(path)
        layout = Layout(out_dir=Path(args.out_dir), work_dir=Path(args.work_dir), prices=Path(args.prices),
                        puzzles=puzzles,
                        model_dir=Path(args.model_dir) if args.model_dir else None,
                        train_summary=Path(args.train_summary) if args.train_summary else None)
        entries = list_entries(config)
        if args.entry not in entries:
            raise ConfigError(f"no evaluation entry '{args.entry}' (known: {', '.join(sorted(entries))})")
        entry = entries[args.entry]
        splits = args.splits or list(entry.splits)
        if entry.kind == "api":
            status = evaluate_api(config, entry, layout, splits)
        else:
            evaluate_local(config, entry, layout, splits)
            status = {split: "done" for split in splits}
        if args.status_out:
            atomic_write_json(args.status_out, {"entry": entry.name, "kind": entry.kind, "splits": status})
        return 0
    except _expected_errors() as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        print("error: interrupted; rerun the same command to resume from the samples already written",
              file=sys.stderr)
        return 130


def main_tables(args) -> int:
    try:
        from deductive.evaluation.published import load_published
        from deductive.evaluation.tables import write_tables

        paths = write_tables(Path(args.eval_root), Path(args.out), load_published(Path(args.published)))
        print(f"tables: wrote {', '.join(str(p) for p in paths.values())}")
        return 0
    except _expected_errors() as exc:
        return _fail(exc)


def main_regrade(args) -> int:
    try:
        config = load_config(args.config)
        from deductive.evaluation.regrade import regrade_profile

        written, tables = regrade_profile(config, args.grader, args.eval_root, args.out, args.published)
        print(f"regrade ({args.grader}): {len(written)} summaries; tables in {tables['accuracy_csv'].parent}")
        return 0
    except _expected_errors() as exc:
        return _fail(exc)
