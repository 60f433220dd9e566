"""Places: US ZIP centres, states and time zones (the ``zipcodes`` package's data, in PostGIS).

A ZIP gives a point (a searcher's ``postcode``, a listing without coordinates), and a point gives
its nearest ZIP, hence its US state (which crisis lines serve a searcher) and its time zone.

The table lives once, in the database (``zip_place``, filled by migration 0015): the package's
42,789 entries cost a process 147 MB and 1.3 s as Python dicts (measured), which every API worker
used to hold. Lookups are SQL (a primary key, a KNN scan of the GiST index), and each process
keeps a bounded map of its recent answers. Callers without a session (the ingest's record
preparation, pure and possibly in a worker process; a search document's time zone; a searcher's
place while the database cannot answer) use :func:`offline_zips`: a compact copy in arrays
(2 MB in a process) of the package's table as a child process reads it, so that no process but
that short-lived one ever loads the package itself.
"""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import Computed, Connection, Index, String, Text, cast, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from directory import zip_package
from directory.config import get_settings
from directory.db import Base

NEAREST_WITHIN_KM = 60.0  # farther than this from every US ZIP centre: not in the US
RECENT = 4096  # answers kept per process and kind (a ZIP's is about 250 bytes)
Db = Session | Connection


class ZipPlaceRow(Base):
    """A US ZIP code's centre, state and time zone (static data: migration 0015 fills it)."""

    __tablename__ = "zip_place"
    __table_args__ = (Index("ix_zip_place_point", "point", postgresql_using="gist"),)

    zip5: Mapped[str] = mapped_column(Text, primary_key=True)
    state: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float]
    longitude: Mapped[float]
    point: Mapped[Any] = mapped_column(
        Geography("POINT", srid=4326, spatial_index=False),
        Computed("ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)::geography", persisted=True),
    )


@dataclass(frozen=True)
class ZipPlace:
    zip5: str
    latitude: float
    longitude: float
    state: str  # two letters: FL
    timezone: str | None


class _Recent:
    """A bounded map of recent answers, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self._size, self._lock = size, threading.Lock()
        self._answers: OrderedDict[Any, ZipPlace | None] = OrderedDict()

    def get(self, key: Any) -> tuple[bool, ZipPlace | None]:
        with self._lock:
            if key not in self._answers:
                return False, None
            self._answers.move_to_end(key)
            return True, self._answers[key]

    def put(self, key: Any, answer: ZipPlace | None) -> None:
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)


_by_zip = _Recent(RECENT)
_by_point = _Recent(RECENT)
_COLUMNS = (
    ZipPlaceRow.zip5,
    ZipPlaceRow.latitude,
    ZipPlaceRow.longitude,
    ZipPlaceRow.state,
    ZipPlaceRow.timezone,
)


def zip_place(db: Db, zip5: str | None) -> ZipPlace | None:
    """A US ZIP code's centre, state and time zone, or None when unknown."""
    return zip_places(db, [zip5]).get(_zip5(zip5)) if zip5 else None


def zip_places(db: Db, zips: Iterable[str | None]) -> dict[str, ZipPlace]:
    """The known ones of many US ZIP codes (by their first five characters), in one query."""
    wanted, found = set(), {}
    for key in {_zip5(z) for z in zips if z}:
        cached, place = _by_zip.get(key)
        if not cached:
            wanted.add(key)
        elif place is not None:
            found[key] = place
    if wanted:
        rows = db.execute(select(*_COLUMNS).where(ZipPlaceRow.zip5.in_(wanted)))
        fetched = {row.zip5: ZipPlace(*row) for row in rows}
        for key in wanted:
            _by_zip.put(key, fetched.get(key))
        found |= fetched
    return found


def zip_centroid(db: Db, zip5: str | None) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP code's centre, or None when unknown."""
    place = zip_place(db, zip5)
    return None if place is None else (place.latitude, place.longitude)


def nearest_zip(db: Db, latitude: float, longitude: float) -> ZipPlace | None:
    """The US ZIP whose centre is nearest to a point, or None when the point is not in the US."""
    cached, answer = _by_point.get((latitude, longitude))
    if cached:
        return answer
    point = cast(func.ST_SetSRID(func.ST_MakePoint(longitude, latitude), 4326), Geography)
    # The GiST index yields the nearest centres first (KNN). A few, not one: of ZIPs sharing a
    # centre (a ZIP and its P.O. box ZIPs) the lowest, as the old in-memory table answered. An
    # ORDER BY zip5 as well would give up the index (a 130 ms scan); a centre shared by more
    # than 4 ZIPs may then answer another of them, but always of the same state (a test checks).
    nearest = select(*_COLUMNS).order_by(ZipPlaceRow.point.op("<->")(point)).limit(4)
    places = [ZipPlace(*row) for row in db.execute(nearest)]
    answer = None
    if places:
        best = min(
            places,
            key=lambda p: (distance_km(latitude, longitude, p.latitude, p.longitude), p.zip5),
        )
        close = distance_km(latitude, longitude, best.latitude, best.longitude)
        answer = best if close <= NEAREST_WITHIN_KM else None
    _by_point.put((latitude, longitude), answer)
    return answer


def _zip5(zip5: str) -> str:
    return zip5.strip()[:5]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of the Earth's mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


# The package's data, read in a child process --------------------------------------------------


def package_table() -> bytes:
    """The package's table as COPY text: ``directory.zip_package`` run as a child process (2 s
    and more), its output kept in the data folder for the next process that asks (20 ms)."""
    name = f"zipcodes-{version('zipcodes')}-{zip_package.FORMAT}.tsv"
    kept = get_settings().data_dir / "cache" / name
    if kept.exists() and (table := kept.read_bytes()).endswith(b"\n"):
        return table  # (a copy cut short, which no write of ours leaves, is made again)
    child = [sys.executable, "-m", "directory.zip_package"]
    made = subprocess.run(child, capture_output=True, check=False)
    if made.returncode != 0:
        raise RuntimeError(f"reading the zipcodes package failed: {made.stderr.decode()[-2000:]}")
    partial = kept.with_name(f"{kept.name}.{os.getpid()}")
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(made.stdout)
        partial.replace(kept)  # whole or absent, whoever else writes it at the same time
    except OSError:  # a read-only or full data folder: the next process reads the package again
        partial.unlink(missing_ok=True)
    return made.stdout


@dataclass(frozen=True)
class OfflineZips:
    """ZIP centres, states and time zones in arrays sorted by ZIP: about 1 MB in all."""

    codes: array[int]
    latitudes: array[float]
    longitudes: array[float]
    states: array[int]  # into ``names``
    timezones: array[int]  # into ``names``; 0: none
    names: tuple[str, ...]

    def place(self, zip5: str | None) -> ZipPlace | None:
        """A US ZIP code's centre, state and time zone, or None when unknown."""
        key = _zip5(zip5) if zip5 else ""
        if len(key) != 5 or not key.isdigit():
            return None
        at = bisect_left(self.codes, int(key))
        found = at < len(self.codes) and self.codes[at] == int(key)
        return self._at(at) if found else None

    def nearest(self, latitude: float, longitude: float) -> ZipPlace | None:
        """``nearest_zip`` without the database, scanning every centre (some 30 ms)."""
        squeeze = math.cos(math.radians(latitude)) ** 2  # a degree east is shorter up north
        _, at = min(
            ((lat - latitude) ** 2 + squeeze * (lng - longitude) ** 2, i)
            for i, (lat, lng) in enumerate(zip(self.latitudes, self.longitudes, strict=True))
        )
        best = self._at(at)
        close = distance_km(latitude, longitude, best.latitude, best.longitude)
        return best if close <= NEAREST_WITHIN_KM else None

    def _at(self, at: int) -> ZipPlace:
        zone = self.timezones[at]
        return ZipPlace(
            f"{self.codes[at]:05d}",
            self.latitudes[at],
            self.longitudes[at],
            self.names[self.states[at]],
            self.names[zone] if zone else None,
        )

    def centroid(self, zip5: str | None) -> tuple[float, float] | None:
        """(latitude, longitude) of a US ZIP code's centre, or None when unknown."""
        place = self.place(zip5)
        return None if place is None else (place.latitude, place.longitude)


@lru_cache(maxsize=1)
def offline_zips() -> OfflineZips:
    """The compact copy for callers without a session, made once per process that asks.

    Read line by line into arrays: a list of the rows first would leave the process 23 MB
    bigger (measured), this 3 MB."""
    names: dict[str, int] = {"": 0}
    codes, states, zones = array("l"), array("H"), array("H")
    latitudes, longitudes = array("d"), array("d")
    for line in io.TextIOWrapper(io.BytesIO(package_table()), encoding="utf-8"):
        zip5, state, zone, lat, lng = line.rstrip("\n").split("\t")
        codes.append(int(zip5))
        states.append(names.setdefault(state, len(names)))
        zones.append(0 if zone == zip_package.NULL else names.setdefault(zone, len(names)))
        latitudes.append(float(lat))
        longitudes.append(float(lng))
    if any(codes[i] >= codes[i + 1] for i in range(len(codes) - 1)):
        raise ValueError("the ZIP table is not in ZIP order")  # the package's order: it is
    return OfflineZips(codes, latitudes, longitudes, states, zones, tuple(names))
