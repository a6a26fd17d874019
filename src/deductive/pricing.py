"""The pinned price table (workflow/pricing.yaml) and the two ways a completion is priced.

- token price: mean prompt tokens x $/M input + mean completion tokens x $/M output, from the
  evaluated model's own recorded token counts (what an API bills);
- throughput price (self-hosted models): measured device-seconds per completion x a pinned
  $/device-hour (what renting the hardware for that long costs).

Every price carries the date and source it was taken from; results name which basis they used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import yaml


class PricingError(ValueError):
    """A missing or malformed price; the message names the key and the file."""


@dataclass(frozen=True)
class TokenPrice:
    key: str
    usd_per_m_input: float
    usd_per_m_output: float
    kind: str  # "list" or "hosting-tier-guess"
    date: str
    source: str

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        """Dollars for `prompt_tokens` input and `completion_tokens` output tokens."""
        return (prompt_tokens * self.usd_per_m_input + completion_tokens * self.usd_per_m_output) / 1e6

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HardwarePrice:
    key: str
    usd_per_hour: float
    date: str
    source: str

    def cost(self, device_seconds: float) -> float:
        return device_seconds * self.usd_per_hour / 3600.0

    def to_dict(self) -> dict:
        return asdict(self)


_TOKEN_KEYS = {"usd_per_m_input", "usd_per_m_output", "kind", "date", "source"}
_HARDWARE_KEYS = {"usd_per_hour", "date", "source"}


class PriceTable:
    def __init__(self, tokens: dict[str, TokenPrice], hardware: dict[str, HardwarePrice], path: Path):
        self.tokens = tokens
        self.hardware = hardware
        self.path = path

    def token(self, key: str) -> TokenPrice:
        try:
            return self.tokens[key]
        except KeyError:
            raise PricingError(f"{self.path}: no token price '{key}' (known: {', '.join(sorted(self.tokens))})") from None

    def device(self, key: str) -> HardwarePrice:
        try:
            return self.hardware[key]
        except KeyError:
            raise PricingError(f"{self.path}: no hardware price '{key}' (known: {', '.join(sorted(self.hardware))})") from None


def _check_keys(entry, expected: set[str], where: str) -> None:
    if not isinstance(entry, dict):
        raise PricingError(f"{where}: expected a mapping")
    missing = expected - set(entry)
    extra = set(entry) - expected
    if missing:
        raise PricingError(f"{where}: missing {', '.join(sorted(missing))}")
    if extra:
        raise PricingError(f"{where}: unknown key(s) {', '.join(sorted(extra))} (allowed: {', '.join(sorted(expected))})")


def load_prices(path: str | Path) -> PriceTable:
    """The price table at `path`: the workflow passes its rule's input, workflow/pricing.yaml
    (deductive.config.PRICING_PATH); there is no default."""
    path = Path(path)
    if not path.is_file():
        raise PricingError(f"{path}: no such price table")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tokens: dict[str, TokenPrice] = {}
    for key, entry in (data.get("tokens") or {}).items():
        _check_keys(entry, _TOKEN_KEYS, f"{path}: tokens.{key}")
        if entry["kind"] not in ("list", "hosting-tier-guess"):
            raise PricingError(f"{path}: tokens.{key}.kind must be 'list' or 'hosting-tier-guess'")
        tokens[key] = TokenPrice(key=key, usd_per_m_input=float(entry["usd_per_m_input"]),
                                 usd_per_m_output=float(entry["usd_per_m_output"]), kind=entry["kind"],
                                 date=str(entry["date"]), source=str(entry["source"]))
    hardware: dict[str, HardwarePrice] = {}
    for key, entry in (data.get("hardware") or {}).items():
        _check_keys(entry, _HARDWARE_KEYS, f"{path}: hardware.{key}")
        hardware[key] = HardwarePrice(key=key, usd_per_hour=float(entry["usd_per_hour"]),
                                      date=str(entry["date"]), source=str(entry["source"]))
    return PriceTable(tokens, hardware, path)
