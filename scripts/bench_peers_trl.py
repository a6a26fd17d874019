#!/usr/bin/env python
"""TRL side of scripts/bench_peers.py: one `GRPOTrainer` step (transformers `generate`, no vLLM)
on the work described by the spec file the parent wrote. Runs inside .venv-trl (torch, TRL and
transformers only; it does not import this project), writes a JSON result.

.venv-trl/bin/python scripts/bench_peers_trl.py --spec SPEC.json --out RESULT.json [--steps 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def synthetic_reward(token_ids) -> float:
    """The parent's reward (deductive.bench.peers.synthetic_reward): share of even ids."""
    ids = list(token_ids)
    return sum(int(t) % 2 == 0 for t in ids) / max(1, len(ids))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spec", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--steps", type=int, default=1, help="optimiser steps; the last one is reported")
    args = p.parse_args(argv)
    spec = json.loads(args.spec.read_text(encoding="utf-8"))

    import datasets
    import torch
    import transformers
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    t0 = time.monotonic()
    tok = AutoTokenizer.from_pretrained(spec["model_dir"])
    model = AutoModelForCausalLM.from_pretrained(spec["model_dir"], dtype=torch.float32)
    # the same chat-template prompts as the parent (TRL applies the template to conversational prompts)
    for item in spec["prompts"]:
        ids = tok.apply_chat_template([{"role": "user", "content": item["prompt"]}], add_generation_prompt=True,
                                      tokenize=True)
        if hasattr(ids, "keys"):
            ids = ids["input_ids"]
        if list(ids) != item["prompt_token_ids"]:
            print(f"bench_peers_trl: prompt {item['id']} tokenises differently here", file=sys.stderr)
            return 3
    data = datasets.Dataset.from_list([{"prompt": [{"role": "user", "content": i["prompt"]}]}
                                       for i in spec["prompts"]])
    k = int(spec["completions"])
    mb = int(spec.get("trl_micro_batch", 1))
    generated: list[list[int]] = []

    def reward(prompts, completions, completion_ids, **kwargs):
        generated.append([len(c) for c in completion_ids])
        return [synthetic_reward(c) for c in completion_ids]

    config = dict(
        output_dir=str(Path(spec["work_dir"]) / "trl"), use_cpu=True, bf16=False, fp16=False,
        # one optimiser step over all prompts x completions, generated as one batch of that size;
        # the forward/backward in micro-batches of trl_micro_batch completions (activation memory
        # of full-length prompts: a single batch of 8 needs more RAM than a shared 2-core box has)
        per_device_train_batch_size=mb, gradient_accumulation_steps=len(spec["prompts"]) * k // mb,
        generation_batch_size=len(spec["prompts"]) * k,
        num_generations=k, max_completion_length=int(spec["max_new_tokens"]), temperature=spec["temperature"],
        top_p=spec["top_p"], top_k=0, beta=0.0, epsilon=0.2, num_iterations=1, loss_type="dapo",
        scale_rewards="group", learning_rate=spec["lr"], weight_decay=spec["weight_decay"],
        adam_beta1=spec["betas"][0], adam_beta2=spec["betas"][1], lr_scheduler_type="constant",
        max_steps=args.steps, shuffle_dataset=False, seed=int(spec["seed"]), data_seed=int(spec["seed"]),
        logging_steps=1, save_strategy="no", report_to="none", disable_tqdm=True,
        dataloader_num_workers=0, gradient_checkpointing=False)
    step_s: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            self.t = time.monotonic()

        def on_step_end(self, a, state, control, **kw):
            step_s.append(time.monotonic() - self.t)

    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=GRPOConfig(**config), train_dataset=data,
                          processing_class=tok, callbacks=[StepTimer()])
    setup_s = time.monotonic() - t0
    t0 = time.monotonic()
    trainer.train()
    train_call_s = time.monotonic() - t0
    logs = [h for h in trainer.state.log_history if "loss" in h]
    last = generated[-1] if generated else []
    result = {
        "iteration_s": round(step_s[-1], 1) if step_s else None, "step_s": [round(s, 1) for s in step_s],
        "train_call_s": round(train_call_s, 1), "setup_s": round(setup_s, 1),
        "optimizer_steps": int(trainer.state.global_step), "completions": len(last),
        "generated_tokens": sum(last), "log": logs[-1] if logs else None,
        "trl_config": {k_: config[k_] for k_ in ("per_device_train_batch_size", "gradient_accumulation_steps",
                                                 "generation_batch_size", "num_generations",
                                                 "max_completion_length", "temperature", "top_p", "top_k", "beta",
                                                 "loss_type", "scale_rewards", "learning_rate", "bf16", "use_cpu")},
        "torch_threads": torch.get_num_threads(),
        "versions": {"trl": trl.__version__, "transformers": transformers.__version__, "torch": torch.__version__},
        "self_max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
