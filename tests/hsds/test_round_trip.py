"""The round trip: listings (seeded and imported from real files) exported as HSDS 3.0, imported
into an empty database, exported again: the same bytes, and the same listings as far as HSDS
carries them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from directory.hsds.export import export_hsds
from directory.hsds.tables import read_tables
from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.ingest.report import ImportReport
from directory.listings.queries import read_services
from tests.hsds.package import package_files, table_rows
from tests.hsds.roundtrip import (
    comparable,
    differences,
    empty_database,
    rolled_back,
    without_last_modified,
)
from tests.hsds.test_tables import check_tables
from tests.ingest.test_datasets import _subset_locator

REAL_FILES = ("hsds3-spec-examples/csv", "hsds1-sample-package", "hsds1-ilao")


@pytest.fixture(scope="module")
def empty(database_url: str, engine: Engine) -> Iterator[Engine]:
    with empty_database(database_url) as second:
        yield second


def import_file(session: Session, path: Path, source: str, fmt: str = "hsds") -> ImportReport:
    report = run_import(session, resolve(fmt, path), path, source=source)
    session.flush()
    return report


@pytest.fixture
def real_listings(session: Session, datasets_dir: Path, tmp_path: Path) -> Session:
    """The seeded database with real files imported (published, as imports are): HSDS 3.0 and
    1.x packages, and Vermont's rows of the SAMHSA locator (geocoded)."""
    for name in REAL_FILES:
        report = import_file(session, datasets_dir / name, f"hsds:{name.split('/')[0]}")
        assert report.loaded(), name
    vermont = _subset_locator(datasets_dir, tmp_path, "VT")
    assert import_file(session, vermont, "samhsa:vt", "samhsa-locator").loaded()
    return session


# What an import leaves out of our own export, by design: the listing's last change is when our
# copy changed, and needs link to our own taxonomy's terms by code (seeded, not imported).
NOT_IMPORTED = {
    ("services.csv", "last_modified"),
    ("attributes.csv", "value"),
    ("taxonomies.csv", None),
    *(("taxonomy_terms.csv", column) for column in ("description", "parent_id", "taxonomy_id")),
}


def assert_clean(report: ImportReport, files: dict[str, bytes]) -> None:
    """No row rejected, nothing ignored, no warning but the one a location without a point
    and of a ZIP we do not know always gets (the original import warned of it too)."""
    assert report.rejected_count == 0, report.rejected
    ignored = {(item.file, item.column) for item in report.ignored}
    assert ignored <= NOT_IMPORTED, ignored - NOT_IMPORTED
    countries = {row["location_id"]: row["country"] for row in table_rows(files, "addresses")}
    pointless = [
        row
        for row in table_rows(files, "locations")
        if row["latitude"] is None
        and row["location_type"] == "physical"
        and countries.get(row["id"], "US") == "US"
    ]
    assert set(report.warnings) <= {"postal_code: no coordinates and no known ZIP"}
    assert report.warnings.total() <= len(pointless)  # a PO box is no place to warn of


@pytest.mark.parametrize("name", ["package", "package.zip"])
def test_export_import_export_is_the_same_bytes(
    real_listings: Session, empty: Engine, tmp_path: Path, name: str
) -> None:
    first = tmp_path / "first" / name
    export_hsds(real_listings, first)
    with rolled_back(empty) as session:
        report = import_file(session, first, "hsds:round-trip")
        assert_clean(report, package_files(first))
        second = tmp_path / "second" / name
        export_hsds(session, second)
    before, earlier = without_last_modified(package_files(first))
    after, later = without_last_modified(package_files(second))
    assert differences(before, after) == ""
    assert all(b >= a for a, b in zip(earlier, later, strict=True))


def test_ndjson_export_import_export_is_the_same(
    real_listings: Session, empty: Engine, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.ndjson", tmp_path / "second.ndjson"
    export_hsds(real_listings, first)
    with rolled_back(empty) as session:
        report = import_file(session, first, "hsds:round-trip")
        assert report.rejected_count == 0, report.rejected
        assert set(report.warnings) <= {"postal_code: no coordinates and no known ZIP"}
        export_hsds(session, second)
    before, after = first.read_bytes().splitlines(), second.read_bytes().splitlines()
    assert len(before) == len(after) == report.loaded()
    for old, new in zip(before, after, strict=True):
        a, b = json.loads(old), json.loads(new)
        assert b.pop("last_modified") >= a.pop("last_modified")
        assert a == b


def test_listings_read_back_the_same(real_listings: Session, empty: Engine, tmp_path: Path) -> None:
    """Through our own read schemas, as far as HSDS carries a listing (``NOT_CARRIED``)."""
    first = tmp_path / "first"
    export_hsds(real_listings, first)
    ids = [uuid.UUID(row["id"]) for row in table_rows(package_files(first), "services")]
    crisis_phones = {
        (str(listing.id), channel.e164 or channel.number)
        for listing in read_services(real_listings, ids, staff=True)
        for channel in listing.crisis_channels
        if channel.channel != "chat"
    }
    before = [listing.model_dump(mode="json") for listing in read_services(real_listings, ids)]
    with rolled_back(empty) as session:
        import_file(session, first, "hsds:round-trip")
        after = [listing.model_dump(mode="json") for listing in read_services(session, ids)]
    for old, new in zip(before, after, strict=True):
        added = [
            phone
            for phone in new["phones"]
            if (old["id"], phone["e164"] or phone["number"]) in crisis_phones
            and phone["e164"] not in {p["e164"] for p in old["phones"]}
        ]
        new["phones"] = [phone for phone in new["phones"] if phone not in added]
        assert comparable(new) == comparable(old), old["name"]


def test_real_listings_are_valid_hsds(real_listings: Session, hsds_spec: Path) -> None:
    tables = read_tables(real_listings)
    check_tables(tables, hsds_spec)
    assert len(tables["services"]) > 500
