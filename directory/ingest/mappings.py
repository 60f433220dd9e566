"""Mapping tables from source vocabularies to ours, kept in ``seed_data/mappings/*.yaml``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from directory.listings.vocabularies import SEED_DIR

MAPPINGS_DIR = SEED_DIR / "mappings"


@lru_cache
def mapping(name: str) -> dict[str, Any]:
    """The mapping table ``seed_data/mappings/<name>.yaml`` (cached; ``reload()`` forgets it)."""
    data = yaml.safe_load((MAPPINGS_DIR / f"{name}.yaml").read_text())
    if not isinstance(data, dict):
        raise ValueError(f"mapping {name}.yaml must be a mapping")
    return data


def reload() -> None:
    """Forget cached tables, so that edited mappings are read again (``ingest remap``)."""
    mapping.cache_clear()


def airs_need(code: str) -> str | None:
    """Our need for an AIRS/211 taxonomy code: the mapping of its longest mapped ancestor.

    AIRS codes carry their hierarchy: the parent of ``RP-1500.1400-800`` is ``RP-1500.1400``,
    then ``RP-1500``, then ``RP``.
    """
    table: dict[str, str] = mapping("airs")["needs"]
    current = code.strip().upper()
    while current:
        if current in table:
            return table[current]
        current = airs_parent(current) or ""
    return None


def airs_parent(code: str) -> str | None:
    """The parent of an AIRS code: ``RP-1500.1400-800`` -> ``RP-1500.1400`` -> ``RP-1500`` ->
    ``RP`` -> ``R`` -> None."""
    cut = max(code.rfind("."), code.rfind("-"))
    if cut > 0:
        return code[:cut]
    return code[:-1] if len(code) > 1 else None
