"""Shared helpers of the training tests: a tiny random Qwen2 HF directory and synthetic samples."""

from __future__ import annotations

from pathlib import Path

import torch


def make_tiny_qwen2(out: Path, *, vocab: int = 256, seed: int = 0, tied: bool = False,
                    layers: int = 2) -> Path:
    """hidden 128, 2 heads of 64, 1 KV head: the shape family of models/tiny-qwen2, small vocab."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(vocab_size=vocab, hidden_size=128, intermediate_size=256,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=2048, rope_theta=1_000_000.0, rms_norm_eps=1e-6,
                         tie_word_embeddings=tied, bos_token_id=0, eos_token_id=1, pad_token_id=0)
    config.architectures = ["Qwen2ForCausalLM"]
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(torch.float32)
    with torch.no_grad():  # biases random too, so the q/k/v bias mapping is exercised
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0, 0.05)
    model.save_pretrained(out, safe_serialization=True)
    return Path(out)


def synthetic_samples(rng: torch.Generator, *, puzzles: int, k: int, prompt_len: int,
                      max_completion: int, vocab: int) -> list[dict]:
    samples = []
    for p in range(puzzles):
        prompt = torch.randint(2, vocab, (prompt_len + p,), generator=rng).tolist()
        for j in range(k):
            n = int(torch.randint(1, max_completion + 1, (1,), generator=rng))
            samples.append({
                "puzzle_id": f"p{p}", "sample_index": j, "prompt_token_ids": prompt,
                "completion_token_ids": torch.randint(2, vocab, (n,), generator=rng).tolist(),
                "logprobs": (-torch.rand(n, generator=rng) * 3).tolist(),
                "reward": float(torch.rand(1, generator=rng)),
            })
    return samples
