"""Places: offline US ZIP centroids (from the ``zipcodes`` package's bundled data)."""

from __future__ import annotations

from functools import lru_cache

import zipcodes


@lru_cache(maxsize=1)
def _centroids() -> dict[str, tuple[float, float]]:
    table: dict[str, tuple[float, float]] = {}
    for entry in zipcodes.list_all():  # type: ignore[no-untyped-call]
        try:
            table[entry["zip_code"]] = (float(entry["lat"]), float(entry["long"]))
        except (KeyError, TypeError, ValueError):
            continue
    return table


def zip_centroid(zip5: str | None) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP code's centre, or None when unknown."""
    if not zip5:
        return None
    return _centroids().get(zip5.strip()[:5])
