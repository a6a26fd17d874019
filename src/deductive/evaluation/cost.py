"""Dollars per puzzle from an evaluated model's own recorded token counts (and, for
self-hosted models, from measured device time).

"Per puzzle" means per attempt: one completion of one puzzle, the unit the published table
priced. With several samples per puzzle the means run over every completion.
"""

from __future__ import annotations

from typing import Iterable

from deductive.pricing import HardwarePrice, TokenPrice


def mean_tokens(records: Iterable[dict]) -> tuple[float, float]:
    """(mean prompt tokens, mean completion tokens) over sample records."""
    prompt = completion = 0
    n = 0
    for record in records:
        if record.get("prompt_tokens") is None or record.get("completion_tokens") is None:
            raise ValueError(f"sample {record.get('puzzle_id')}#{record.get('sample_index')} has no token counts")
        prompt += int(record["prompt_tokens"])
        completion += int(record["completion_tokens"])
        n += 1
    if n == 0:
        raise ValueError("no sample records to price")
    return prompt / n, completion / n


def token_cost(records: list[dict], price: TokenPrice) -> dict:
    """The token-priced cost block of a summary."""
    mean_prompt, mean_completion = mean_tokens(records)
    return {
        "mean_prompt_tokens": mean_prompt,
        "mean_completion_tokens": mean_completion,
        "usd_per_puzzle": price.cost(mean_prompt, mean_completion),
        "price": price.to_dict(),
    }


def throughput_cost(*, sampling_seconds: float, device_count: int, completions: int,
                    device: str, price: HardwarePrice) -> dict:
    """The throughput-priced cost block: device-seconds per completion x $/device-hour.

    `sampling_seconds` is the wall time spent generating (engine start excluded), summed over
    resumed sessions; `completions` the number generated in that time.
    """
    if completions <= 0 or sampling_seconds <= 0:
        raise ValueError("throughput cost needs a positive sampling time and completion count")
    per_completion = sampling_seconds * device_count / completions
    return {
        "usd_per_puzzle_throughput": price.cost(per_completion),
        "throughput": {
            "device": device,
            "device_count": device_count,
            "sampling_seconds": sampling_seconds,
            "completions": completions,
            "device_seconds_per_completion": per_completion,
            "price": price.to_dict(),
        },
    }


def implied_prompt_tokens(row: dict, decimals: int) -> tuple[float, float]:
    """The range of mean prompt tokens that, with the row's completion tokens and prices,
    rounds to the published dollar figure at `decimals` decimals."""
    half = 0.5 * 10 ** (-decimals)
    out_cost = row["mean_completion_tokens"] * row["usd_per_m_output"] / 1e6
    per_token = row["usd_per_m_input"] / 1e6
    lo = (row["usd_per_puzzle"] - half - out_cost) / per_token
    hi = (row["usd_per_puzzle"] + half - out_cost) / per_token
    return max(0.0, lo), hi
