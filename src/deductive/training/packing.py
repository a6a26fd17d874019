"""Prompt-shared packing: one puzzle's prompt once per row, followed by several completions.

A row of `row_tokens` positions holds [prompt | completion 1 | completion 2 | ... | padding].
Each position has a document id: 0 for the prompt, j >= 1 for completion j, -1 for padding.
Attention (`attention_mask`): a token sees earlier tokens of its own document and, for a
completion, the whole prompt; padding sees only padding. Position ids restart for every
completion at len(prompt), as if it followed the prompt alone, so a packed row computes exactly
what each (prompt + completion) computes on its own (tests/test_packing.py measures it).

The log-prob of completion token t comes from the logits at `src_pos[t]`: the previous token of
the same completion, or the prompt's last token for the first completion token. Per token the
row also carries the sampling log-prob (from vLLM), the completion's advantage (0 on its last
token, method.md section 3) and its weight 1/len(completion), renormalised so that the mean
weight over all completion tokens of the iteration is 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import torch

PAD_DOC = -1


@dataclass
class PackedRows:
    tokens: torch.Tensor             # (R, L) long
    input_pos: torch.Tensor          # (R, L) long
    doc_ids: torch.Tensor            # (R, L) long
    src_pos: torch.Tensor            # (R, L) long, -1 where no log-prob is needed
    sampling_logprobs: torch.Tensor  # (R, L) float
    advantages: torch.Tensor         # (R, L) float
    weights: torch.Tensor            # (R, L) float, 0 off completion tokens

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def select(self, index) -> "PackedRows":
        return PackedRows(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    @property
    def completion_tokens(self) -> int:
        return int((self.weights != 0).sum())

    @property
    def real_tokens(self) -> int:
        return int((self.doc_ids != PAD_DOC).sum())


def pack(samples: list[dict], row_tokens: int, *, zero_last_token: bool = True,
         pad_id: int = 0, rows_multiple_of: int = 1) -> PackedRows:
    """Pack sample records (with "advantage") into rows; samples of one puzzle must be adjacent.

    Greedy in input order: a completion goes into the current row of its puzzle when it fits,
    else a new row (starting with the prompt again) is opened. The number of rows is padded with
    empty rows (all weights 0) to a multiple of `rows_multiple_of` (one share per rank).
    """
    samples = [s for s in samples if len(s["completion_token_ids"]) > 0]
    rows: list[list[dict]] = []
    for _, group in groupby(samples, key=lambda s: s["puzzle_id"]):
        group = list(group)
        prompt_len = len(group[0]["prompt_token_ids"])
        used = row_tokens  # force a new row for the first completion
        for sample in group:
            n = len(sample["completion_token_ids"])
            if prompt_len + n > row_tokens:
                raise ValueError(f"puzzle {sample['puzzle_id']}: prompt ({prompt_len}) + completion "
                                 f"({n}) tokens exceed the packing row of {row_tokens} tokens; raise "
                                 "training.row_tokens to at least the sampler's max_model_len")
            if used + n > row_tokens:
                rows.append([])
                used = prompt_len
            rows[-1].append(sample)
            used += n
    n_rows = max(1, -(-len(rows) // rows_multiple_of)) * rows_multiple_of
    n_completions = sum(len(r) for r in rows)
    n_tokens = sum(len(s["completion_token_ids"]) for r in rows for s in r)
    # weight 1/len, renormalised to mean 1 over all completion tokens: * n_tokens / n_completions
    scale = n_tokens / n_completions if n_completions else 0.0

    shape = (n_rows, row_tokens)
    out = PackedRows(
        tokens=torch.full(shape, pad_id, dtype=torch.long),
        input_pos=torch.zeros(shape, dtype=torch.long),
        doc_ids=torch.full(shape, PAD_DOC, dtype=torch.long),
        src_pos=torch.full(shape, -1, dtype=torch.long),
        sampling_logprobs=torch.zeros(shape, dtype=torch.float32),
        advantages=torch.zeros(shape, dtype=torch.float32),
        weights=torch.zeros(shape, dtype=torch.float32),
    )
    for r, row in enumerate(rows):
        prompt = row[0]["prompt_token_ids"]
        p = len(prompt)
        out.tokens[r, :p] = torch.tensor(prompt, dtype=torch.long)
        out.input_pos[r, :p] = torch.arange(p)
        out.doc_ids[r, :p] = 0
        start = p
        for j, sample in enumerate(row, 1):
            ids = sample["completion_token_ids"]
            n = len(ids)
            end = start + n
            out.tokens[r, start:end] = torch.tensor(ids, dtype=torch.long)
            out.input_pos[r, start:end] = torch.arange(p, p + n)
            out.doc_ids[r, start:end] = j
            out.src_pos[r, start] = p - 1
            out.src_pos[r, start + 1:end] = torch.arange(start, end - 1)
            lp = sample.get("logprobs")
            out.sampling_logprobs[r, start:end] = (torch.tensor(lp, dtype=torch.float32) if lp is not None
                                                   else torch.full((n,), float("nan")))
            out.advantages[r, start:end] = float(sample["advantage"])
            if zero_last_token:
                out.advantages[r, end - 1] = 0.0
            out.weights[r, start:end] = scale / n
            start = end
        # padding positions count up from 0 so they stay inside the RoPE cache
        out.input_pos[r, start:] = torch.arange(row_tokens - start)
    for r in range(len(rows), n_rows):
        out.input_pos[r] = torch.arange(row_tokens)
    return out


def attention_mask(doc_ids: torch.Tensor) -> torch.Tensor:
    """Dense (R, L, L) bool mask, True where query i may attend to key j (torchtune convention)."""
    L = doc_ids.shape[-1]
    causal = torch.ones(L, L, dtype=torch.bool, device=doc_ids.device).tril()
    q = doc_ids[:, :, None]
    k = doc_ids[:, None, :]
    same = q == k
    prompt = (k == 0) & (q > 0)
    return causal & (same | prompt)


def block_mask(doc_ids: torch.Tensor):
    """The same mask as a flex-attention BlockMask (GPU: no dense L x L tensor)."""
    from torch.nn.attention.flex_attention import create_block_mask

    docs = doc_ids

    def mask_mod(b, h, q_idx, kv_idx):
        qd = docs[b, q_idx]
        kd = docs[b, kv_idx]
        return (q_idx >= kv_idx) & ((qd == kd) | ((kd == 0) & (qd > 0)))

    R, L = doc_ids.shape
    return create_block_mask(mask_mod, R, None, L, L, device=doc_ids.device)


def _chunk_logprobs(output, hidden, tgt, entropy: bool, temperature: float):
    """log p(tgt) (and the entropy) at normalised hidden states `hidden` (N, D): the logits of
    these N positions only, `output(hidden)`, divided by `temperature` (the sampling
    distribution), in float32."""
    logits = output(hidden).float()
    if temperature != 1.0:
        logits = logits / temperature
    lse = logits.logsumexp(-1)
    lp = logits.gather(-1, tgt[:, None]).squeeze(-1) - lse
    if not entropy:
        return lp, None
    probs = (logits - lse[:, None]).exp()
    return lp, lse - (probs * logits).sum(-1)


def packed_logprobs(model: torch.nn.Module, rows: PackedRows, *, use_block_mask: bool = False,
                    entropy: bool = False, chunks: int = 1,
                    temperature: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-position log-prob of each completion token under `model` ((R, L), 0 elsewhere).

    Only the positions that predict a completion token go through the output projection (the
    prompt's other positions need no logits). The decoder's `unembed` is replaced for this call
    by one that normalises just those hidden states and turns them into log-probs in `chunks`
    pieces, inside the model's forward (so FSDP has the output weights gathered). Each piece
    computes its own logits from its own hidden states, under activation checkpointing when
    `chunks` > 1: the logits of one piece exist at a time (bf16 and their float32 copy), in the
    forward and again in the backward pass, and no logits or logit gradient of all positions is
    ever formed (a split of full logits would give each piece's backward a zero gradient the
    size of all logits). With `entropy`, also the entropy of the next-token distribution there.
    `temperature` divides the logits first, so the log-probs are those of the distribution the
    sampler drew from at that temperature (vLLM's processed log-probs).
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    from torch.utils.checkpoint import checkpoint

    mask = block_mask(rows.doc_ids) if use_block_mask else attention_mask(rows.doc_ids)
    r_idx, t_idx = (rows.src_pos >= 0).nonzero(as_tuple=True)
    src = rows.src_pos[r_idx, t_idx]
    tgt = rows.tokens[r_idx, t_idx]
    n_chunks = max(1, chunks)

    def unembed(h):  # (R, L, D) -> log-probs (and entropies) of the selected positions, float32
        hidden = model.norm(h[r_idx, src])
        if hidden.shape[0] == 0:
            # rows without completion tokens (padding rows of a rank): keep the graph connected
            # so backward still runs and FSDP's gradient collectives match on every rank
            lp, ent = _chunk_logprobs(model.output, hidden, tgt, entropy, temperature)
            lp = lp + 0.0 * model.output(hidden).float().sum() + 0.0 * h.sum()
            return lp, ent
        lps, ents = [], []
        for piece, piece_tgt in zip(hidden.tensor_split(n_chunks), tgt.tensor_split(n_chunks)):
            if n_chunks > 1 and torch.is_grad_enabled():
                lp, ent = checkpoint(_chunk_logprobs, model.output, piece, piece_tgt, entropy, temperature,
                                     use_reentrant=False)
            else:
                lp, ent = _chunk_logprobs(model.output, piece, piece_tgt, entropy, temperature)
            lps.append(lp)
            ents.append(ent)
        return torch.cat(lps), (torch.cat(ents) if entropy else None)

    model.unembed = unembed
    try:
        lp, ent_values = model(rows.tokens, mask=mask, input_pos=rows.input_pos)
    finally:
        del model.unembed
    out = torch.zeros(rows.tokens.shape, dtype=torch.float32, device=rows.tokens.device)
    logprobs = out.index_put((r_idx, t_idx), lp)
    ent = torch.zeros_like(out).index_put((r_idx, t_idx), ent_values) if entropy else None
    return logprobs, ent


# ------------------------------------------------------------------------------ step shapes
# torchtune compiles flex attention with `dynamic=False`: every new (rows, length) shape of a
# step compiles again, and past torch's recompile limit (8) the call falls back to the unfused
# implementation that materialises the full L x L score matrix ("materializes the full scores
# matrix": ~86 GB per layer at 16k tokens in fp32). So the compiled path gets a small fixed set
# of shapes: a fixed number of rows per step and a length from `length_buckets`.

def length_buckets(row_tokens: int, count: int = 4, multiple: int = 128) -> tuple[int, ...]:
    """Step lengths allowed on the compiled path: row_tokens, row_tokens/2, /4, ... (`count` of
    them), each rounded up to a multiple of flex attention's block size (128); ascending."""
    out = {row_tokens}
    for i in range(1, count):
        out.add(min(row_tokens, max(multiple, -(-(row_tokens >> i) // multiple) * multiple)))
    return tuple(sorted(out))


def used_columns(rows: PackedRows) -> int:
    """Columns up to the last non-padding position of any row (at least 1)."""
    real = (rows.doc_ids >= 0).any(0)
    return int(real.nonzero().max()) + 1 if bool(real.any()) else 1


def pad_rows(rows: PackedRows, n_rows: int) -> PackedRows:
    """Append empty rows (padding, weight 0) up to `n_rows` rows."""
    missing = n_rows - len(rows)
    if missing <= 0:
        return rows
    R, L = missing, rows.tokens.shape[1]
    pos = torch.arange(L, dtype=torch.long).expand(R, L)
    empty = PackedRows(tokens=rows.tokens.new_zeros((R, L)), input_pos=pos.clone(),
                       doc_ids=torch.full((R, L), PAD_DOC, dtype=torch.long),
                       src_pos=torch.full((R, L), -1, dtype=torch.long),
                       sampling_logprobs=torch.zeros((R, L)), advantages=torch.zeros((R, L)),
                       weights=torch.zeros((R, L)))
    return PackedRows(*(torch.cat([getattr(rows, f), getattr(empty, f).to(getattr(rows, f).dtype)])
                        for f in rows.__dataclass_fields__))


def step_batches(rows: PackedRows, per_step: int, rank: int = 0, world: int = 1, *,
                 fixed_shapes: bool = False, buckets: tuple[int, ...] | None = None):
    """(global step batch, this rank's rows) for each optimiser step over `rows`.

    Eager path: trailing padding columns shared by all rows are dropped (results unchanged).
    `fixed_shapes` (the compiled flex-attention path): every step has exactly `per_step` rows
    (empty rows appended) and a length from `buckets` (default `length_buckets` of the row
    width), so a whole run compiles at most len(buckets) shapes per rank.
    """
    width = rows.tokens.shape[1]
    buckets = buckets or length_buckets(width)
    for start in range(0, len(rows), per_step):
        batch = rows.select(slice(start, start + per_step))
        used = used_columns(batch)
        if fixed_shapes:
            batch = pad_rows(batch, per_step)
            used = next((b for b in buckets if b >= used), width)
        batch = batch.select((slice(None), slice(0, used)))
        yield batch, batch.select(slice(rank, None, world))
