import torch
import pytest

from deductive.training.advantages import assign_advantages
from deductive.training.tune_model import load_model
from deductive.training.packing import PAD_DOC, attention_mask, pack, packed_logprobs
from training_fixtures import make_tiny_qwen2, synthetic_samples

# Measured max |packed - alone| over all completion tokens (float32, CPU): ~1e-6; allow 1e-4.
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = make_tiny_qwen2(tmp_path_factory.mktemp("tiny") / "m")
    return load_model(d).eval()


def _alone_logprobs(model, prompt, completion):
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        logits = model(ids).float().log_softmax(-1)[0]
    p = len(prompt)
    return torch.stack([logits[p - 1 + i, completion[i]] for i in range(len(completion))])


def test_packed_row_equals_each_completion_alone(tiny):
    rng = torch.Generator().manual_seed(1)
    samples = assign_advantages(synthetic_samples(rng, puzzles=3, k=5, prompt_len=9,
                                                  max_completion=12, vocab=256))
    rows = pack(samples, row_tokens=32)
    assert len(rows) > 3  # several rows per puzzle: the prompt is repeated in each
    with torch.no_grad():
        packed, _ = packed_logprobs(tiny, rows, temperature=1.0)
    worst = 0.0
    seen = 0
    for r in range(len(rows)):
        docs = rows.doc_ids[r]
        prompt = rows.tokens[r][docs == 0].tolist()
        for j in range(1, int(docs.max()) + 1):
            where = (docs == j).nonzero().squeeze(-1)
            completion = rows.tokens[r, where].tolist()
            alone = _alone_logprobs(tiny, prompt, completion)
            worst = max(worst, float((packed[r, where] - alone).abs().max()))
            seen += 1
    assert seen == len(samples)
    print(f"max |packed - alone| logprob = {worst:.3e} over {seen} completions")
    assert worst < TOLERANCE


def test_mask_each_completion_sees_prompt_and_itself_only():
    docs = torch.tensor([[0, 0, 1, 1, 2, 2, 2, PAD_DOC]])
    m = attention_mask(docs)[0]
    assert m[2, :2].all() and m[3, 2] and not m[4, 2] and not m[4, 3]   # 2 doesn't see 1
    assert m[6, :2].all() and m[6, 4:7].all() and not m[6, 2:4].any()
    assert not m[1, 2] and not m[0, 1]                                   # causal in the prompt
    assert m[7, 7] and not m[7, :7].any()                                # padding: itself only


def test_pack_layout_weights_positions_and_last_token():
    samples = [
        {"puzzle_id": "a", "prompt_token_ids": [5, 6, 7], "completion_token_ids": [8, 9],
         "logprobs": [-0.5, -0.25], "advantage": 1.5},
        {"puzzle_id": "a", "prompt_token_ids": [5, 6, 7], "completion_token_ids": [10, 11, 12, 13],
         "logprobs": [-1.0, -1.0, -1.0, -1.0], "advantage": -0.5},
        {"puzzle_id": "b", "prompt_token_ids": [3, 4], "completion_token_ids": [2, 2, 2],
         "logprobs": None, "advantage": 2.0},
    ]
    rows = pack(samples, row_tokens=10, rows_multiple_of=4)
    assert len(rows) == 4  # 2 real rows padded to a multiple of 4
    assert rows.tokens[0].tolist() == [5, 6, 7, 8, 9, 10, 11, 12, 13, 0]
    assert rows.input_pos[0, :9].tolist() == [0, 1, 2, 3, 4, 3, 4, 5, 6]
    assert rows.src_pos[0, :9].tolist() == [-1, -1, -1, 2, 3, 2, 5, 6, 7]
    assert rows.advantages[0, :9].tolist() == [0, 0, 0, 1.5, 0, -0.5, -0.5, -0.5, 0]
    # weights 1/len renormalised to mean 1 over the 9 completion tokens of 3 completions
    w = rows.weights[rows.weights != 0]
    assert torch.isclose(w.mean(), torch.tensor(1.0))
    assert torch.allclose(rows.weights[0, 3:5], torch.tensor([1.5, 1.5]))   # 1/2 * 9/3
    assert torch.allclose(rows.weights[0, 5:9], torch.full((4,), 0.75))     # 1/4 * 9/3
    assert torch.isnan(rows.sampling_logprobs[1, 2:5]).all()                # no logprobs given
    assert rows.weights[2:].abs().sum() == 0 and rows.completion_tokens == 9


def test_completion_too_long_for_a_row_is_a_clear_error():
    s = [{"puzzle_id": "a", "prompt_token_ids": [1] * 8, "completion_token_ids": [2] * 8,
          "logprobs": [0.0] * 8, "advantage": 1.0}]
    with pytest.raises(ValueError, match="row_tokens"):
        pack(s, row_tokens=12)


def test_chunked_logprobs_and_entropy_match_one_piece_with_gradients(tiny):
    rng = torch.Generator().manual_seed(2)
    rows = pack(assign_advantages(synthetic_samples(rng, puzzles=2, k=4, prompt_len=6, max_completion=9,
                                                    vocab=256)), row_tokens=40)
    results = []
    for chunks in (1, 3):
        tiny.zero_grad()
        lp, ent = packed_logprobs(tiny, rows, entropy=True, chunks=chunks, temperature=1.0)
        (lp.sum() + ent.sum()).backward()
        results.append((lp.detach(), ent.detach(), tiny.tok_embeddings.weight.grad.clone()))
    (lp1, e1, g1), (lp3, e3, g3) = results
    assert torch.allclose(lp1, lp3, atol=1e-6) and torch.allclose(e1, e3, atol=1e-6)
    assert torch.allclose(g1, g3, atol=1e-6) and g1.abs().sum() > 0
    on = rows.weights != 0
    assert (e1[on] > 0).all() and (e1[on] <= torch.log(torch.tensor(256.0)) + 1e-4).all()
    assert (lp1[~on] == 0).all()


def test_output_chunks_never_form_logits_of_all_positions(tmp_path):
    """Issue 19, item 3: with `chunks` pieces, each piece computes its own logits from its own
    hidden states, forward and backward; no tensor of all completion positions x vocabulary
    exists (a split of full logits made one, and its backward a zero gradient of that size per
    piece). Every tensor an operation produces is recorded."""
    from torch.utils._python_dispatch import TorchDispatchMode

    vocab = 512
    model = load_model(make_tiny_qwen2(tmp_path / "m", vocab=vocab))
    samples = assign_advantages(synthetic_samples(torch.Generator().manual_seed(1), puzzles=2, k=4, prompt_len=6,
                                                  max_completion=12, vocab=vocab))
    rows = pack(samples, row_tokens=64)
    positions = int((rows.src_pos >= 0).sum())
    chunks = 4

    class Largest(TorchDispatchMode):
        numel = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in (out if isinstance(out, (tuple, list)) else (out,)):
                # positions x vocabulary (not the output matrix or its gradient, hidden x vocabulary)
                if isinstance(t, torch.Tensor) and t.dim() >= 2 and t.shape[-1] == vocab and t.shape[-2] != 128:
                    Largest.numel = max(Largest.numel, t.numel())
            return out

    with Largest():
        lp, _ = packed_logprobs(model, rows, chunks=chunks, temperature=1.0)
        lp.sum().backward()
    assert 0 < Largest.numel <= -(-positions // chunks) * vocab < positions * vocab
