"""Issue 11, item 1: the compiled flex-attention path sees a small fixed set of step shapes.

torchtune compiles `flex_attention` with `dynamic=False`, so each new (rows, length) of a step
compiles again; past torch's recompile limit the call falls back to the unfused implementation
that materialises the full score matrix. Reproduced here on CPU with torch's own limit (8)
and the project's packed block masks (the `eager` compile backend, so it takes seconds; the
guard that fails is the same shape guard as with inductor); the fixed-shape steps of a whole
simulated run stay within the limit.
"""

import warnings

import pytest
import torch

from deductive.training.advantages import assign_advantages
from deductive.training.tune_model import load_model
from deductive.training.packing import (length_buckets, pack, packed_logprobs, pad_rows, step_batches,
                                        used_columns)
from training_fixtures import make_tiny_qwen2, synthetic_samples

ROW_TOKENS = 1024
WORLD = 2
PER_STEP = 2 * WORLD  # rows_per_device_per_step 2 on 2 ranks, as the paper profile
MATERIALISES = "materializes the full scores matrix"


def _simulated_run(iterations: int = 25, *, fixed_shapes: bool) -> list[tuple[int, int]]:
    """Every rank-local (rows, length) the optimiser would see over a run with varying lengths."""
    shapes = []
    for it in range(iterations):
        rng = torch.Generator().manual_seed(it)
        k = int(torch.randint(2, 9, (1,), generator=rng))
        max_completion = int(torch.randint(20, 900, (1,), generator=rng))
        samples = assign_advantages(synthetic_samples(rng, puzzles=int(torch.randint(1, 6, (1,), generator=rng)),
                                                      k=k, prompt_len=60, max_completion=max_completion,
                                                      vocab=256))
        rows = pack(samples, ROW_TOKENS, rows_multiple_of=WORLD)
        for rank in range(WORLD):
            for _, local in step_batches(rows, PER_STEP, rank, WORLD, fixed_shapes=fixed_shapes):
                shapes.append(tuple(local.tokens.shape))
    return shapes


def test_length_buckets():
    assert length_buckets(16384) == (2048, 4096, 8192, 16384)
    assert length_buckets(1000) == (128, 256, 512, 1000)
    assert length_buckets(128) == (128,)


def test_whole_run_uses_at_most_the_bucket_shapes():
    trimmed = set(_simulated_run(fixed_shapes=False))
    fixed = set(_simulated_run(fixed_shapes=True))
    allowed = {(PER_STEP // WORLD, b) for b in length_buckets(ROW_TOKENS)}
    print(f"distinct step shapes over 25 iterations: trimmed {len(trimmed)}, fixed {len(fixed)}")
    assert len(trimmed) > 8  # the old behaviour: more shapes than torch's recompile limit
    assert fixed <= allowed and len(fixed) <= 4


def test_padding_rows_and_columns_change_no_logprob(tmp_path):
    model = load_model(make_tiny_qwen2(tmp_path / "m")).eval()
    rng = torch.Generator().manual_seed(5)
    samples = assign_advantages(synthetic_samples(rng, puzzles=3, k=4, prompt_len=9, max_completion=20,
                                                  vocab=256))
    rows = pack(samples, 256)
    (trimmed, _), = step_batches(rows, 8, fixed_shapes=False)
    (fixed, _), = step_batches(rows, 8, fixed_shapes=True, buckets=(128, 256))
    assert len(fixed) == 8 and fixed.tokens.shape[1] == 128 > used_columns(rows) == trimmed.tokens.shape[1]
    assert fixed.completion_tokens == trimmed.completion_tokens == rows.completion_tokens
    with torch.no_grad():
        a = packed_logprobs(model, trimmed, temperature=1.0)[0]
        b = packed_logprobs(model, fixed, temperature=1.0)[0]
    n, L = a.shape
    assert torch.allclose(a, b[:n, :L], atol=1e-5) and not b[n:].any() and not b[:, L:].any()


def test_pad_rows_are_empty():
    rows = pack(assign_advantages(synthetic_samples(torch.Generator().manual_seed(1), puzzles=1, k=2,
                                                    prompt_len=4, max_completion=5, vocab=50)), 32)
    padded = pad_rows(rows, 3)
    assert len(padded) == 3 and padded.completion_tokens == rows.completion_tokens
    assert (padded.doc_ids[1:] == -1).all() and (padded.input_pos[2] == torch.arange(32)).all()


def _run_docs(iterations: int, *, fixed_shapes: bool) -> list[torch.Tensor]:
    """Rank 0's doc ids of every step of a simulated run (what its block masks are built from)."""
    docs = []
    for it in range(iterations):
        rng = torch.Generator().manual_seed(it)
        samples = assign_advantages(synthetic_samples(
            rng, puzzles=1 + it % 4, k=2 + it % 5, prompt_len=60, max_completion=40 + 37 * it, vocab=256))
        rows = pack(samples, ROW_TOKENS, rows_multiple_of=WORLD)
        docs += [local.doc_ids for _, local in step_batches(rows, PER_STEP, 0, WORLD, fixed_shapes=fixed_shapes)]
    return docs


def _flex_over(step_docs: list[torch.Tensor]) -> list[str]:
    """torchtune's compile call (`dynamic=False`; the eager backend for speed: the shape guards
    that fail are the same) over the steps' packed block masks; the fallback warnings seen."""
    from torch.nn.attention.flex_attention import flex_attention

    from deductive.training.packing import block_mask

    torch._dynamo.reset()
    compiled = torch.compile(flex_attention, dynamic=False, backend="eager")
    seen = []
    for docs in step_docs:
        R, L = docs.shape
        q = torch.randn(R, 1, L, 16)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compiled(q, q, q, block_mask=block_mask(docs))
        seen += [str(w.message) for w in caught if MATERIALISES in str(w.message)]
        if seen:
            break
    torch._dynamo.reset()
    return seen


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_recompile_limit_falls_back_to_the_full_score_matrix():
    """With torch's own recompile limit (8): a run of trimmed steps falls back to the unfused
    kernel, the same run with fixed step shapes never does."""
    assert torch._dynamo.config.recompile_limit == 8
    trimmed = _run_docs(12, fixed_shapes=False)
    assert len({tuple(d.shape) for d in trimmed}) > 8
    assert _flex_over(trimmed), "more shapes than the recompile limit must fall back"
    fixed = _run_docs(12, fixed_shapes=True)
    assert 1 < len({tuple(d.shape) for d in fixed}) <= 4
    assert not _flex_over(fixed)
