"""Places: offline US ZIP centroids, states and time zones (the ``zipcodes`` package's data).

A ZIP gives a point (a searcher's ``postcode``, a listing without coordinates), and a point gives
its nearest ZIP, hence its US state (which crisis lines serve a searcher) and its time zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import zipcodes

NEAREST_WITHIN_KM = 60.0  # farther than this from every US ZIP centre: not in the US


@dataclass(frozen=True)
class ZipPlace:
    zip5: str
    latitude: float
    longitude: float
    state: str  # two letters: FL
    timezone: str | None


@lru_cache(maxsize=1)
def _places() -> dict[str, ZipPlace]:
    table: dict[str, ZipPlace] = {}
    for entry in zipcodes.list_all():  # type: ignore[no-untyped-call]
        try:
            place = ZipPlace(
                entry["zip_code"],
                float(entry["lat"]),
                float(entry["long"]),
                entry["state"],
                entry.get("timezone") or None,
            )
        except (KeyError, TypeError, ValueError):
            continue
        table[place.zip5] = place
    return table


@lru_cache(maxsize=1)
def _grid() -> dict[tuple[int, int], list[ZipPlace]]:
    cells: dict[tuple[int, int], list[ZipPlace]] = {}
    for place in _places().values():
        cells.setdefault((math.floor(place.latitude), math.floor(place.longitude)), []).append(
            place
        )
    return cells


def zip_place(zip5: str | None) -> ZipPlace | None:
    """A US ZIP code's centre, state and time zone, or None when unknown."""
    if not zip5:
        return None
    return _places().get(zip5.strip()[:5])


def zip_centroid(zip5: str | None) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP code's centre, or None when unknown."""
    place = zip_place(zip5)
    return None if place is None else (place.latitude, place.longitude)


def nearest_zip(latitude: float, longitude: float) -> ZipPlace | None:
    """The US ZIP whose centre is nearest to a point, or None when the point is not in the US."""
    row, column = math.floor(latitude), math.floor(longitude)
    grid = _grid()
    candidates = [
        place
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
        for place in grid.get((row + dr, column + dc), ())
    ]
    if not candidates:
        return None
    squeeze = math.cos(math.radians(latitude)) ** 2  # a degree of longitude is shorter up north
    best = min(  # the flat approximation picks the same nearest ZIP, 20x faster than haversine
        candidates,
        key=lambda p: (p.latitude - latitude) ** 2 + squeeze * (p.longitude - longitude) ** 2,
    )
    close = distance_km(latitude, longitude, best.latitude, best.longitude) <= NEAREST_WITHIN_KM
    return best if close else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of the Earth's mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))
