"""Where a searcher is: a point (given, or a US ZIP's centre) and the regions it lies in."""

from __future__ import annotations

from dataclasses import dataclass

from directory.errors import InvalidInput
from directory.geo import nearest_zip, zip_place


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    country: str | None  # ISO 3166-1, when known offline (US points; else the searcher's own)
    region: str | None  # ISO 3166-2 (US-FL)

    @property
    def regions(self) -> list[str]:
        """What an ``area`` document must serve to match here."""
        return [r for r in (self.country, self.region) if r]


def resolve_place(
    near: tuple[float, float] | None, postcode: str | None, country: str | None
) -> Place | None:
    """The searcher's place from ``near`` or a US ``postcode`` (``near`` wins), or None."""
    if near is not None:
        latitude, longitude = near
        found = nearest_zip(latitude, longitude)
        if found is not None and country in (None, "US"):
            return Place(latitude, longitude, "US", f"US-{found.state}")
        return Place(latitude, longitude, country, None)
    if postcode is not None:
        zip5 = zip_place(postcode)
        if zip5 is None:
            raise InvalidInput(f"unknown US ZIP code: {postcode}", field="postcode")
        return Place(zip5.latitude, zip5.longitude, "US", f"US-{zip5.state}")
    return None
