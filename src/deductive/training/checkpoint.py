"""Checkpoints of a training run: HF model directories plus the state needed to resume.

Layout under checkpoints/<profile>/<run>/:
    iter-NNNN/            weights after NNNN iterations, a Hugging Face directory that vLLM and
                          transformers load (model*.safetensors + config/tokenizer files of the
                          base model), plus
        optimizer/        AdamW state (torch.distributed.checkpoint: sharded under FSDP, so a
                          32B optimiser is never gathered on one rank; loads in one process too)
        trainer_state.pt  python/numpy/torch RNG states
        state.json        iteration, metrics history, best so far, patience counter
        COMPLETE          written last; a directory without it is never used
    base_eval.json        the iteration-0 evaluation of the base model (so resume skips it)
    best.json             pointer to the best iteration by val reward (atomic)

    .tmp-handoff/         the latest weights as handed to the vLLM engine (`write_handoff`): written
                          once per iteration; a checkpoint of that iteration hard-links these
                          files instead of writing the weights a second time

A checkpoint is built in a hidden temporary sibling (`.tmp-iter-NNNN`), fsynced, marked
COMPLETE and renamed into place; a run killed at any point leaves either the old set or the old
set plus one complete new directory. Leftover temporary directories are deleted on start.
Only the latest and the best complete iterations are kept.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from deductive.io import atomic_write_json

COMPLETE = "COMPLETE"
_ITER = re.compile(r"^iter-(\d{4,})$")
# Weight files of at most this many bytes each (HF shards + index above it).
SHARD_BYTES = 4 * 1024**3
# Files of the base model directory that are not copied into a checkpoint.
_SKIP = {"manifest.json", "model.safetensors.index.json"}


def iter_dir(root: Path, iteration: int) -> Path:
    return root / f"iter-{iteration:04d}"


def complete_iterations(root: Path) -> list[int]:
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        m = _ITER.match(child.name)
        if m and (child / COMPLETE).is_file():
            found.append(int(m.group(1)))
    return sorted(found)


def latest_complete(root: Path) -> Path | None:
    done = complete_iterations(root)
    return iter_dir(root, done[-1]) if done else None


def remove_incomplete(root: Path) -> list[str]:
    """Delete temporary and unmarked checkpoint directories left by a killed run."""
    removed = []
    if not root.is_dir():
        return removed
    shutil.rmtree(root / HANDOFF, ignore_errors=True)  # the last hand-off: not a checkpoint, not reported
    for child in root.iterdir():
        if child.is_dir() and (child.name.startswith(".tmp-") or
                               (_ITER.match(child.name) and not (child / COMPLETE).is_file())):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def write_hf_weights(hf_state: dict[str, torch.Tensor], base_model_dir: Path, out: Path,
                     dtype: torch.dtype | None = None) -> None:
    """Save an HF-named state dict as safetensors (sharded past SHARD_BYTES) + the base's files."""
    out.mkdir(parents=True, exist_ok=True)
    for item in Path(base_model_dir).iterdir():
        if item.is_file() and item.suffix != ".safetensors" and item.name not in _SKIP:
            shutil.copy2(item, out / item.name)
    tensors = {k: (v.to(dtype) if dtype is not None else v).contiguous() for k, v in hf_state.items()}
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key in sorted(tensors):
        nbytes = tensors[key].numel() * tensors[key].element_size()
        if shards[-1] and size + nbytes > SHARD_BYTES:
            shards.append({})
            size = 0
        shards[-1][key] = tensors[key]
        size += nbytes
    if len(shards) == 1:
        save_file(shards[0], str(out / "model.safetensors"), metadata={"format": "pt"})
    else:
        weight_map = {}
        for i, shard in enumerate(shards, 1):
            name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            save_file(shard, str(out / name), metadata={"format": "pt"})
            weight_map.update({k: name for k in shard})
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        (out / "model.safetensors.index.json").write_text(json.dumps(
            {"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2, sort_keys=True))
    for item in out.iterdir():
        if item.is_file():
            _fsync_file(item)


HANDOFF = ".tmp-handoff"
ENGINE_EXTRA = "engine-extra.safetensors"  # tensors only the engine needs (a tied LM head's copy)
# LoRA adapters in torchtune names (what a resume loads; not *.safetensors, which engines and
# load_hf_state_dict read as the model's weights)
ADAPTERS = "adapters.pt"
_INDEX = "model.safetensors.index.json"


def write_handoff(root: Path, hf_state: dict[str, torch.Tensor], base_model_dir: Path, *,
                  engine_extra: dict[str, torch.Tensor] | None = None,
                  dtype: torch.dtype | None = None) -> Path:
    """Write the new weights once, as the directory the engine reloads from (root/.tmp-handoff).

    The previous hand-off is unlinked first, never overwritten in place: its files may be hard
    links inside a checkpoint. `engine_extra` goes to its own file (and the index, if sharded),
    which `save(weights_from=...)` leaves out of the checkpoint."""
    out = Path(root) / HANDOFF
    shutil.rmtree(out, ignore_errors=True)
    write_hf_weights(hf_state, base_model_dir, out, dtype=dtype)
    if engine_extra:
        extra = {k: (v.to(dtype) if dtype is not None else v).contiguous() for k, v in engine_extra.items()}
        save_file(extra, str(out / ENGINE_EXTRA), metadata={"format": "pt"})
        index = out / _INDEX
        if index.is_file():  # vLLM reads only the files an index names
            data = json.loads(index.read_text())
            data["weight_map"].update({k: ENGINE_EXTRA for k in extra})
            index.write_text(json.dumps(data, indent=2, sort_keys=True))
    return out


def link_hf_weights(source: Path, out: Path) -> None:
    """Put `source`'s model files (a hand-off directory) into `out` as hard links (a copy where
    the filesystem has none), without the engine-only tensors."""
    out.mkdir(parents=True, exist_ok=True)
    for item in sorted(Path(source).iterdir()):
        if not item.is_file() or item.name == ENGINE_EXTRA:
            continue
        if item.name == _INDEX:
            data = json.loads(item.read_text())
            data["weight_map"] = {k: v for k, v in data["weight_map"].items() if v != ENGINE_EXTRA}
            (out / _INDEX).write_text(json.dumps(data, indent=2, sort_keys=True))
            continue
        try:
            os.link(item, out / item.name)
        except OSError:
            shutil.copy2(item, out / item.name)
    for item in out.iterdir():
        if item.is_file():
            _fsync_file(item)


def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(root: Path, iteration: int, *, hf_state: dict[str, torch.Tensor] | None,
         base_model_dir: Path, optimizer_state: dict, state: dict, rank: int = 0,
         barrier=lambda: None, dtype: torch.dtype | None = None,
         weights_from: Path | None = None, adapters: dict[str, torch.Tensor] | None = None) -> Path:
    """Write iter-NNNN atomically. Every rank calls it (the optimiser state is sharded);
    `hf_state` (the full weights, HF names) is needed on rank 0 only, unless `weights_from`
    (this iteration's `write_handoff` directory) gives the weights already on disk. A LoRA run
    also passes its `adapters` (rank 0): a resume loads them over the frozen base weights."""
    import torch.distributed.checkpoint as dcp

    final = iter_dir(root, iteration)
    tmp = root / f".tmp-{final.name}"
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    barrier()
    with warnings.catch_warnings():  # "assuming ... single process": that is the intent
        warnings.simplefilter("ignore", UserWarning)
        dcp.save({"optimizer": optimizer_state}, checkpoint_id=str(tmp / "optimizer"),
                 no_dist=not torch.distributed.is_initialized())
    if rank == 0:
        if weights_from is not None:
            link_hf_weights(weights_from, tmp)
        else:
            write_hf_weights(hf_state, base_model_dir, tmp, dtype=dtype)
        torch.save({"rng": rng_state()}, tmp / "trainer_state.pt")
        if adapters is not None:
            torch.save({k: v.detach().to("cpu").contiguous() for k, v in adapters.items()}, tmp / ADAPTERS)
        atomic_write_json(tmp / "state.json", state)
        for item in (tmp / "optimizer").iterdir():
            _fsync_file(item)
    barrier()
    if rank == 0:
        (tmp / COMPLETE).write_text(f"iteration {iteration}\n")
        _fsync_file(tmp / COMPLETE)
        _fsync_dir(tmp)
        if final.exists():  # a complete directory of the same iteration (re-run): replace it
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(root)
    barrier()
    return final


def load_adapters(path: Path) -> dict[str, torch.Tensor]:
    """A LoRA checkpoint's adapters (torchtune names); a clear error where there are none."""
    file = Path(path) / ADAPTERS
    if not file.is_file():
        raise FileNotFoundError(f"{path} holds no LoRA adapters ({ADAPTERS}): it was written by a run "
                                "without training.lora; resume it without LoRA or start a new run")
    return torch.load(file, map_location="cpu", weights_only=True)


def load_state(path: Path) -> dict:
    return json.loads((path / "state.json").read_text(encoding="utf-8"))


def load_optimizer(path: Path, optimizer_state_template: dict) -> dict:
    """Fill `optimizer_state_template` (from get_optimizer_state_dict) in place from `path`."""
    import torch.distributed.checkpoint as dcp

    holder = {"optimizer": optimizer_state_template}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dcp.load(holder, checkpoint_id=str(path / "optimizer"),
                 no_dist=not torch.distributed.is_initialized())
    return holder["optimizer"]


def load_rng(path: Path) -> None:
    set_rng_state(torch.load(path / "trainer_state.pt", weights_only=False)["rng"])


def prune(root: Path, keep: set[int]) -> None:
    """Delete complete iteration directories other than `keep` (latest and best)."""
    for it in complete_iterations(root):
        if it not in keep:
            doomed = root / f".tmp-del-iter-{it:04d}"
            os.replace(iter_dir(root, it), doomed)  # atomic: never a half-deleted iter-NNNN
            shutil.rmtree(doomed, ignore_errors=True)
