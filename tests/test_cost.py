"""Cost per puzzle from the evaluated model's own token counts and from measured device time."""

import pytest

from deductive.evaluation.cost import mean_tokens, throughput_cost, token_cost
from deductive.config import PRICING_PATH
from deductive.pricing import load_prices


def _records(pairs):
    return [{"puzzle_id": f"p{i}", "sample_index": 0, "prompt_tokens": a, "completion_tokens": b}
            for i, (a, b) in enumerate(pairs)]


def test_token_cost_uses_the_records_own_means():
    price = load_prices(PRICING_PATH).token("Qwen/Qwen2.5-32B-Instruct")
    block = token_cost(_records([(1200, 800), (1240, 1000)]), price)
    assert block["mean_prompt_tokens"] == 1220 and block["mean_completion_tokens"] == 900
    assert block["usd_per_puzzle"] == pytest.approx((1220 + 900) * 0.9 / 1e6)
    assert block["price"]["kind"] == "hosting-tier-guess"


def test_cost_follows_each_models_own_tokens_not_another_runs():
    # the original's 32B mistake: two models with different completion lengths must get
    # different costs even at the same price
    price = load_prices(PRICING_PATH).token("Qwen/Qwen2.5-32B-Instruct")
    short = token_cost(_records([(1220, 59)]), price)["usd_per_puzzle"]
    long = token_cost(_records([(1220, 1447)]), price)["usd_per_puzzle"]
    assert long == pytest.approx(0.0024003) and short == pytest.approx(0.0011511)


def test_throughput_cost_per_completion():
    h100 = load_prices(PRICING_PATH).device("h100-80gb")
    block = throughput_cost(sampling_seconds=600, device_count=4, completions=256, device="h100-80gb", price=h100)
    assert block["throughput"]["device_seconds_per_completion"] == pytest.approx(600 * 4 / 256)
    assert block["usd_per_puzzle_throughput"] == pytest.approx(600 * 4 / 256 / 3600 * h100.usd_per_hour)


def test_missing_token_counts_or_time_are_errors():
    with pytest.raises(ValueError, match="no token counts"):
        mean_tokens([{"puzzle_id": "p", "sample_index": 0, "prompt_tokens": None, "completion_tokens": 3}])
    with pytest.raises(ValueError):
        mean_tokens([])
    with pytest.raises(ValueError):
        throughput_cost(sampling_seconds=0, device_count=1, completions=1, device="x",
                        price=load_prices(PRICING_PATH).device("h100-80gb"))
