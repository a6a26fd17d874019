"""Checks before a long run (`make reproduce`): GPUs, free disk, API keys, and the plan.

`check(config)` returns a `Report`: one line per check, what will run, what will be skipped and
why, and the fatal problems (missing GPUs, a run that cannot be placed or does not fit, too little
disk). scripts/preflight.py prints it and exits 2 on a fatal problem, before anything starts. Key
values are never read beyond "is it set". `check(config, planned=(N, GiB))` plans for a node of N
GPUs of GiB each without looking at this machine (its GPUs, disk or keys): `--plan 4x80`.

Requirements come from the config:
- GPUs per training run: `training.runs.<run>.gpus_required` if given, else the original's stated
  minimum for the model's size (method.md section 1: 14B needs 2, 32B needs 4 GPUs of the 80 GB
  class); a profile whose models are all CPU stand-ins (no `source: hub`) needs none. How many
  processes and GPUs each run then takes on this node: deductive.training.placement.
- Disk: per hub model, bf16 weights (2 bytes per parameter) once in models/; per training run
  three checkpoints at once (the newest, the best and the one being written, before the older
  ones are pruned), each with weights (b bytes per parameter, the run's dtype; the engine's
  hand-off directory is hard-linked into the newest) and AdamW's two moments (2b bytes per
  parameter); with `training.lora`, the merged weights and the adapters with their two moments
  (3b bytes per adapter parameter). The parameter count is read from the model name ("14B" ->
  14e9). An estimate, printed with its formula.
- GPU memory per training run (`deductive.memory_plan`), for the run's placement on the node.
- Sampling: the most tokens one iteration can generate, and the generation rate the waiting
  ranks' `training.collective_timeout_minutes` then requires.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from deductive.config import REPO_ROOT
from deductive.memory_plan import BYTES, MINIMUM_GPUS_BY_SIZE

GPU_MEMORY_CLASS_GIB = 75.0  # an "80 GB class" GPU reports about 79-80 GiB
CHECKPOINTS_AT_ONCE = 3  # the newest, the best and the one being written (training/loop.py prunes after)


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    will_run: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    fatal: list[str] = field(default_factory=list)

    def text(self) -> str:
        out = list(self.lines)
        if self.will_run:
            out += ["will run:"] + [f"  - {x}" for x in self.will_run]
        if self.skipped:
            out += ["will be skipped:"] + [f"  - {x}" for x in self.skipped]
        return "\n".join(out)


def gpu_inventory() -> list[tuple[str, float]]:
    """(name, memory GiB) of each visible GPU: nvidia-smi, else torch.cuda; [] without GPUs."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=30, check=True).stdout
            gpus = []
            for line in out.strip().splitlines():
                name, mem = [part.strip() for part in line.rsplit(",", 1)]
                gpus.append((name, float(mem) / 1024.0))
            return gpus
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    try:
        import torch

        if torch.cuda.is_available():
            return [(torch.cuda.get_device_name(i), torch.cuda.get_device_properties(i).total_memory / 2**30)
                    for i in range(torch.cuda.device_count())]
    except Exception:  # a broken CUDA install counts as no GPU
        pass
    return []


def billions_of_parameters(name: str) -> float | None:
    match = re.search(r"(\d+(?:\.\d+)?)\s*[Bb](?![a-zA-Z])", name)
    return float(match.group(1)) if match else None


def _model_name(config: dict, model: str) -> str:
    spec = config["models"].get(model, {})
    return spec.get("repo_id") or spec.get("stands_for") or model


def _runs(config: dict) -> dict:
    return (config.get("training") or {}).get("runs") or {}


def gpu_requirement(config: dict) -> tuple[int, float, list[str]]:
    """(GPUs needed, GiB each, reasons) for the profile's training runs (0 for CPU stand-ins)."""
    hub = {m for m, spec in config["models"].items() if spec.get("source") == "hub"}
    if not hub:
        return 0, 0.0, ["every model is a CPU stand-in (no `source: hub`): no GPU needed"]
    runs = _runs(config) or {m: {"model": m} for m in sorted(hub)}
    need, reasons = 0, []
    for run_name, run in sorted(runs.items()):
        model = run.get("model", run_name)
        if model not in hub:
            continue
        if run.get("gpus_required"):
            n, why = int(run["gpus_required"]), f"training.runs.{run_name}.gpus_required"
        else:
            size = billions_of_parameters(_model_name(config, model)) or 0.0
            n = next(g for threshold, g in MINIMUM_GPUS_BY_SIZE if size >= threshold)
            why = f"the original's stated minimum for a {size:g}B model (method.md section 1)"
        reasons.append(f"{run_name} ({_model_name(config, model)}): {n} GPUs, {why}")
        need = max(need, n)
    return need, GPU_MEMORY_CLASS_GIB, reasons


def disk_estimate_gb(config: dict) -> tuple[float, list[str]]:
    """Estimated GB of models/ and checkpoints/ the profile writes, with one line per part."""
    from deductive.settings import training_section

    total, parts = 0.0, []
    for model, spec in sorted(config["models"].items()):
        if spec.get("source") != "hub":
            continue
        size = billions_of_parameters(_model_name(config, model))
        if size is None:
            parts.append(f"{model}: size unknown from its name, not counted")
            continue
        gb = 2 * size
        total += gb
        parts.append(f"{model}: weights {gb:.0f} GB (2 bytes x {size:g}B parameters)")
    for run_name, run in sorted(_runs(config).items()):
        spec = config["models"].get(run.get("model"), {})
        size = billions_of_parameters(_model_name(config, run.get("model", "")))
        if spec.get("source") != "hub" or size is None:
            continue
        cfg = training_section(config, run_name)
        b = BYTES[cfg.get("dtype", "bfloat16")]
        lora = cfg.get("lora")
        if lora:  # the merged weights (what the engine serves) plus the adapters and their AdamW state
            from deductive.memory_plan import arch_of

            arch = arch_of(config, run.get("model", run_name), REPO_ROOT / "models")
            adapters = arch.lora_params(lora) / 1e9 if arch else 0.0
            gb = CHECKPOINTS_AT_ONCE * b * (size + 3 * adapters)
            total += gb
            parts.append(f"{run_name}: {CHECKPOINTS_AT_ONCE} checkpoints at once (newest, best, the one being "
                         f"written), merged weights, LoRA adapters and their AdamW state {gb:.0f} GB "
                         f"({CHECKPOINTS_AT_ONCE} x {b} bytes x ({size:g}B + 3 x {adapters:.3f}B)"
                         + ("" if arch else "; adapters not counted: architecture unknown") + ")")
            continue
        gb = CHECKPOINTS_AT_ONCE * 3 * b * size
        total += gb
        parts.append(f"{run_name}: {CHECKPOINTS_AT_ONCE} checkpoints at once (newest, best, the one being "
                     f"written), weights and AdamW state {gb:.0f} GB ({CHECKPOINTS_AT_ONCE} x (1 + 2) x {b} bytes "
                     f"x {size:g}B)")
    return total, parts


def sampling_lines(config: dict) -> list[str]:
    """Per training run: the most tokens one iteration generates (train and validation, every
    completion at max_tokens) and the rate at which the engine must generate them so the
    waiting ranks do not time out."""
    from deductive.settings import training_section

    lines = []
    for name in sorted(_runs(config)):
        cfg = training_section(config, name)
        tokens = int(cfg["sampling"]["max_tokens"])
        train = int(cfg["puzzles_per_iteration"]) * int(cfg["samples_per_puzzle"])
        splits = (config.get("puzzles") or {}).get("splits") or {}
        val = int(splits.get(cfg.get("val_split", "val"), 0)) * int(cfg["val_samples_per_puzzle"])
        timeout = float(cfg["collective_timeout_minutes"])
        rate = train * tokens / (timeout * 60)
        if int(cfg.get("world_size") or 0) == 1:  # nobody waits in a collective
            lines.append(f"sampling {name}: at most {train} train completions x {tokens} tokens = "
                         f"{train * tokens / 1e6:.1f}M tokens per iteration (+ {val} val completions); one process "
                         "(training.runs.<run>.world_size 1): no rank waits in a collective, the engine's rate "
                         "sets the iteration's time")
            continue
        lines.append(f"sampling {name}: at most {train} train completions x {tokens} tokens = {train * tokens / 1e6:.1f}M "
                     f"tokens per iteration (+ {val} val completions); ranks 1..N-1 wait at most {timeout:g} min "
                     f"(training.collective_timeout_minutes), so the engine must generate >= {rate:,.0f} tokens/s "
                     "when every completion runs to max_tokens (not measured here: raise the timeout if your "
                     "node is slower)")
    return lines


def api_plan(config: dict, environ=os.environ) -> tuple[list[str], list[str]]:
    runs, skips = [], []
    for name, spec in sorted(((config.get("evaluation") or {}).get("api") or {}).items()):
        env = spec.get("api_key_env", "")
        if spec.get("serve"):
            runs.append(f"{name}: API baseline served locally (no key needed)")
        elif env and environ.get(env):
            runs.append(f"{name}: API baseline ({env} is set)")
        else:
            fallback = ("the figures use the published number" if spec.get("published")
                        else "it has no published number, so it is left out of the figures")
            skips.append(f"{name}: skipped, set {env or 'its api_key_env'}; {fallback}")
    return runs, skips


def check(config: dict, *, gpus: list[tuple[str, float]] | None = None, free_gb: float | None = None,
          environ=os.environ, planned: tuple[int, float] | None = None) -> Report:
    report = Report()
    profile = config["profile"]
    need, mem, reasons = gpu_requirement(config)
    if planned is not None:
        count, gib = planned
        found = [(f"planned GPU", float(gib))] * int(count)
    else:
        found = gpu_inventory() if gpus is None else gpus
    big = [g for g in found if g[1] >= mem]
    report.lines.append(("GPUs planned: " if planned else "GPUs: found ") + f"{len(found)}"
                        + (" (" + ", ".join(f"{n} {m:.0f} GiB" for n, m in found[:1]) + (" each" if len(found) > 1 else "")
                           + ")" if found else "") + f"; profile {profile} needs {need}"
                        + (f" with >= {mem:.0f} GiB each" if need else ""))
    report.lines += [f"  {r}" for r in reasons]
    if need and len(big) < need:
        report.fatal.append(f"profile {profile} needs {need} GPUs with >= {mem:.0f} GiB each for training, "
                            f"found {len(big)} such GPU(s) ({len(found)} in total); run it on a GPU node "
                            f"(or use `make smoke` on a CPU machine)")
        return report  # without the GPUs nothing else matters: stop at once
    estimate, parts = disk_estimate_gb(config)
    if planned is None:
        free = shutil.disk_usage(REPO_ROOT).free / 1e9 if free_gb is None else free_gb
        report.lines.append(f"disk: {free:.0f} GB free at {REPO_ROOT}; estimated need {estimate:.0f} GB")
        if estimate > free:
            report.fatal.append(f"estimated {estimate:.0f} GB of models and checkpoints, only {free:.0f} GB free "
                                f"at {REPO_ROOT}")
    else:
        report.lines.append(f"disk: estimated need {estimate:.0f} GB (free space not checked: a planned node)")
    report.lines += [f"  {p}" for p in parts]
    if need:
        from deductive.memory_plan import run_plans

        plans, notes = run_plans(config, min(m for _, m in big), REPO_ROOT / "models", visible_gpus=len(big))
        for p in plans:
            report.lines += p.lines()
            if p.fatal:
                report.fatal.append(p.fatal)
        report.lines += notes
        report.lines += sampling_lines(config)
    splits = (config.get("puzzles") or {}).get("splits") or {}
    report.will_run.append("puzzles: " + ", ".join(f"{s} {n}" for s, n in sorted(splits.items())))
    report.will_run.append("models: " + ", ".join(sorted(config["models"])))
    for run_name, run in sorted(_runs(config).items()):
        report.will_run.append(f"training: {run_name} ({run.get('model')})")
    ev = config.get("evaluation") or {}
    report.will_run.append("evaluation of base and trained models on " + ", ".join(ev.get("splits") or ["test", "published_val"]))
    if planned is None:
        api_runs, api_skips = api_plan(config, environ)
        report.will_run += api_runs
        report.skipped += api_skips
    else:
        report.lines.append("API keys: not checked (a planned node)")
    report.will_run.append(f"figures: figures/{profile}/ (scripts/make_figures.py)")
    mode = environ.get("WANDB_MODE") or ((config.get("logging") or {}).get("wandb") or {}).get("mode", "disabled")
    report.lines.append(f"W&B: {mode} (set WANDB_MODE=online or logging.wandb.mode to change)")
    return report
