"""Checks before a long run (`make reproduce`): GPUs, free disk, API keys, and the plan.

`check(config)` returns a `Report`: one line per check, what will run, what will be skipped and
why, and the fatal problems (missing GPUs, too little disk). scripts/preflight.py prints it and
exits 2 on a fatal problem, before anything starts. Key values are never read beyond "is it set".

Requirements come from the config; where a key is optional the default is documented here:
- GPUs per training run: `training.runs.<run>.gpus_required` if given, else the original's stated
  minimum for the model's size (method.md section 1: 14B needs 2, 32B needs 4 GPUs of the 80 GB
  class); a profile whose models are all CPU stand-ins (no `source: hub`) needs none.
- Disk: per hub model, bf16 weights (2 bytes per parameter) once in models/, plus per training
  run `training.keep_checkpoints` (default 2) checkpoints and the best one (2 bytes per
  parameter each), the weight hand-off to the engine (checkpoints/<profile>/<run>/.tmp-handoff,
  2 bytes per parameter; hard-linked into the checkpoint of its iteration) and the AdamW state
  (8 bytes per parameter). The parameter count is read from
  the model name ("14B" -> 14e9). An estimate, printed with its formula.
- GPU memory per training run (`deductive.memory_plan`): weights, gradients, optimiser state,
  activations, logits, the vLLM engine's share and a reserve, per GPU; a run that cannot fit is
  fatal, with the setting to change.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from deductive.config import REPO_ROOT
from deductive.memory_plan import MINIMUM_GPUS_BY_SIZE

GPU_MEMORY_CLASS_GIB = 75.0  # an "80 GB class" GPU reports about 79-80 GiB
DEFAULT_KEEP_CHECKPOINTS = 2


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
    total, parts = 0.0, []
    keep = int((config.get("training") or {}).get("keep_checkpoints", DEFAULT_KEEP_CHECKPOINTS))
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
        gb = (keep + 2) * 2 * size + 8 * size  # + the weight hand-off directory of the latest iteration
        total += gb
        parts.append(f"{run_name}: {keep}+1 checkpoints, the weight hand-off and AdamW state {gb:.0f} GB "
                     f"(({keep}+2) x 2 + 8 bytes x {size:g}B)")
    return total, parts


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
          environ=os.environ) -> Report:
    report = Report()
    profile = config["profile"]
    need, mem, reasons = gpu_requirement(config)
    found = gpu_inventory() if gpus is None else gpus
    big = [g for g in found if g[1] >= mem]
    report.lines.append(f"GPUs: found {len(found)}" + (" (" + ", ".join(f"{n} {m:.0f} GiB" for n, m in found) + ")"
                                                      if found else "") + f"; profile {profile} needs {need}"
                        + (f" with >= {mem:.0f} GiB each" if need else ""))
    report.lines += [f"  {r}" for r in reasons]
    if need and len(big) < need:
        report.fatal.append(f"profile {profile} needs {need} GPUs with >= {mem:.0f} GiB each for training, "
                            f"found {len(big)} such GPU(s) ({len(found)} in total); run it on a GPU node "
                            f"(or use `make smoke` on a CPU machine)")
        return report  # without the GPUs nothing else matters: stop at once
    estimate, parts = disk_estimate_gb(config)
    free = shutil.disk_usage(REPO_ROOT).free / 1e9 if free_gb is None else free_gb
    report.lines.append(f"disk: {free:.0f} GB free at {REPO_ROOT}; estimated need {estimate:.0f} GB")
    report.lines += [f"  {p}" for p in parts]
    if estimate > free:
        report.fatal.append(f"estimated {estimate:.0f} GB of models and checkpoints, only {free:.0f} GB free "
                            f"at {REPO_ROOT}")
    if need:
        from deductive.memory_plan import run_plans

        plans, notes = run_plans(config, min(m for _, m in big), REPO_ROOT / "models")
        for p in plans:
            report.lines += p.lines()
            if p.fatal:
                report.fatal.append(p.fatal)
        report.lines += notes
    splits = (config.get("puzzles") or {}).get("splits") or {}
    report.will_run.append("puzzles: " + ", ".join(f"{s} {n}" for s, n in sorted(splits.items())))
    report.will_run.append("models: " + ", ".join(sorted(config["models"])))
    for run_name, run in sorted(_runs(config).items()):
        report.will_run.append(f"training: {run_name} ({run.get('model')})")
    ev = config.get("evaluation") or {}
    report.will_run.append("evaluation of base and trained models on " + ", ".join(ev.get("splits") or ["test", "published_val"]))
    api_runs, api_skips = api_plan(config, environ)
    report.will_run += api_runs
    report.skipped += api_skips
    report.will_run.append(f"figures: figures/{profile}/ (scripts/make_figures.py)")
    mode = environ.get("WANDB_MODE") or ((config.get("logging") or {}).get("wandb") or {}).get("mode", "disabled")
    report.lines.append(f"W&B: {mode} (set WANDB_MODE=online or logging.wandb.mode to change)")
    return report
