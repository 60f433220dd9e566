"""Where a searcher is: a point (given, or a US ZIP's centre) and the regions it lies in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from directory.errors import InvalidInput
from directory.geo import ZipPlace, nearest_zip, offline_zips, zip_place

log = logging.getLogger(__name__)


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
    session: Session,
    near: tuple[float, float] | None,
    postcode: str | None,
    country: str | None,
) -> Place | None:
    """The searcher's place from ``near`` or a US ``postcode`` (``near`` wins), or None.

    When the database cannot answer, from the ZIP table's compact copy in this process: the
    crisis lines are then answered from their cache, for the searcher's state all the same.
    """
    try:
        return _resolved(
            near,
            postcode,
            country,
            lambda zip5: zip_place(session, zip5),
            lambda lat, lng: nearest_zip(session, lat, lng),
        )
    except (OperationalError, PoolTimeout) as error:
        log.warning("ZIP lookup without the database (%s)", type(error).__name__)
        session.rollback()  # a cancelled lookup aborted the transaction; the search needs a new one
        zips = offline_zips()
        return _resolved(near, postcode, country, zips.place, zips.nearest)


def _resolved(
    near: tuple[float, float] | None,
    postcode: str | None,
    country: str | None,
    by_zip: Callable[[str], ZipPlace | None],
    nearest: Callable[[float, float], ZipPlace | None],
) -> Place | None:
    if near is not None:
        latitude, longitude = near
        found = nearest(latitude, longitude)
        if found is not None and country in (None, "US"):
            return Place(latitude, longitude, "US", f"US-{found.state}")
        return Place(latitude, longitude, country, None)
    if postcode is not None:
        zip5 = by_zip(postcode)
        if zip5 is None:
            raise InvalidInput(f"unknown US ZIP code: {postcode}", field="postcode")
        return Place(zip5.latitude, zip5.longitude, "US", f"US-{zip5.state}")
    return None
