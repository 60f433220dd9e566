"""A second, empty database on the test server (migrated, with the needs taxonomy and no
listing) to import exports into, and the differences between two exported packages."""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.config import DEFAULT_SEED_DIR
from directory.db import make_engine, unit_of_work
from directory.listings.seed import seed_needs
from tests.dburl import fresh_database

EMPTY_DATABASE = "directory_hsds_round_trip"


@contextmanager
def empty_database(database_url: str) -> Iterator[Engine]:
    """The empty database's engine (migrated, the needs seeded); dropped at the end."""
    with fresh_database(database_url, EMPTY_DATABASE, _needs) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _needs(engine: Engine) -> None:
    with unit_of_work(sessionmaker(engine)) as session:
        seed_needs(session, DEFAULT_SEED_DIR / "needs.yaml")


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Session]:
    """A session whose work is undone at the end: the database stays empty for the next test."""
    with engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        with factory() as session:
            yield session
        outer.rollback()


def differences(first: dict[str, bytes], second: dict[str, bytes], limit: int = 40) -> str:
    """The lines that differ between two packages' files, as a unified diff."""
    lines: list[str] = []
    for name in sorted(set(first) | set(second)):
        a = first.get(name, b"").decode().splitlines()
        b = second.get(name, b"").decode().splitlines()
        lines += difflib.unified_diff(a, b, f"first/{name}", f"second/{name}", lineterm="", n=0)
    return "\n".join(lines[:limit])


def without_last_modified(files: dict[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """The package with services' ``last_modified`` blanked, and the values it had: the time
    our copy of a listing last changed, which an import rightly sets anew."""
    text = files["services.csv"].decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    column = rows[0].index("last_modified")
    times = [row[column] for row in rows[1:]]
    for row in rows[1:]:
        row[column] = ""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return files | {"services.csv": out.getvalue().encode()}, times


# What HSDS cannot carry (the export leaves it out or changes its form): see directory.hsds.tables.
NOT_CARRIED = {
    "version",
    "created_at",
    "updated_at",
    "verification",  # only its date travels (assured_date); who checked it is a staff email
    "capacity_status",
    "capacity_updated_at",
    "verification_method",
    "verification_note",
    "crisis_channels",  # their call and text numbers travel as phones
    "provenance",
    "demo",  # a demo listing is one the demo seed holds (by its provenance)
    "curation_status",  # only published listings leave
}


def comparable(listing: dict[str, Any]) -> dict[str, Any]:
    """A listing's read form without what HSDS cannot carry: parts' ids (derived anew), the
    order of its lists (HSDS rows have none), a phone's number as printed (its E.164 form
    travels), whether a need was inferred, an approximate point (found again from the ZIP)."""
    kept = {k: _unordered(v) for k, v in listing.items() if k not in NOT_CARRIED}
    kept["needs"] = sorted(need["code"] for need in listing["needs"])
    kept["verified_on"] = str((listing.get("verification") or {}).get("last_verified_at"))[:10]
    return kept


def _unordered(value: Any) -> Any:
    if isinstance(value, list):
        return sorted((_unordered(v) for v in value), key=repr)
    if isinstance(value, dict):
        left_out = PHONE_FIELDS if "tel_uri" in value else PART_FIELDS
        return {k: _unordered(v) for k, v in value.items() if k not in left_out}
    return value


PART_FIELDS = {"id", "service_at_location_id"}
# A phone's number as printed travels as its E.164 form, whose country code is all it says of
# its country (+1 877 is the US's and Canada's).
PHONE_FIELDS = PART_FIELDS | {"number", "country"}
