"""An import's memory does not grow with the size of the package's rows: the tabular HSDS reader
keeps the child rows it has indexed on disk (only their places in memory), and the loader
remembers a digest per place, not the place's text. Measured with tracemalloc (Python's own
allocations), on packages of N and 4N services whose rows carry long texts."""

from __future__ import annotations

import csv
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

from directory.ingest.formats.hsds_tabular import read_package
from directory.ingest.merge import Merger, place_key

TEXT = "Peer-run support groups, counseling and help finding housing for adults and families. " * 8
SMALL, BIG = 200, 800
TABLES = {
    "organizations.csv": ("id", "name", "description"),
    "services.csv": ("id", "organization_id", "name", "description"),
    "locations.csv": ("id", "organization_id", "name", "description"),
    "service_at_location.csv": ("id", "service_id", "location_id", "description"),
    "addresses.csv": ("id", "location_id", "address_1", "city", "postal_code", "attention"),
    "phones.csv": ("id", "service_id", "number", "description"),
    "languages.csv": ("id", "service_id", "name", "note"),
    "schedules.csv": ("id", "service_id", "byday", "opens_at", "closes_at", "description"),
}


def package(folder: Path, n: int) -> Path:
    """A package of ``n`` services, each with an organization, a site and child rows."""
    folder.mkdir()
    handles = {name: (folder / name).open("w", newline="") for name in TABLES}
    writers = {name: csv.writer(handle) for name, handle in handles.items()}
    for name, header in TABLES.items():
        writers[name].writerow(header)
    for i in range(n):
        org, svc, loc, sal = (str(uuid.uuid4()) for _ in range(4))
        writers["organizations.csv"].writerow((org, f"Org {i}", TEXT))
        writers["services.csv"].writerow((svc, org, f"Service {i}", TEXT))
        writers["locations.csv"].writerow((loc, org, f"Site {i}", TEXT))
        writers["service_at_location.csv"].writerow((sal, svc, loc, TEXT))
        row = (uuid.uuid4(), loc, f"{i} Main St", "Springfield", "62701", TEXT)
        writers["addresses.csv"].writerow(row)
        for _ in range(2):
            writers["phones.csv"].writerow((uuid.uuid4(), svc, "217-555-0100", TEXT))
            writers["languages.csv"].writerow((uuid.uuid4(), svc, "Spanish", TEXT))
        writers["schedules.csv"].writerow((uuid.uuid4(), svc, "MO,TU", "09:00", "17:00", TEXT))
    for handle in handles.values():
        handle.close()
    return folder


def peak(work: Callable[[], object]) -> int:
    """The most Python memory ``work`` held at once, in bytes."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_a_package_keeps_its_rows_out_of_memory(tmp_path: Path) -> None:
    small, big = package(tmp_path / "small", SMALL), package(tmp_path / "big", BIG)
    size = sum(p.stat().st_size for p in big.iterdir()) / BIG  # about 6 KB of rows a service

    def read(folder: Path) -> Callable[[], object]:
        return lambda: sum(1 for _ in read_package(folder))  # streamed, as the loader does

    per_service = (peak(read(big)) - peak(read(small))) / (BIG - SMALL)
    assert per_service < size / 4, f"{per_service:.0f} bytes a service for {size:.0f} of rows"


def test_a_place_is_remembered_as_a_digest() -> None:
    def remember(n: int) -> Callable[[], object]:
        def work() -> Merger:
            merger = Merger("b", None)
            for i in range(n):
                key = place_key(f"Service {i} {TEXT}", TEXT, f"{i} Main St {TEXT}", TEXT, "62701")
                merger.remember([key], uuid.uuid4(), i)
            return merger

        return work

    per_place = (peak(remember(BIG)) - peak(remember(SMALL))) / (BIG - SMALL)
    assert per_place < 600, f"{per_place:.0f} bytes a place"  # the texts: over 2,000
