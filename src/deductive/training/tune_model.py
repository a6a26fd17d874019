"""The trained model: a torchtune decoder built from a Hugging Face directory, and back.

torchtune supplies the builder (`deductive.inference.model_prep.torchtune_spec` picks it from
config.json: Qwen2 or Llama) and the weight-name conversions its FullModelHFCheckpointer uses
(`qwen2_hf_to_tune` / `convert_weights.hf_to_tune` and their inverses). Loading and saving go
through those functions directly so that checkpoint.py controls where and how files are written
(atomically, with a COMPLETE marker), which the checkpointer's epoch_N layout does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch
from safetensors.torch import load_file

if TYPE_CHECKING:
    from deductive.settings import LoraSettings


def hf_config(model_dir: str | Path) -> dict:
    return json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))


def build_model(model_dir: str | Path, *, dtype: torch.dtype = torch.float32,
                device: str | torch.device = "cpu", max_seq_len: int | None = None,
                lora: LoraSettings | None = None) -> torch.nn.Module:
    """The torchtune decoder of `model_dir`'s architecture with uninitialised weights. With
    `lora` (a run's `training.lora`): torchtune's LoRA builder of the same architecture, only the
    adapters trainable (`requires_grad`), the base weights frozen."""
    from torchtune.config._utils import _get_component_from_path

    from deductive.inference.model_prep import torchtune_spec

    builder, _, kwargs = torchtune_spec(model_dir)
    if max_seq_len:
        kwargs = dict(kwargs, max_seq_len=max_seq_len)
    if lora:
        module, name = builder.rsplit(".", 1)
        builder = f"{module}.lora_{name}"  # torchtune's LoRA twin of every builder used here
        kwargs = dict(kwargs, lora_attn_modules=list(lora.attn_modules), apply_lora_to_mlp=lora.mlp,
                      apply_lora_to_output=lora.output, lora_rank=lora.rank,
                      lora_alpha=lora.alpha, lora_dropout=lora.dropout)
    with torch.device(device):
        model = _get_component_from_path(builder)(**kwargs)
    model = model.to(dtype=dtype)
    if lora:
        from torchtune.modules.peft import get_adapter_params, set_trainable_params

        set_trainable_params(model, get_adapter_params(model))
    return model


def is_adapter_key(name: str) -> bool:
    """A LoRA adapter's tensor in torchtune names (`...q_proj.lora_a.weight`)."""
    return ".lora_a." in name or ".lora_b." in name


def initial_adapters(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Fresh adapter weights for a LoRA `model` (its meta copy will do), on the CPU, from `seed`:
    A as torch's Linear initialises its weight (Kaiming-uniform, a = sqrt(5)), B zero, so the
    adapted model starts as the base model (torchtune's LoRALinear initialisation)."""
    import math

    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, p in sorted(model.state_dict().items()):
        if not is_adapter_key(name):
            continue
        t = torch.empty(p.shape, dtype=torch.float32)
        if ".lora_a." in name:
            torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5), generator=g)
        else:
            t.zero_()
        out[name] = t.to(p.dtype)
    return out


def starting_weights(model_dir: str | Path, checkpoint: str | Path | None, lora: LoraSettings | None, *,
                     base: Callable[[], dict[str, torch.Tensor]], adapter_seed: int | None = None,
                     adapter_dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """The full tune-named weights a trainer starts from, on the CPU (the training loop's start
    and resume, the GPU check's resume). `base()` gives the base model's weights.

    Without LoRA: `checkpoint`'s weights, or `base()` for a new run. With LoRA: always `base()`,
    frozen (a checkpoint holds the base merged with the adapters, for the engine), and the
    adapters from `checkpoint` or, for a new run, fresh from `adapter_seed`; `adapter_dtype`
    casts the adapters."""
    if not lora:
        return hf_to_tune(load_hf_state_dict(checkpoint), model_dir) if checkpoint is not None else base()
    frozen = base()
    if checkpoint is not None:
        from deductive.training import checkpoint as ckpt

        adapters = ckpt.load_adapters(Path(checkpoint))
    else:
        adapters = initial_adapters(build_model(model_dir, device="meta", lora=lora), adapter_seed)
    if adapter_dtype is not None:
        adapters = {k: v.to(adapter_dtype) for k, v in adapters.items()}
    return {**frozen, **adapters}


def merged_weights(state: dict[str, torch.Tensor], lora: LoraSettings | None) -> dict[str, torch.Tensor]:
    """The tune-named state of the model the engine serves: with `lora`, every adapter merged
    into its base matrix (W + alpha/rank x B A) and the adapter tensors dropped, in place (`state`
    is the fresh copy `distributed.full_state` made); else `state` itself."""
    if not lora or not state:
        return state
    from torchtune.modules.peft import get_merged_lora_ckpt

    return get_merged_lora_ckpt(state, rank=lora.rank, alpha=lora.alpha)


def _model_type(model_dir: str | Path) -> str:
    from deductive.inference.model_prep import torchtune_spec

    return torchtune_spec(model_dir)[1]


def hf_to_tune(state: dict[str, torch.Tensor], model_dir: str | Path) -> dict[str, torch.Tensor]:
    cfg = hf_config(model_dir)
    kwargs = dict(num_heads=cfg["num_attention_heads"], num_kv_heads=cfg["num_key_value_heads"],
                  dim=cfg["hidden_size"])
    tied = bool(cfg.get("tie_word_embeddings", False))
    if _model_type(model_dir) == "QWEN2":
        from torchtune.models.qwen2._convert_weights import qwen2_hf_to_tune

        return qwen2_hf_to_tune(state, tie_word_embeddings=tied, **kwargs)
    from torchtune.models.convert_weights import hf_to_tune as llama_hf_to_tune

    if tied:
        state = {k: v for k, v in state.items() if k != "lm_head.weight"}
    return llama_hf_to_tune(state, head_dim=cfg.get("head_dim"), **kwargs)


def tune_to_hf(state: dict[str, torch.Tensor], model_dir: str | Path) -> dict[str, torch.Tensor]:
    cfg = hf_config(model_dir)
    kwargs = dict(num_heads=cfg["num_attention_heads"], num_kv_heads=cfg["num_key_value_heads"],
                  dim=cfg["hidden_size"])
    if _model_type(model_dir) == "QWEN2":
        from torchtune.models.qwen2._convert_weights import qwen2_tune_to_hf

        return qwen2_tune_to_hf(state, tie_word_embeddings=bool(cfg.get("tie_word_embeddings")), **kwargs)
    from torchtune.models.convert_weights import tune_to_hf as llama_tune_to_hf

    return llama_tune_to_hf(state, head_dim=cfg.get("head_dim"), **kwargs)


def load_hf_state_dict(model_dir: str | Path) -> dict[str, torch.Tensor]:
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{model_dir}: no *.safetensors weight files")
    state: dict[str, torch.Tensor] = {}
    for path in files:
        state.update(load_file(str(path)))
    return state


def load_model(model_dir: str | Path, *, dtype: torch.dtype = torch.float32,
               device: str | torch.device = "cpu", max_seq_len: int | None = None) -> torch.nn.Module:
    """Build the decoder and load `model_dir`'s weights into it (strict)."""
    model = build_model(model_dir, dtype=dtype, device=device, max_seq_len=max_seq_len)
    state = hf_to_tune(load_hf_state_dict(model_dir), model_dir)
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=True)
    return model


def engine_state(hf_state: dict[str, torch.Tensor], model_dir: str | Path) -> dict[str, torch.Tensor]:
    """The HF state dict to hand to the live vLLM engine. With tied embeddings it also carries
    `lm_head.weight` (a copy of the embedding): vLLM 0.32's in-place reload leaves a tied LM head
    stale when the key is absent (it logs "ParallelLMHead: Failed to load weights"; measured on
    SmolLM2-135M: sampled-token log-probs then differ from the trained model by up to 0.73,
    with the copy by 2e-5). Checkpoints on disk keep the standard tied layout."""
    if hf_config(model_dir).get("tie_word_embeddings") and "lm_head.weight" not in hf_state:
        return dict(hf_state, **{"lm_head.weight": hf_state["model.embed_tokens.weight"].clone()})
    return hf_state


def engine_extra(hf_state: dict[str, torch.Tensor], model_dir: str | Path) -> dict[str, torch.Tensor]:
    """What `engine_state` adds to `hf_state` (the tied LM head's copy), on its own."""
    return {k: v for k, v in engine_state(hf_state, model_dir).items() if k not in hf_state}
