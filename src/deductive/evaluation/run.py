"""Evaluate one entry on its splits: sample (resumably) into a partial file under work/,
then finalise atomically into results/<profile>/eval/<entry>/:

    <split>.samples.jsonl.gz   every graded completion, ordered, deterministic gzip
    <split>.summary.json       accuracy, interval, tokens, cost, sampling, grader, provenance
    <split>.skipped.json       instead, when an API baseline has no key (and why)

A rerun after a crash or kill continues from the partial file (local models) or from the API
client's cache and the partial file (API models); the summary is written only when every
puzzle x sample record is present (`summary.IncompleteEvaluation` otherwise).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from deductive.config import REPO_ROOT, derive_seed
from deductive.evaluation import entries as entries_mod
from deductive.evaluation import partials
from deductive.evaluation.chance import options_if_parsable
from deductive.evaluation.entries import Entry
from deductive.evaluation.summary import summarize
from deductive.inference.api_client import MissingAPIKey
from deductive.io import JsonlAppender, atomic_write_json, iter_jsonl, read_jsonl, write_jsonl
from deductive.pricing import load_prices
from deductive.settings import EvaluationSettings
from deductive.provenance import provenance, repo_relative
from deductive.io import file_sha256


class EvaluationError(RuntimeError):
    """A user-facing evaluation failure (missing input, wrong selection split, ...)."""


# ---------------------------------------------------------------------------- paths
@dataclass(frozen=True)
class Layout:
    """Where the evaluation of one entry reads and writes. The workflow's rule chooses every
    path (scripts/evaluate.py's arguments); nothing here is derived from a profile name."""

    out_dir: Path  # <split>.{samples.jsonl.gz,summary.json,skipped.json}
    work_dir: Path  # resumable partial files, timings, server log, API cache
    prices: Path  # the price table (workflow/pricing.yaml, an input of the rule)
    puzzles: dict[str, Path] = field(default_factory=dict)  # split -> puzzle file
    model_dir: Path | None = None  # base model of a local entry, or the model an API entry serves
    train_summary: Path | None = None  # training summary of a trained entry (its best checkpoint)

    def files(self, split: str) -> dict[str, Path]:
        out, work = Path(self.out_dir), Path(self.work_dir)
        return {
            "samples": out / f"{split}.samples.jsonl.gz",
            "summary": out / f"{split}.summary.json",
            "skipped": out / f"{split}.skipped.json",
            "partial": work / f"{split}.partial.jsonl",
            "timing": work / f"{split}.timing.jsonl",
        }

    def puzzle_file(self, split: str) -> Path:
        if split not in self.puzzles:
            raise EvaluationError(f"no puzzle file given for split '{split}' (given: {', '.join(sorted(self.puzzles))})")
        return Path(self.puzzles[split])


def bootstrap_seed(config: dict, entry: str, split: str) -> int:
    return derive_seed(EvaluationSettings.from_config(config).seed, "bootstrap", entry, split)


def dir_fingerprint(directory: Path) -> dict:
    """{'path', 'manifest_sha256'} of a model or checkpoint directory: its manifest.json when
    it has one, else a hash over (name, size, content hash) of its weight and config files."""
    import hashlib

    directory = Path(directory)
    manifest = directory / "manifest.json"
    if manifest.is_file():
        return {"path": str(directory), "manifest_sha256": file_sha256(manifest), "hashed": "manifest.json"}
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix in (".json", ".safetensors", ".model", ".txt"):
            digest.update(f"{path.name}\0{path.stat().st_size}\0{file_sha256(path)}\n".encode())
    return {"path": str(directory), "manifest_sha256": digest.hexdigest(), "hashed": "files"}


_rel = repo_relative


def _add_timing(path: Path, seconds: float, new: int) -> None:
    if new <= 0:
        return
    with JsonlAppender(path) as log:
        log.write({"seconds": seconds, "new": new, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def _timing(path: Path) -> tuple[float, int]:
    if not path.exists():
        return 0.0, 0
    rows = read_jsonl(path)
    return sum(r["seconds"] for r in rows), sum(r["new"] for r in rows)


# ---------------------------------------------------------------------------- finalising
def finalise(config: dict, entry: Entry, split: str, layout: Layout, *, puzzles, model_info: dict,
             sampling: dict, throughput: dict | None = None, extra_provenance: dict | None = None) -> Path:
    """Summarise the partial file of (entry, split) and write samples + summary atomically."""
    ev = EvaluationSettings.from_config(config)
    p = layout.files(split)
    split_file = layout.puzzle_file(split)
    records = list(iter_jsonl(p["partial"])) if p["partial"].exists() else []
    prices = load_prices(layout.prices)
    hardware = prices.device(ev.device) if throughput else None
    prov = provenance(
        profile=config["profile"], config=config, inputs={"puzzles": split_file},
        entry=entry.name, kind=entry.kind, model=model_info,
        split={"name": split, "path": _rel(split_file), "sha256": file_sha256(split_file),
               "n_puzzles": len(puzzles), "limit": ev.limit(split)},
        **(extra_provenance or {}),
    )
    summary = summarize(
        entry=entry.name, kind=entry.kind, model=entry.model, split=split, puzzles=puzzles, records=records,
        samples_per_puzzle=ev.samples_per_puzzle, token_price=prices.token(entry.price_key),
        bootstrap_seed=bootstrap_seed(config, entry.name, split), replicates=ev.bootstrap_replicates,
        confidence=ev.bootstrap_confidence, sampling=sampling, grader_mode=ev.grader_mode,
        provenance=prov, throughput=throughput, hardware_price=hardware,
        extra={"published_key": entry.published_key, "stand_in": entry.stand_in},
    )
    from deductive.evaluation.summary import complete_records

    ordered = complete_records(records, puzzles, ev.samples_per_puzzle)
    write_jsonl(p["samples"], ordered)  # samples first: a summary always has its samples
    atomic_write_json(p["summary"], summary)
    if p["skipped"].exists():
        p["skipped"].unlink()
    return p["summary"]


# ---------------------------------------------------------------------------- resuming
def _partial_key(model: dict, split_file: Path, sampling: dict, grader_mode: str) -> dict:
    """What a partial file's completions came from (evaluation.partials): a resume needs all of it."""
    return {"model": model, "puzzles_sha256": file_sha256(split_file), "sampling": sampling,
            "grader_mode": grader_mode}


# ---------------------------------------------------------------------------- local models
def _trained_checkpoint(config: dict, entry: Entry, layout: Layout) -> tuple[Path, dict]:
    summary_path = layout.train_summary
    if summary_path is None or not Path(summary_path).is_file():
        raise EvaluationError(f"{_rel(summary_path)}: no training summary for run '{entry.run}'; train it first")
    summary_path = Path(summary_path)
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    # the selection split is never a reported one: checked when the DAG is built (deductive.config)
    select_on = config["training"]["val_split"]
    best = summary.get("checkpoint_best")
    if not best:
        raise EvaluationError(f"{_rel(summary_path)}: no checkpoint_best")
    path = Path(best)
    if not path.is_absolute() and not path.is_dir():  # relative to the workflow root, else the repository
        path = REPO_ROOT / path
    if not path.is_dir():
        raise EvaluationError(f"{best}: best checkpoint of run '{entry.run}' is missing")
    info = {"checkpoint": _rel(path), "best_iteration": summary.get("best_iteration"),
            "best_val_reward": summary.get("best_val_reward"), "selected_on": select_on,
            "training_summary": {"path": _rel(summary_path), "sha256": file_sha256(summary_path)},
            **{"checkpoint_" + k: v for k, v in dir_fingerprint(path).items() if k != "path"}}
    return path, info


def _base_model(config: dict, entry: Entry, layout: Layout) -> tuple[Path, dict]:
    from deductive.inference.model_prep import read_manifest

    model_dir = Path(layout.model_dir or "")
    if layout.model_dir is None or not (model_dir / "config.json").is_file():
        raise EvaluationError(f"{model_dir}: model '{entry.model_name}' not prepared; run the prepare_model rule first")
    manifest = read_manifest(model_dir) or {}
    spec = config["models"][entry.model_name]
    info = {"name": entry.model_name, "dir": _rel(model_dir), "source": spec.get("source"),
            "repo_id": spec.get("repo_id"), "revision": spec.get("revision") or manifest.get("revision"),
            "stands_for": spec.get("stands_for"), **{k: v for k, v in dir_fingerprint(model_dir).items() if k != "path"}}
    return model_dir, info


def evaluate_local(config: dict, entry: Entry, layout: Layout, splits: list[str] | None = None) -> list[Path]:
    """Base model or trained checkpoint: one engine for all of the entry's splits."""
    from deductive.inference.rollout import Sampler, SamplingConfig, engine_kwargs, sample_to_file

    ev = EvaluationSettings.from_config(config)
    splits = list(splits or entry.splits)
    base_dir, model_info = _base_model(config, entry, layout)
    ckpt_dir = None
    model_key = {"dir": model_info["dir"], "weights_sha256": model_info["manifest_sha256"]}
    if entry.kind == "trained":
        ckpt_dir, ckpt_info = _trained_checkpoint(config, entry, layout)
        model_info = {"base": model_info, **ckpt_info}
        model_key.update(checkpoint=ckpt_info["checkpoint"],
                         checkpoint_weights_sha256=ckpt_info["checkpoint_manifest_sha256"])
    sampling = SamplingConfig.from_config(ev.sampling)
    kwargs = engine_kwargs(config["sampling"])
    device_count = kwargs["tensor_parallel_size"]
    if device_count == 0:
        import torch

        device_count = max(1, torch.cuda.device_count())
    sampler = None
    outputs = []
    try:
        for split in splits:
            puzzles = entries_mod.load_split(config, split, layout.puzzle_file(split))
            p = layout.files(split)
            partials.claim(p["partial"], p["timing"], _partial_key(
                model_key, layout.puzzle_file(split), sampling.to_dict(), ev.grader_mode), f"{entry.name}/{split}")
            if sampler is None:
                started = time.monotonic()
                if ckpt_dir is not None and (ckpt_dir / "tokenizer_config.json").is_file():
                    sampler = Sampler(ckpt_dir, model_name=entry.name, **kwargs)
                else:
                    sampler = Sampler(base_dir, model_name=entry.name, **kwargs)
                    if ckpt_dir is not None:
                        sampler.load_weights(ckpt_dir)
                print(f"{entry.name}: engine ready in {time.monotonic() - started:.0f}s", flush=True)
            result = sample_to_file(sampler, puzzles, ev.samples_per_puzzle, sampling, p["partial"],
                                    grader_mode=ev.grader_mode, label=f"{entry.name}/{split}")
            _add_timing(p["timing"], result["seconds"], result["new"])
            seconds, new = _timing(p["timing"])
            throughput = ({"sampling_seconds": seconds, "device_count": device_count, "completions": new,
                           "device": ev.device} if new > 0 and seconds > 0 else None)
            recorded = {k: v for k, v in sampler.recorded_sampling(sampling, seed=0).items() if k != "sample_seed"}
            recorded["seed_rule"] = "sample i of puzzle p uses derive_seed(seed, p, i) mod 2**32"
            outputs.append(finalise(config, entry, split, layout, puzzles=puzzles,
                                    model_info=model_info, sampling=recorded, throughput=throughput,
                                    extra_provenance={"engine": {k: v for k, v in kwargs.items()}}))
    finally:
        if sampler is not None:
            sampler.close()
    return outputs


# ---------------------------------------------------------------------------- API models
def skip_entry(config: dict, entry: Entry, splits: list[str], reason: str, layout: Layout) -> dict[str, str]:
    """Write a skip record per split (the DAG completes; tables fall back to the published
    number, labelled) and print one line naming what to do."""
    for split in splits:
        atomic_write_json(layout.files(split)["skipped"], {
            "entry": entry.name, "kind": entry.kind, "model": entry.model, "split": split, "status": "skipped",
            "reason": reason, "api_key_env": entry.api.get("api_key_env"), "published_key": entry.published_key,
            "provenance": provenance(profile=config["profile"], config=config, entry=entry.name),
        })
    fallback = f"; tables use the published number for '{entry.published_key}'" if entry.published_key else ""
    print(f"skip: {entry.name}: {reason}{fallback}", flush=True)
    return {split: "skipped" for split in splits}


def _api_record(puzzle, index: int, entry: Entry, result: dict, params: dict, grader_mode: str,
                options: dict | None) -> dict:
    """One sample record of an API answer; `options` are the puzzle's listed options per letter."""
    from deductive.grading import grade

    usage = result.get("usage") or {}
    text = result.get("text") or ""
    return {
        "puzzle_id": puzzle.id, "sample_index": index, "model": entry.model,
        "prompt_token_ids": None, "completion_token_ids": None, "logprobs": None,
        "text": text, "finish_reason": result.get("finish_reason") or "stop", "abort_reason": None,
        "reward": float(grade(text, puzzle.solution, mode=grader_mode, options=options)),
        "prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "completion_tokens": int(usage.get("completion_tokens", 0)),
        "sampling": {**params, "sample_index": index}, "grader_mode": grader_mode,
        "usage": usage, "cached": bool(result.get("cached", False)),
    }


def default_client_factory(config: dict, entry: Entry, base_url: str | None, cache_dir: Path):
    """The project's API client for an entry: returns `complete(messages, params, sample_index) -> dict`
    with keys text, usage {prompt_tokens, completion_tokens}, finish_reason, cached."""
    from deductive.inference import api_client

    return api_client.for_entry(entry.api, base_url=base_url, cache_dir=cache_dir)


SERVED_SEED_RULE = "sample i of puzzle p sends seed derive_seed(evaluation.seed, 'serve', entry, p, i) mod 2**32"


def request_params(entry: Entry, params: dict, evaluation_seed: int, puzzle_id: str, index: int) -> dict:
    """The parameters of one request: the entry's params, plus for a served entry (our own vLLM
    server) a seed per (puzzle, sample), so a rerun samples the same completions. Provider APIs
    get the params unchanged: most ignore or reject `seed`."""
    if not entry.api.get("serve"):
        return params
    return {**params, "seed": derive_seed(evaluation_seed, "serve", entry.name, puzzle_id, index) % 2**32}


def _api_split(config: dict, entry: Entry, split: str, layout: Layout, complete, params: dict) -> tuple[float, int]:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from deductive.progress import Progress

    ev = EvaluationSettings.from_config(config)
    k = ev.samples_per_puzzle
    puzzles = entries_mod.load_split(config, split, layout.puzzle_file(split))
    p = layout.files(split)
    done = set()
    if p["partial"].exists():
        done = {(r["puzzle_id"], r["sample_index"]) for r in iter_jsonl(p["partial"])}
    todo = [(pz, i) for pz in puzzles for i in range(k) if (pz.id, i) not in done]
    options = {pz.id: options_if_parsable(pz) for pz, _ in todo}
    progress = Progress(total=len(puzzles) * k, label=f"{entry.name}/{split}", unit="samples", already_done=len(done))
    started = time.monotonic()
    workers = int(entry.api.get("max_concurrency", 8))
    with JsonlAppender(p["partial"]) as appender, ThreadPoolExecutor(max_workers=workers) as pool:
        requests = [(pz, i, request_params(entry, params, ev.seed, pz.id, i)) for pz, i in todo]
        futures = {pool.submit(complete, [{"role": "user", "content": pz.prompt}], sent, i): (pz, i, sent)
                   for pz, i, sent in requests}
        failure: BaseException | None = None
        fresh = 0  # generated now, not answered from the client's cache (for the throughput cost)
        try:
            for future in as_completed(futures):
                pz, i, sent = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # keep every answer that did arrive, then report
                    if failure is None:
                        failure = exc
                        for other in futures:
                            other.cancel()
                    continue
                appender.write(_api_record(pz, i, entry, result, sent, ev.grader_mode, options[pz.id]))
                fresh += not result.get("cached", False)
                progress.advance()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        if failure is not None:
            raise failure
    seconds = time.monotonic() - started
    print(progress.summary(f"{len(todo) - fresh} from the client's cache"), flush=True)
    return seconds, fresh


def _missing_records(config: dict, entry: Entry, split: str, layout: Layout) -> int:
    """How many puzzle x sample records of (entry, split) the partial file still lacks."""
    k = EvaluationSettings.from_config(config).samples_per_puzzle
    wanted = {(pz.id, i) for pz in entries_mod.load_split(config, split, layout.puzzle_file(split)) for i in range(k)}
    p = layout.files(split)
    if p["partial"].exists():
        wanted -= {(r["puzzle_id"], r["sample_index"]) for r in iter_jsonl(p["partial"])}
    return len(wanted)


def _start_local_server(stack: contextlib.ExitStack, config: dict, entry: Entry, layout: Layout, api_key: str):
    """`vllm serve` of a served entry's model on 127.0.0.1, stopped when `stack` closes."""
    from deductive.inference import serve as serve_mod

    log_path = Path(layout.work_dir) / "serve.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # the server requires the (dummy) key the rule set, so the client's key is really checked
    server = serve_mod.serve_model(layout.model_dir, config=config, api_key=api_key,
                                   served_model_name=entry.api["model"], log_path=log_path)
    try:
        return stack.enter_context(server)
    except Exception as exc:
        raise EvaluationError(f"{entry.name}: could not start the local server: {str(exc).splitlines()[0]}") from exc


def _sample_api_split(config: dict, entry: Entry, split: str, layout: Layout, complete, params: dict,
                      device: str) -> dict | None:
    """Sample the missing completions of (entry, split); the throughput of a served entry (None
    otherwise). A failure after the client's own retries keeps what arrived and says how to resume."""
    p = layout.files(split)
    try:
        seconds, new = _api_split(config, entry, split, layout, complete, params)
    except Exception as exc:
        kept = len(read_jsonl(p["partial"])) if p["partial"].exists() else 0
        raise EvaluationError(f"{entry.name}/{split}: {type(exc).__name__}: {exc}; {kept} samples kept, "
                              f"rerun to resume") from exc
    if not entry.api.get("serve"):
        return None
    _add_timing(p["timing"], seconds, new)
    total_s, total_new = _timing(p["timing"])
    if total_new > 0 and total_s > 0:
        return {"sampling_seconds": total_s, "device_count": 1, "completions": total_new, "device": device}
    return None


def evaluate_api(config: dict, entry: Entry, layout: Layout, splits: list[str] | None = None, *,
                 client_factory=None) -> dict[str, str]:
    """An API baseline or OpenAI-compatible endpoint; skipped (one line) without its key. With
    `serve`, a local `vllm serve models/<serve>` on 127.0.0.1 is started for the duration."""
    splits = list(splits or entry.splits)
    var = entry.api["api_key_env"]
    if not os.environ.get(var):
        return skip_entry(config, entry, splits, f"{var} is not set; set it to evaluate {entry.model}", layout)
    factory = client_factory or default_client_factory
    served = entry.api.get("serve")
    ev = EvaluationSettings.from_config(config)
    params = dict(entry.api.get("params") or {})
    if served and "seed" in params:
        raise EvaluationError(f"{entry.name}: a served entry gets one seed per request "
                              f"({SERVED_SEED_RULE}); remove 'seed' from its params")
    if served and (layout.model_dir is None or not Path(layout.model_dir).is_dir()):
        raise EvaluationError(f"{entry.name}: model directory {layout.model_dir} of served model '{served}' "
                              "is missing; run the prepare_model rule first")
    served_dir = dir_fingerprint(layout.model_dir) if served else None  # once: the key and every summary
    recorded_params = {**params, "seed_rule": SERVED_SEED_RULE} if served else params
    model_key = {"provider": entry.api["provider"], "model": entry.api["model"]}
    if served_dir:
        model_key["served_weights_sha256"] = served_dir["manifest_sha256"]
    for split in splits:  # before deciding whether a server is needed: a stale file is set aside first
        p = layout.files(split)
        partials.claim(p["partial"], p["timing"], _partial_key(
            model_key, layout.puzzle_file(split), recorded_params, ev.grader_mode), f"{entry.name}/{split}")
    # no server (and no request) when every completion is already recorded
    start_server = served and any(_missing_records(config, entry, split, layout) > 0 for split in splits)
    with contextlib.ExitStack() as stack:
        server = _start_local_server(stack, config, entry, layout, os.environ[var]) if start_server else None
        base_url = getattr(server, "base_url", None) or entry.api.get("base_url")
        try:
            complete = factory(config, entry, base_url, Path(layout.work_dir) / "api-cache")
        except MissingAPIKey as exc:  # the client's own missing-key check (interface 4)
            return skip_entry(config, entry, splits, str(exc), layout)
        model_info = {"provider": entry.api["provider"], "model": entry.api["model"],
                      "base_url": base_url or ("local vllm serve (not started: every completion was "
                                               "already recorded)" if served else "provider default"),
                      "served_model": served}
        if served_dir:
            model_info["served_model_dir"] = served_dir
        sampling = {**recorded_params, "requests": "one chat request per sample, user message = puzzle prompt"}
        status = {}
        for split in splits:
            throughput = _sample_api_split(config, entry, split, layout, complete, params, ev.device)
            puzzles = entries_mod.load_split(config, split, layout.puzzle_file(split))
            finalise(config, entry, split, layout, puzzles=puzzles, model_info=model_info, sampling=sampling,
                     throughput=throughput)
            status[split] = "done"
    return status
