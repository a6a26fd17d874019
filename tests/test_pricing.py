"""The pinned price table: every price has a date and source; arithmetic of both bases."""

import pytest

from deductive import pricing
from deductive.config import PRICING_PATH


def test_table_carries_the_published_prices_with_date_and_source():
    table = pricing.load_prices(PRICING_PATH)
    expected = {"o1": (15, 60), "o3-mini": (1.1, 4.4), "deepseek-r1": (0.55, 2.19),
                "claude-3.7-sonnet": (3, 15), "Qwen/Qwen2.5-14B-Instruct": (0.20, 0.20),
                "Qwen/Qwen2.5-32B-Instruct": (0.90, 0.90)}
    for key, (p_in, p_out) in expected.items():
        price = table.token(key)
        assert (price.usd_per_m_input, price.usd_per_m_output) == (p_in, p_out)
        assert price.date == "2025-03-06" and price.source
    for key in ("Qwen/Qwen2.5-14B-Instruct", "Qwen/Qwen2.5-32B-Instruct"):
        assert table.token(key).kind == "hosting-tier-guess"
    for hw in table.hardware.values():
        assert hw.usd_per_hour > 0 and hw.date and hw.source


def test_token_and_throughput_arithmetic():
    table = pricing.load_prices(PRICING_PATH)
    o1 = table.token("o1")
    assert o1.cost(1_000_000, 0) == pytest.approx(15.0)
    assert o1.cost(0, 1_000_000) == pytest.approx(60.0)
    h100 = table.device("h100-80gb")
    # 2 GPUs for 360 s producing 100 completions = 7.2 GPU-seconds each
    from deductive.evaluation.cost import throughput_cost

    got = throughput_cost(sampling_seconds=360, device_count=2, completions=100, device="h100-80gb",
                          price=h100)["usd_per_puzzle_throughput"]
    assert got == pytest.approx(7.2 * h100.usd_per_hour / 3600)


def test_unknown_price_key_names_the_known_ones():
    with pytest.raises(pricing.PricingError, match="no token price 'o7'.*o1"):
        pricing.load_prices(PRICING_PATH).token("o7")


def test_malformed_table_is_rejected(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("tokens:\n  x: {usd_per_m_input: 1, usd_per_m_output: 1, kind: list, date: d}\n")
    with pytest.raises(pricing.PricingError, match="missing source"):
        pricing.load_prices(bad)
