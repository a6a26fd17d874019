"""Side-by-side benchmark against the tools a reader would otherwise use (run by scripts/bench_peers.py).

Two comparisons on the same work, same model directory, float32, temperature 1, top-p 1, no
top-k, the same chat-template prompt token ids:

(a) sampling: this project's vLLM `Sampler` against transformers' `generate` (one batch of all
    prompts x completions, left-padded), generated tokens/s and completions/s after a warm-up;
(b) one GRPO iteration: this project's training loop (`deductive.training.loop.train`, one
    iteration: sample, advantages, pack, optimiser step, weight hand-off to the live engine)
    against TRL's `GRPOTrainer` (transformers `generate`, no vLLM) for one step, with a
    synthetic reward (share of completion tokens with an even id) so that every group has
    non-zero advantages and an optimiser step is taken on both sides.

Every side runs in its own child process (TRL's in its own virtual environment); the parent
polls the child's process tree for resident memory (peak RSS of the largest process and of the
tree) and records the 1-minute load average before and after each side.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

SIDES = ("vllm_sampler", "hf_generate", "project_iteration", "trl_iteration")


def synthetic_reward(token_ids) -> float:
    """Share of completion tokens with an even id: learnable, and never the same for a whole group."""
    ids = list(token_ids)
    return sum(int(t) % 2 == 0 for t in ids) / max(1, len(ids))


# ------------------------------------------------------------------------------ machine, memory

def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    import psutil

    return {"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class TreeMemory:
    """Polls a process and its descendants: peak RSS of the largest single process and of the tree."""

    def __init__(self, pid: int, interval: float = 0.2):
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_largest = 0
        self.peak_largest_name = ""
        self.peak_total = 0
        self.max_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.root] + self.root.children(recursive=True)
            except psutil.Error:
                break
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                    name = " ".join(p.cmdline()[:3]) or p.name()
                except psutil.Error:
                    continue
                total += rss
                if rss > self.peak_largest:
                    self.peak_largest, self.peak_largest_name = rss, name
            self.peak_total = max(self.peak_total, total)
            self.max_processes = max(self.max_processes, len(procs))
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_side(name: str, cmd: list[str], result_file: Path, *, env: dict | None = None, timeout: float = 1800,
             log=print) -> dict:
    """Run one side as a child process; its JSON result plus wall time, memory and load."""
    result_file.unlink(missing_ok=True)
    load_before = loadavg()
    start = time.monotonic()
    log(f"bench_peers: {name}: {' '.join(cmd)}")
    proc = subprocess.Popen(cmd, env=env)
    timed_out = False
    with TreeMemory(proc.pid) as mem:
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            rc = proc.wait()
    wall = time.monotonic() - start
    from deductive.provenance import utc_now

    out = {"side": name, "rc": rc, "measured_at": utc_now(), "wall_s": round(wall, 1), "loadavg_before": load_before,
           "loadavg_after": loadavg(), "peak_rss_largest_gb": round(mem.peak_largest / 1e9, 2),
           "peak_rss_largest_process": mem.peak_largest_name[:120],
           "peak_rss_tree_gb": round(mem.peak_total / 1e9, 2), "processes": mem.max_processes}
    if rc == 0 and result_file.is_file():
        res = json.loads(result_file.read_text(encoding="utf-8"))
        own = res.pop("self_max_rss_kb", None)  # the child's own exact high-water mark
        if own and own * 1024 > mem.peak_largest:
            out["peak_rss_largest_gb"] = round(own * 1024 / 1e9, 2)
        out.update(res)
    else:
        if timed_out:
            out["error"] = f"did not finish within {timeout:.0f} s (stopped by bench_peers)"
        else:
            out["error"] = f"exit status {rc}" + ("" if result_file.is_file() else ", no result file") + (
                " (SIGKILL: most likely the kernel's out-of-memory killer)" if rc == -9 else "")
    log(f"bench_peers: {name}: rc {rc}, {out['wall_s']} s wall, peak RSS {out['peak_rss_largest_gb']} GB "
        f"(largest process), load {load_before[0]} -> {out['loadavg_after'][0]}")
    return out


def venv_versions(python: str) -> dict:
    """torch, transformers and TRL versions of another interpreter (the TRL venv); {} if unavailable."""
    code = ("import json, torch, transformers, trl; print(json.dumps({'trl': trl.__version__, "
            "'transformers': transformers.__version__, 'torch': torch.__version__}))")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return {}


def self_max_rss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ------------------------------------------------------------------------------ the work

def make_spec(*, model_dir: Path, puzzle_file: Path, puzzles: int, completions: int, max_new_tokens: int,
              seed: int, lr: float, weight_decay: float, betas: tuple[float, float], work_dir: Path,
              trl_micro_batch: int = 1, activation_checkpointing: bool = True) -> dict:
    """The shared work description every side reads (prompts as chat-template token ids)."""
    from transformers import AutoTokenizer

    from deductive.puzzles.formats import load_puzzles

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    chosen = load_puzzles(puzzle_file)[: puzzles + 1]  # the extra one is the project's val puzzle
    items = []
    for p in chosen:
        ids = tok.apply_chat_template([{"role": "user", "content": p.prompt}], add_generation_prompt=True,
                                      tokenize=True)
        if hasattr(ids, "keys"):
            ids = ids["input_ids"]
        items.append({"id": p.id, "prompt": p.prompt, "solution": p.solution, "num_clues": p.num_clues,
                      "prompt_token_ids": [int(t) for t in ids]})
    return {"model_dir": str(model_dir), "puzzle_file": str(puzzle_file), "prompts": items[:puzzles],
            "val_prompt": items[puzzles], "completions": completions, "max_new_tokens": max_new_tokens,
            "trl_micro_batch": trl_micro_batch, "project_activation_checkpointing": activation_checkpointing,
            "temperature": 1.0, "top_p": 1.0, "seed": seed, "lr": lr, "weight_decay": weight_decay,
            "betas": list(betas), "work_dir": str(work_dir), "dtype": "float32"}


def _puzzles(spec: dict, items: list[dict]):
    from deductive.puzzles.formats import Puzzle

    return [Puzzle(id=i["id"], prompt=i["prompt"], solution=i["solution"], num_clues=i["num_clues"]) for i in items]


def _sampling_cfg(spec: dict) -> dict:
    from deductive.config import load_config

    cfg = copy.deepcopy(load_config("smoke")["sampling"])
    cfg.update(temperature=spec["temperature"], top_p=spec["top_p"], top_k=0, min_p=0.0,
               max_tokens=spec["max_new_tokens"], seed=spec["seed"], early_abort={"enabled": False})
    cfg["engine"].update(dtype=spec["dtype"], gpu_memory_utilization=0.5)
    return cfg


def side_vllm_sampler(spec: dict) -> dict:
    """(a) this project's Sampler on vLLM: one batch of prompts x completions after a warm-up."""
    import torch
    import vllm

    from deductive.inference.rollout import Sampler, SamplingConfig, engine_kwargs

    cfg = _sampling_cfg(spec)
    sampling = SamplingConfig.from_config(cfg)
    puzzles = _puzzles(spec, spec["prompts"])
    t0 = time.monotonic()
    sampler = Sampler(spec["model_dir"], **engine_kwargs(cfg))
    engine_s = time.monotonic() - t0
    try:
        same = all(sampler.prompt_token_ids(p.prompt) == i["prompt_token_ids"]
                   for p, i in zip(puzzles, spec["prompts"]))
        warm = _puzzles(spec, [dict(spec["val_prompt"], prompt=spec["val_prompt"]["prompt"][:200])])
        sampler.sample(warm, 1, sampling.replace(max_tokens=4))  # warm-up on another, short prompt
        sampler.llm.reset_prefix_cache()  # nothing of the measured prompts is cached beforehand
        t0 = time.monotonic()
        records = sampler.sample(puzzles, spec["completions"], sampling)
        seconds = time.monotonic() - t0
    finally:
        sampler.close()
    tokens = sum(r["completion_tokens"] for r in records)
    return {"completions": len(records), "generated_tokens": tokens, "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1), "completions_per_s": round(len(records) / seconds, 3),
            "setup_s": round(engine_s, 1), "prompt_ids_match_spec": same,
            "distinct_completions": len({tuple(r["completion_token_ids"]) for r in records}),
            "versions": {"torch": torch.__version__, "vllm": vllm.__version__}, "self_max_rss_kb": self_max_rss_kb()}


def _stop_ids(model_dir: Path, tokenizer) -> list[int]:
    from deductive.inference.rollout import _stop_token_ids

    return _stop_token_ids(Path(model_dir), tokenizer)


def side_hf_generate(spec: dict) -> dict:
    """(a) transformers' `generate`: all prompts x completions as one left-padded batch."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.monotonic()
    tok = AutoTokenizer.from_pretrained(spec["model_dir"])
    model = AutoModelForCausalLM.from_pretrained(spec["model_dir"], dtype=torch.float32).eval()
    setup_s = time.monotonic() - t0
    stop = _stop_ids(Path(spec["model_dir"]), tok)
    pad = tok.pad_token_id if tok.pad_token_id is not None else stop[0]
    kwargs = dict(do_sample=True, temperature=spec["temperature"], top_p=spec["top_p"], top_k=0,
                  eos_token_id=stop, pad_token_id=pad)
    torch.manual_seed(spec["seed"])
    completions = []
    with torch.inference_mode():
        warm = torch.tensor([spec["val_prompt"]["prompt_token_ids"][:64]])
        model.generate(input_ids=warm, attention_mask=torch.ones_like(warm), max_new_tokens=4, **kwargs)  # warm-up
        t0 = time.monotonic()
        for item in spec["prompts"]:  # one call per prompt: no padding, K return sequences
            ids = torch.tensor([item["prompt_token_ids"]])
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 num_return_sequences=spec["completions"],
                                 max_new_tokens=spec["max_new_tokens"], **kwargs)
            for row in out[:, ids.shape[1]:].tolist():
                n = next((j + 1 for j, t in enumerate(row) if t in stop), len(row))  # up to and with the first eos
                completions.append(tuple(row[:n]))
        seconds = time.monotonic() - t0
    tokens = sum(map(len, completions))
    return {"completions": len(completions), "generated_tokens": tokens, "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1), "completions_per_s": round(len(completions) / seconds, 3),
            "setup_s": round(setup_s, 1), "distinct_completions": len(set(completions)),
            "torch_threads": torch.get_num_threads(),
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
            "self_max_rss_kb": self_max_rss_kb()}


class _SyntheticRewardSampler:
    """Wraps the real Sampler: replaces each record's reward by `synthetic_reward` (the grader's
    is kept as graded_reward) and remembers every sampling call."""

    def __init__(self, sampler):
        self.inner = sampler
        self.calls: list[list[dict]] = []

    def sample(self, *args, **kwargs):
        records = self.inner.sample(*args, **kwargs)
        for r in records:
            r["graded_reward"] = r["reward"]
            r["reward"] = synthetic_reward(r["completion_token_ids"])
        self.calls.append(records)
        return records

    def __getattr__(self, name):
        return getattr(self.inner, name)


def side_project_iteration(spec: dict) -> dict:
    """(b) one iteration of this project's GRPO loop (vLLM engine beside the trainer)."""
    import torch
    import vllm

    from deductive.config import load_config
    from deductive.training.loop import _default_sampler, train

    work = Path(spec["work_dir"]) / "project"
    if work.exists():
        import shutil

        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name, items in (("train", spec["prompts"]), ("val", [spec["val_prompt"]])):
        with open(work / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for i in items:
                handle.write(json.dumps({"id": i["id"], "prompt": i["prompt"], "solution": i["solution"],
                                         "num_clues": i["num_clues"]}) + "\n")
    config = copy.deepcopy(load_config("smoke"))
    config["sampling"] = _sampling_cfg(spec)
    t = config["training"]
    model_name = Path(spec["model_dir"]).name
    t.update(iterations=1, puzzles_per_iteration=len(spec["prompts"]), samples_per_puzzle=spec["completions"],
             val_samples_per_puzzle=1, rows_per_device_per_step=64, epochs_per_iteration=1, dtype=spec["dtype"],
             sampling={"max_tokens": spec["max_new_tokens"]})
    t["optimizer"] = dict(t["optimizer"], lr=spec["lr"], weight_decay=spec["weight_decay"], betas=spec["betas"])
    # one optimiser step over both packed rows (~3k tokens each) needs ~10 GB of activations
    # without it: more than a shared 23 GB box leaves free
    t["memory"] = dict(t["memory"], activation_checkpointing=bool(spec.get("project_activation_checkpointing")))
    t["runs"] = {"peers": {"model": model_name, "gpus_required": 0}}
    samplers: list[_SyntheticRewardSampler] = []
    setup: dict[str, float] = {}

    def make(model_dir, cfg):
        t0 = time.monotonic()
        samplers.append(_SyntheticRewardSampler(_default_sampler(model_dir, cfg)))
        setup["engine_start_s"] = time.monotonic() - t0
        return samplers[-1]

    t0 = time.monotonic()
    train(config, "peers", model_dir=Path(spec["model_dir"]), train_file=work / "train.jsonl",
          val_file=work / "val.jsonl", out_dir=work / "out", ckpt_root=work / "ckpt", make_sampler=make)
    whole = time.monotonic() - t0
    record = json.loads((work / "out" / "metrics.jsonl").read_text().splitlines()[-1])
    sec = record["seconds"]
    train_records = samplers[0].calls[1]  # calls: base val, train (iteration 1), val (iteration 1)
    core = sec["total"] - sec.get("eval", 0.0) - sec.get("checkpoint", 0.0)
    return {"iteration_s": round(core, 1), "iteration_with_val_and_checkpoint_s": round(sec["total"], 1),
            "phases_s": sec, "optimizer_steps": record.get("optimizer_steps"),
            "completions": len(train_records),
            "generated_tokens": sum(r["completion_tokens"] for r in train_records),
            "tokens_trained": record.get("tokens_trained"), "train_reward_mean": record.get("train_reward_mean"),
            "engine_start_s": round(setup.get("engine_start_s", 0.0), 1), "run_s": round(whole, 1),
            "versions": {"torch": torch.__version__, "vllm": vllm.__version__},
            "self_max_rss_kb": self_max_rss_kb()}


CHILDREN = {"vllm_sampler": side_vllm_sampler, "hf_generate": side_hf_generate,
            "project_iteration": side_project_iteration}


def child_main(side: str, spec_file: Path, out_file: Path) -> int:
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    result = CHILDREN[side](spec)
    Path(out_file).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


# ------------------------------------------------------------------------------ the table

def _fmt_load(r: dict) -> str:
    return f"{r['loadavg_before'][0]} / {r['loadavg_after'][0]}"


def render_markdown(report: dict) -> str:
    m, v, s = report["machine"], report["versions"], report["spec"]
    res = report["sides"]
    lines = ["# Side by side: this project against transformers `generate` and TRL `GRPOTrainer`", "",
             f"Measured {report['date']} with `{report['command']}` at commit {report['commit']}. "
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['ram_gib']} GiB RAM, {m['os']}, "
             f"Python {m['python']}; no GPU. Other processes share this machine (1-minute load average "
             "before / after each side is in the tables): treat the figures as rough, one run each.", "",
             "Versions: " + ", ".join(f"{k} {v[k]}" for k in ("torch", "transformers", "vllm", "trl", "trl_torch",
                                                             "trl_transformers") if v.get(k)) + ".", "",
             f"Work: model `{Path(s['model_dir']).name}` (float32), the first {len(s['prompts'])} published val "
             f"puzzles as chat-template prompts ({', '.join(str(p['prompt_tokens']) for p in s['prompts'])} "
             f"tokens), {s['completions']} completions per prompt, at most {s['max_new_tokens']} new tokens, "
             "temperature 1, top-p 1, no top-k; this project's early abort off. The Sampler sends all "
             "prompts x completions to vLLM at once (the completions of a prompt share its prefill through vLLM's "
             "prefix cache, which is emptied after the warm-up); `generate` gets one call per prompt with "
             "`num_return_sequences` = completions (no padding).", "",
             "## Sampling (after a short warm-up request on another prompt)", "",
             "| sampler | generated tokens/s | completions/s | completions | tokens | seconds | setup s "
             "| peak RSS largest process GB | load 1m before / after |",
             "|---|---|---|---|---|---|---|---|---|"]
    names = {"vllm_sampler": "this project: `Sampler` (vLLM CPU)", "hf_generate": "transformers `generate`"}
    for key in ("vllm_sampler", "hf_generate"):
        r = res.get(key)
        if not r:
            continue
        if r.get("error"):
            lines.append(f"| {names[key]} | failed: {r['error']} | | | | | | | {_fmt_load(r)} |")
            continue
        lines.append(f"| {names[key]} | {r['tokens_per_s']} | {r['completions_per_s']} | {r['completions']} | "
                     f"{r['generated_tokens']} | {r['seconds']} | {r['setup_s']} | {r['peak_rss_largest_gb']} | "
                     f"{_fmt_load(r)} |")
    a, b = res.get("vllm_sampler", {}), res.get("hf_generate", {})
    if a.get("tokens_per_s") and b.get("tokens_per_s"):
        lines += ["", f"Sampling speed-up of this project over `generate`: "
                  f"{a['tokens_per_s'] / b['tokens_per_s']:.1f}x in generated tokens/s. With prompts of this length "
                  "prefill dominates on a CPU: `generate` prefills each returned sequence on its own (K times the "
                  "prompt), vLLM once per prompt. Setup s: engine start (vLLM) or model load (transformers), "
                  "not in the timing."]
    lines += ["", "## One GRPO iteration with an optimiser step (synthetic reward: share of even token ids)", "",
              "| trainer | seconds per iteration | optimiser steps | completions | generated tokens "
              "| setup s | peak RSS largest process GB | peak RSS all processes GB | load 1m before / after |",
              "|---|---|---|---|---|---|---|---|---|"]
    names = {"project_iteration": "this project: `train` (vLLM sampling + torchtune step + weight hand-off)",
             "trl_iteration": "TRL `GRPOTrainer` (transformers `generate`, no vLLM)"}
    for key in ("project_iteration", "trl_iteration"):
        r = res.get(key)
        if not r:
            continue
        if r.get("error"):
            lines.append(f"| {names[key]} | failed: {r['error']} | | | | | {r['peak_rss_largest_gb']} (so far) | "
                         f"{r['peak_rss_tree_gb']} (so far) | {_fmt_load(r)} |")
            continue
        setup = r.get("engine_start_s", r.get("setup_s", ""))
        lines.append(f"| {names[key]} | {r['iteration_s']} | {r['optimizer_steps']} | {r['completions']} | "
                     f"{r['generated_tokens']} | {setup} | {r['peak_rss_largest_gb']} | {r['peak_rss_tree_gb']} | "
                     f"{_fmt_load(r)} |")
    p, t = res.get("project_iteration", {}), res.get("trl_iteration", {})
    notes = ["", "Seconds per iteration: this project's is sample + advantages + pack + optimiser step + weight "
             "hand-off to the live vLLM engine (from its metrics.jsonl; validation and checkpoint excluded, "
             "TRL does neither here)"]
    if p.get("phases_s"):
        ph = p["phases_s"]
        r1 = {k: round(float(ph.get(k) or 0.0), 1)
              for k in ("sample", "train", "weights", "pack", "eval", "checkpoint")}
        notes[-1] += (f"; its phases: sample {r1['sample']} s, train {r1['train']} s, weights {r1['weights']} s, "
                      f"pack {r1['pack']} s; with validation ({r1['eval']} s) and checkpoint ({r1['checkpoint']} s) "
                      f"{p['iteration_with_val_and_checkpoint_s']} s")
    if t.get("iteration_s"):
        notes[-1] += (f". TRL's is its one training step (generation, reward, loss, backward, optimiser), timed "
                      f"by a trainer callback; `trainer.train()` took {t.get('train_call_s')} s in all")
    notes[-1] += ". Setup (engine start or model load) is not in the iteration time."
    if s.get("project_activation_checkpointing"):
        notes += ["", "This project's step ran with activation checkpointing "
                  "(`training.memory.activation_checkpointing`: layers recomputed in the backward pass, slower "
                  "but within this shared machine's free memory); "
                  "TRL's without gradient checkpointing, in micro-batches."]
    when = [f"{k} measured at {r['measured_at']}" if r.get("measured_at") else
            f"{k} in a run that finished at {r['run_finished_at']}" for k, r in res.items()
            if r.get("measured_at") or r.get("run_finished_at")]
    if when:
        notes += ["", "Sides (UTC): " + "; ".join(when) + "."]
    if report.get("note"):
        notes += ["", "Note: " + report["note"] + "."]
    if p.get("iteration_s") and t.get("iteration_s"):
        notes += ["", f"Iteration speed-up of this project over TRL: {t['iteration_s'] / p['iteration_s']:.1f}x; "
                  f"peak RSS of the largest process {p['peak_rss_largest_gb']} GB against "
                  f"{t['peak_rss_largest_gb']} GB (this project's vLLM engine runs in processes of its own, "
                  "counted in the all-processes column)."]
    if t.get("trl_config"):
        notes += ["", "TRL settings: " + ", ".join(f"{k}={v}" for k, v in t["trl_config"].items()) + " (one "
                  "generation batch of all completions, one optimiser step, forward/backward in micro-batches "
                  "with gradient accumulation, the usual way to bound activation memory)."]
    return "\n".join(lines + notes) + "\n"


# ------------------------------------------------------------------------------ the run

def run(args, *, script: Path, trl_script: Path) -> int:
    """The whole benchmark for scripts/bench_peers.py's parsed `args`: a child process per side
    (`script --child SIDE`, the TRL side `trl_script` in its own interpreter), then OUT.{json,md}."""
    if args.child:
        return child_main(args.child, args.spec, args.result)
    if args.render:
        report = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        args.out.with_suffix(".md").write_text(render_markdown(report), encoding="utf-8")
        return 0

    from deductive.config import REPO_ROOT, load_config
    from deductive.io import atomic_write_json, atomic_write_text
    from deductive.provenance import provenance

    model_dir = REPO_ROOT / "models" / args.model
    if not (model_dir / "config.json").is_file():
        print(f"error: models/{args.model} is not prepared (run scripts/prepare_model.py)", file=sys.stderr)
        return 2
    if "trl_iteration" in args.sides and not Path(args.trl_python).is_file():
        print(f"error: {args.trl_python} missing; `make bench-peers` creates .venv-trl", file=sys.stderr)
        return 2
    opt = load_config("smoke")["training"]["optimizer"]
    args.work.mkdir(parents=True, exist_ok=True)
    spec = make_spec(model_dir=model_dir, puzzle_file=args.puzzle_file, puzzles=args.puzzles,
                     completions=args.completions, max_new_tokens=args.max_tokens, seed=args.seed,
                     lr=float(opt["lr"]), weight_decay=float(opt["weight_decay"]), betas=tuple(opt["betas"]),
                     work_dir=args.work.resolve(), trl_micro_batch=args.trl_micro_batch,
                     activation_checkpointing=not args.no_activation_checkpointing)
    spec_file = args.work / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"))
    sides = {}
    previous = args.out.with_suffix(".json")
    if args.update and previous.is_file():
        old = json.loads(previous.read_text(encoding="utf-8"))
        sides = old["sides"]
        for r in sides.values():
            if "measured_at" not in r:
                r.setdefault("run_finished_at", old["date"])
    for side in args.sides:
        result = args.work / f"{side}.json"
        if side == "trl_iteration":
            trl_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
            cmd = [args.trl_python, str(trl_script), "--spec", str(spec_file), "--out", str(result)]
            sides[side] = run_side(side, cmd, result, env=trl_env)
        else:
            cmd = [sys.executable, str(script), "--child", side, "--spec", str(spec_file), "--result", str(result)]
            sides[side] = run_side(side, cmd, result, env=env)
    versions = {}
    for side in ("vllm_sampler", "project_iteration", "hf_generate"):
        versions.update({k: v for k, v in sides.get(side, {}).get("versions", {}).items()})
    trl_v = sides.get("trl_iteration", {}).get("versions", {})
    if "trl_iteration" in sides and not trl_v and Path(args.trl_python).is_file():
        trl_v = venv_versions(args.trl_python)  # the side failed: ask its interpreter
    if trl_v:
        versions["trl"] = trl_v["trl"]
        for k in ("torch", "transformers"):
            if trl_v[k] != versions.get(k):
                versions[f"trl_{k}"] = trl_v[k]
    if "transformers" not in versions:
        import transformers

        versions["transformers"] = transformers.__version__
    prov = provenance()
    report = {"date": prov["date"], "command": prov["command"],
              "commit": prov["code"]["commit"][:12] + (" (dirty tree)" if prov["code"]["dirty"] else ""),
              "machine": machine_info(), "versions": versions,
              "spec": {k: v for k, v in spec.items() if k != "val_prompt"}, "sides": sides}
    report["spec"]["prompts"] = [{"id": i["id"], "prompt_tokens": len(i["prompt_token_ids"])}
                                 for i in spec["prompts"]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out.with_suffix(".json"), report)
    atomic_write_text(args.out.with_suffix(".md"), render_markdown(report))
    print(f"bench_peers: wrote {args.out.with_suffix('.md')} and .json", flush=True)
    return 0 if all(not s.get("error") for s in sides.values()) else 1
