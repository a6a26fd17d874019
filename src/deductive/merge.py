"""The one merge of nested settings (config files layered by a profile, run overrides of the
training section): `deep_merge(base, over)` merges mappings key by key and replaces anything
else, the way Snakemake merges several `--configfile`s."""

from __future__ import annotations

import copy


def deep_merge(base: dict, over: dict) -> dict:
    """A new mapping: `over` merged into `base`, nested mappings key by key."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
