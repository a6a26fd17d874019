"""LoRA GRPO (issue 22) on CPU: only the adapters train, the base weights stay frozen and are
loaded once, the engine gets the merged weights, and a resume continues from the adapters and
their optimiser state."""

import json

import pytest
import torch

from deductive.settings import LoraSettings
from deductive.training.tune_model import (build_model, hf_to_tune, initial_adapters, is_adapter_key,
                                           load_hf_state_dict, merged_weights)
from training_fixtures import make_tiny_qwen2

LORA = {"rank": 4, "alpha": 8.0, "dropout": 0.0, "attn_modules": ["q_proj", "k_proj", "v_proj", "output_proj"],
        "mlp": True, "output": False}
LORA_SETTINGS = LoraSettings.from_mapping(LORA)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_qwen2(tmp_path_factory.mktemp("lora") / "m")


def _lora_model(model_dir, seed=0):
    model = build_model(model_dir, lora=LORA_SETTINGS)
    base = hf_to_tune(load_hf_state_dict(model_dir), model_dir)
    model.load_state_dict({**base, **initial_adapters(model, seed)}, strict=True)
    return model, base


def test_only_the_adapters_train_and_the_fresh_model_is_the_base(model_dir):
    model, base = _lora_model(model_dir)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(is_adapter_key(n) for n in trainable)
    # 2 layers x (q, k, v, o + gate, up, down) adapted, each with A and B
    assert len(trainable) == 2 * 7 * 2
    plain = build_model(model_dir)
    plain.load_state_dict(base, strict=True)
    tokens = torch.randint(2, 256, (1, 12))
    assert torch.allclose(model(tokens), plain(tokens), atol=1e-6)  # B starts at zero


def test_the_engine_gets_base_plus_scaled_low_rank_update(model_dir):
    model, base = _lora_model(model_dir)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".lora_b." in name:
                p.copy_(torch.randn(p.shape) * 0.1)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    q = "layers.0.attn.q_proj"
    a, b = state[f"{q}.lora_a.weight"], state[f"{q}.lora_b.weight"]
    merged = merged_weights(state, LORA_SETTINGS)
    assert not any(is_adapter_key(k) for k in merged) and merged.keys() == base.keys()
    assert torch.allclose(merged[f"{q}.weight"], base[f"{q}.weight"] + LORA["alpha"] / LORA["rank"] * b @ a, atol=1e-6)
    plain = build_model(model_dir)
    plain.load_state_dict(merged, strict=True)
    tokens = torch.randint(2, 256, (1, 12))
    assert torch.allclose(model(tokens), plain(tokens), atol=1e-4)  # what the engine serves = what trains


@pytest.mark.slow
def test_a_lora_run_trains_resumes_and_changes_the_weights_by_a_low_rank_update(tmp_path, model_dir):
    """The loop end to end with LoRA (stand-in engine): 2 iterations at once against 1 then a
    resume for the 2nd give the same adapters; each checkpoint holds the merged weights (what
    evaluation and the engine load) and the adapters (what a resume loads); the merged update of
    every adapted matrix has rank <= r."""
    from deductive.training import checkpoint as ckpt
    from deductive.training.loop import train
    from test_train import good_token_share
    from training_fixtures import TorchSampler, tiny_config, write_puzzles

    def run(work, iterations, stop_after=None):
        config = tiny_config(iterations=iterations, lora=LORA)
        config["training"]["optimizer"]["lr"] = 1e-2
        train_file, val_file = work / "train.jsonl", work / "val.jsonl"
        if not train_file.exists():
            work.mkdir(parents=True)
            write_puzzles(train_file, 12, "train")
            write_puzzles(val_file, 3, "val")
        return train(config, "tiny", model_dir=model_dir, train_file=train_file, val_file=val_file,
                     out_dir=work / "out", ckpt_root=work / "ckpt", log=lambda m: None, stop_after=stop_after,
                     make_sampler=lambda d, cfg: TorchSampler(d, cfg, good_token_share))

    run(tmp_path / "one", 2)
    run(tmp_path / "two", 2, stop_after=1)
    run(tmp_path / "two", 2)  # resumes after iteration 1
    metrics = [json.loads(x) for x in (tmp_path / "two" / "out" / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in metrics] == [1, 2] and all(m["optimizer_steps"] >= 1 for m in metrics)
    one, two = (ckpt.load_adapters(tmp_path / w / "ckpt" / "iter-0002") for w in ("one", "two"))
    assert one.keys() == two.keys() and len(one) == 28
    assert max(float((one[k] - two[k]).abs().max()) for k in one) < 1e-4
    merged = hf_to_tune(load_hf_state_dict(tmp_path / "one" / "ckpt" / "iter-0002"), model_dir)
    base = hf_to_tune(load_hf_state_dict(model_dir), model_dir)
    moved = 0
    for name in merged:
        delta = (merged[name] - base[name]).float()
        if "q_proj" in name and name.endswith("weight"):
            moved += bool(delta.abs().max() > 0)
            assert torch.linalg.matrix_rank(delta) <= LORA["rank"]
        if "norm" in name or "tok_embeddings" in name:
            assert torch.equal(merged[name], base[name])  # frozen, not adapted
    assert moved == 2  # every layer's q_proj moved


def test_a_lora_run_is_labelled_lora_wherever_its_numbers_appear():
    """Evaluation entries name the table rows, the figure bars and the result folders: a LoRA
    run's trained entry says LoRA, a full fine-tuning run's does not; the base entry is shared."""
    from deductive.config import load_config
    from deductive.evaluation.entries import list_entries

    full = list_entries(load_config("paper"))
    lora = list_entries(load_config("paper-lora"))
    assert {"qwen2.5-14b-trained", "qwen2.5-32b-trained"} <= set(full)
    assert not any("lora" in name for name in full)
    trained = {name: e for name, e in lora.items() if e.kind == "trained"}
    assert set(trained) == {"qwen2.5-14b-trained-lora", "qwen2.5-32b-trained-lora"}
    assert all(e.model.endswith("(LoRA rank 16)") for e in trained.values())
    assert {n for n, e in lora.items() if e.kind == "base"} == {n for n, e in full.items() if e.kind == "base"}
    cpu = list_entries(load_config("learn-room-2x2-lora"))
    assert set(cpu) == {"smollm2-135m-base", "smollm2-135m-trained-lora"}


def test_the_cpu_side_by_side_changes_only_lora_and_its_learning_rate():
    """learn-room-2x2-lora is learn-room-2x2 (same puzzles, seeds, model, sampling, evaluation,
    iteration budget) with adapters and their learning rate: a difference between the two runs
    comes from LoRA, not from another setting."""
    import copy

    from deductive.config import load_config

    full, lora = load_config("learn-room-2x2"), copy.deepcopy(load_config("learn-room-2x2-lora"))
    assert full["training"]["lora"] is None and lora["training"]["lora"]["rank"] == 16
    assert lora["training"]["optimizer"]["lr"] == 10 * full["training"]["optimizer"]["lr"]
    for key in ("profile", "description"):
        lora[key] = full[key]
    lora["training"]["lora"], lora["training"]["optimizer"]["lr"] = None, full["training"]["optimizer"]["lr"]
    assert lora == full


def test_the_loop_and_the_gpu_check_start_from_one_function(model_dir, tmp_path):
    """Issue 21: frozen base + adapters (fresh for a new run, else the checkpoint's), in one place."""
    from deductive.training import checkpoint as ckpt
    from deductive.training.tune_model import starting_weights

    base = hf_to_tune(load_hf_state_dict(model_dir), model_dir)
    fresh = starting_weights(model_dir, None, LORA_SETTINGS, base=lambda: dict(base), adapter_seed=7)
    expected = {**base, **initial_adapters(build_model(model_dir, device="meta", lora=LORA_SETTINGS), 7)}
    assert fresh.keys() == expected.keys() and all(torch.equal(fresh[k], expected[k]) for k in fresh)
    adapters = {k: torch.full_like(v, 0.5) for k, v in fresh.items() if is_adapter_key(k)}
    torch.save(adapters, tmp_path / ckpt.ADAPTERS)
    resumed = starting_weights(model_dir, tmp_path, LORA_SETTINGS, base=lambda: dict(base),
                               adapter_dtype=torch.bfloat16)
    assert all(torch.equal(resumed[k], base[k]) for k in base)
    assert all(resumed[k].dtype == torch.bfloat16 and bool((resumed[k] == 0.5).all()) for k in adapters)
    plain = starting_weights(model_dir, None, None, base=lambda: "the base")
    assert plain == "the base"


def test_each_evaluation_job_lists_its_own_entry_under_the_dag_s_name():
    """The DAG names a LoRA run's entry <run>-trained-lora; the job config the evaluation script
    reads must list the entry under that same name (it once listed <run>-trained and the job
    failed: 'no evaluation entry')."""
    from deductive.config import load_config
    from deductive.evaluation.entries import list_entries
    from deductive.jobs import eval_job

    for profile in ("learn-room-2x2-lora", "paper-lora", "learn-room-2x2", "paper"):
        config = load_config(profile)
        for name, entry in list_entries(config).items():
            job = eval_job(config, entry)
            assert name in list_entries(job), (profile, name, sorted(list_entries(job)))


def test_a_run_s_partial_lora_override_merges_as_the_trainer_merges_it():
    """A run that overrides one LoRA value keeps the section's others (training_section's merge),
    so its entry still says LoRA with the section's rank; a run's `lora: null` is full fine-tuning."""
    import copy

    from deductive.config import load_config
    from deductive.evaluation.entries import list_entries

    config = copy.deepcopy(load_config("learn-room-2x2-lora"))
    config["training"]["runs"]["smollm2-135m"]["lora"] = {"alpha": 64}
    assert list_entries(config)["smollm2-135m-trained-lora"].model.endswith("(LoRA rank 16)")
    config["training"]["runs"]["smollm2-135m"]["lora"] = None
    assert "smollm2-135m-trained" in list_entries(config)
