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


class TorchSampler:
    """A Sampler stand-in for tests without vLLM: same record format, sampling with a transformers
    model on CPU, prompt tokens from the prompt's bytes, and a pluggable reward function.
    `load_weights` takes the HF state dict the training loop hands to the real engine."""

    def __init__(self, model_dir, cfg, reward_fn, vocab: int = 256):
        from transformers import AutoModelForCausalLM

        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
        self.reward_fn = reward_fn
        self.vocab = vocab
        self.weights_loaded = 0
        self.calls: list[tuple] = []  # sleep / wake_up / load_weights, in order
        self.eos = 1

    def prompt_token_ids(self, prompt: str) -> list[int]:
        return [2 + b % (self.vocab - 2) for b in prompt.encode("utf-8")][:24]

    @torch.no_grad()
    def sample(self, puzzles, samples_per_puzzle, sampling, *, grader_mode="fixed"):
        records = []
        k = samples_per_puzzle
        for puzzle in puzzles:
            prompt = self.prompt_token_ids(puzzle.prompt)
            gen = torch.Generator().manual_seed(sampling.sample_seed(puzzle.id, 0))
            ids = torch.tensor([prompt] * k)
            lps = torch.zeros(k, 0)
            past = None
            step_ids = ids
            for _ in range(sampling.max_tokens):  # the K samples of a puzzle as one batch
                out = self.model(step_ids, past_key_values=past, use_cache=True)
                past = out.past_key_values
                logp = out.logits[:, -1].float().log_softmax(-1)
                tok = torch.multinomial(logp.exp(), 1, generator=gen)
                ids = torch.cat([ids, tok], 1)
                lps = torch.cat([lps, logp.gather(1, tok)], 1)
                step_ids = tok
            for i in range(k):
                completion = ids[i, len(prompt):].tolist()
                finish = "length"
                if self.eos in completion:
                    completion = completion[:completion.index(self.eos) + 1]
                    finish = "stop"
                records.append({
                    "puzzle_id": puzzle.id, "sample_index": i, "model": "tiny",
                    "prompt_token_ids": prompt, "completion_token_ids": completion,
                    "logprobs": lps[i, :len(completion)].tolist(),
                    "text": " ".join(map(str, completion)), "finish_reason": finish, "abort_reason": None,
                    "reward": float(self.reward_fn(completion)), "prompt_tokens": len(prompt),
                    "completion_tokens": len(completion), "sampling": sampling.to_dict(),
                    "grader_mode": grader_mode,
                })
        return records

    def load_weights(self, state):
        if isinstance(state, (str, Path)):  # a hand-off directory, as the real engine reloads
            from deductive.training.tune_model import load_hf_state_dict

            state = load_hf_state_dict(state)
        self.model.load_state_dict(state, strict=True)
        self.weights_loaded += 1
        self.calls.append(("load_weights",))

    def sleep(self, level=1):
        self.calls.append(("sleep", level))

    def wake_up(self, tags=None):
        self.calls.append(("wake_up", tags))

    def close(self):
        pass


def write_puzzles(path: Path, n: int, prefix: str) -> Path:
    import json

    with open(path, "w") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"{prefix}-{i:05d}", "prompt": f"puzzle {prefix} number {i} " * 2,
                                     "solution": {"A": "x"}, "num_clues": 1}) + "\n")
    return Path(path)


def training_inputs(directory: Path, *, train: int = 12, val: int) -> dict:
    """A tiny random Qwen2 and train/val puzzle files under `directory`: the `train()` inputs."""
    return {"model_dir": make_tiny_qwen2(directory / "model"),
            "train_file": write_puzzles(directory / "train.jsonl", train, "train"),
            "val_file": write_puzzles(directory / "val.jsonl", val, "val")}


def tiny_config(**training_overrides) -> dict:
    """A complete config (the smoke profile's) with a small CPU training run `tiny`."""
    import copy

    from deductive.config import load_config

    config = copy.deepcopy(load_config("smoke"))
    config["models"]["tiny"] = {"source": "random-qwen2"}
    t = config["training"]
    t.update({"iterations": 3, "puzzles_per_iteration": 4, "samples_per_puzzle": 8,
              "val_samples_per_puzzle": 2, "row_tokens": 128, "rows_per_device_per_step": 2})
    t["sampling"] = {"max_tokens": 6}
    t["sampling"].setdefault("engine", {})["max_model_len"] = 64
    t["optimizer"] = dict(t["optimizer"], lr=3e-3)
    t["runs"] = {"tiny": {"model": "tiny", "gpus_required": 0}}
    for key, value in training_overrides.items():
        t[key] = value
    return config
