"""Every real dataset imports into PostGIS, twice, and searches find what it brought."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.ingest.records import FormatError, Ignored
from directory.ingest.report import ImportReport

FILES = {
    "crisis-lines-wikipedia/suicide-hotlines.json": "crisis-lines",
    "hsds1-ilao": "hsds",
    "hsds1-sample-package": "hsds",
    "hsds3-spec-examples/csv": "hsds",
    "hsds3-spec-examples/json/service_full.json": "hsds",
    "hsds3-spec-examples/json/organization_full.json": "hsds",
    "hsds3-spec-examples/json/service_list.json": "hsds",
    "hsds3-spec-examples/json/service_at_location_full.json": "hsds",
}
DIRECTORY = "samhsa-mh-directory-2022/National_Directory_MH_Facilities_2022.xlsx"
LOCATOR = "samhsa-locator-geocoded/MentalHealthProviders_Geocoded.csv"


def load(session: Session, path: Path, source: str, **options: bool) -> ImportReport:
    return run_import(session, resolve("auto", path), path, source=source, **options)


@pytest.mark.parametrize(("name", "expected_format"), FILES.items())
def test_each_dataset_loads_and_a_second_import_changes_nothing(
    session: Session, datasets_dir: Path, name: str, expected_format: str
) -> None:
    path = datasets_dir / name
    assert resolve("auto", path).name == expected_format
    first = load(session, path, f"test:{name}")
    assert first.counts["created"] >= 1
    assert first.counts["created"] + len(first.rejected) >= first.read
    for rejection in first.rejected:
        assert rejection.reason and rejection.row >= 1 and rejection.file
    again = load(session, path, f"test:{name}")
    assert (again.counts["created"], again.counts["updated"]) == (0, 0)
    assert again.counts["unchanged"] == first.counts["created"]


def test_ilao_hours_and_blank_ids(session: Session, datasets_dir: Path) -> None:
    report = load(session, datasets_dir / "hsds1-ilao", "test:ilao")
    assert report.counts["created"] == 429
    structured = session.scalar(
        text("SELECT count(*) FROM schedule WHERE freq = 'WEEKLY' AND opens_at IS NOT NULL")
    )
    assert structured is not None and structured > 100


def test_crisis_lines_answer_crisis_and_suicide_prevention(
    session: Session, datasets_dir: Path, client: TestClient, coordinator: dict[str, str]
) -> None:
    load(session, datasets_dir / "crisis-lines-wikipedia/suicide-hotlines.json", "test:wiki")
    for need in ("suicide-prevention", "crisis"):
        names: set[str] = set()
        for page_number in (1, 2, 3):
            page = client.get(
                "/v1/services",
                headers=coordinator,
                params={"need": need, "per_page": 100, "page": page_number},
            ).json()
            names |= {item["name"] for item in page["items"]}
        assert page["total"] > 100  # the seed's lines and the international list's
        assert "988 Suicide & Crisis Lifeline" in names  # the curated seed
        assert "Samaritans (United Kingdom)" in names or any("Samaritans" in n for n in names)
        assert "Telefonseelsorge" in names  # from the international list


def _subset_locator(datasets_dir: Path, folder: Path, state: str) -> Path:
    lines = (datasets_dir / LOCATOR).read_text(encoding="utf-8").splitlines(keepends=True)
    keep = [lines[0]] + [line for line in lines[1:] if f',"{state}",' in line]
    path = folder / f"locator-{state}.csv"
    path.write_text("".join(keep), encoding="utf-8")
    return path


def _subset_directory(datasets_dir: Path, folder: Path, state: str) -> Path:
    source = openpyxl.load_workbook(datasets_dir / DIRECTORY, read_only=True)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Facilities List"
    for index, row in enumerate(source["Facilities List"].iter_rows(values_only=True)):
        if index == 0 or row[5] == state:
            sheet.append(list(row))
    codes = book.create_sheet("Service Code Reference")
    for row in source["Service Code Reference"].iter_rows(values_only=True):
        codes.append(list(row))
    path = folder / f"directory-{state}.xlsx"
    book.save(path)
    return path


def test_the_two_samhsa_files_merge(session: Session, datasets_dir: Path, tmp_path: Path) -> None:
    locator = load(session, _subset_locator(datasets_dir, tmp_path, "VT"), "test:locator")
    directory = load(session, _subset_directory(datasets_dir, tmp_path, "VT"), "test:directory")
    total = locator.counts["created"] + directory.counts["created"] + directory.counts["merged"]
    listings = session.scalar(
        text("SELECT count(DISTINCT service_id) FROM provenance WHERE source LIKE 'test:%'")
    )
    assert directory.counts["merged"] > 10
    assert listings == locator.counts["created"] + directory.counts["created"] < total
    merged = directory.merges[0]
    assert merged["rule"].startswith("name ")
    both = session.execute(
        text(
            "SELECT l.latitude, l.coordinates_approximate, "
            "  (SELECT count(*) FROM attribute a WHERE a.link_id = s.id), "
            "  (SELECT array_agg(p.source ORDER BY p.source) FROM provenance p "
            "   WHERE p.service_id = s.id) "
            "FROM service s JOIN service_at_location sal ON sal.service_id = s.id "
            "JOIN location l ON l.id = sal.location_id "
            "WHERE s.id = :id AND l.location_type = 'physical'"
        ),
        {"id": merged["service_id"]},
    ).one()
    latitude, approximate, needs, sources = both
    assert latitude is not None and approximate is False  # the locator's geocoded point
    assert needs >= 2  # the directory's service codes
    assert sources == ["test:directory", "test:locator"]
    again = load(session, _subset_directory(datasets_dir, tmp_path, "VT"), "test:directory")
    assert (again.counts["created"], again.counts["updated"], again.counts["merged"]) == (0, 0, 0)


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("crisis-lines", b'{"Algeria": {"raw_html": "<ul>'),
        ("crisis-lines", b""),
        ("hsds", b'{"id": "x", "name": '),
        ("samhsa-locator", "name1,street1\nÉ,x\n".encode("latin-1")),
        ("samhsa-directory", b"PK\x03\x04 truncated zip"),
    ],
)
def test_a_broken_file_of_each_format_fails_with_one_clear_message(
    session: Session, tmp_path: Path, fmt: str, content: bytes
) -> None:
    """Unreadable before anything is written; test_load shows a late failure commits nothing."""
    suffix = {
        "crisis-lines": ".json",
        "hsds": ".json",
        "samhsa-locator": ".csv",
        "samhsa-directory": ".xlsx",
    }[fmt]
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(content)
    with pytest.raises(FormatError) as raised:
        run_import(session, resolve(fmt, path), path, source="test:broken")
    assert "broken" in raised.value.detail
    assert "\n" not in raised.value.detail.strip()


# What each real file holds that the import does not take in: named, never silent.
IGNORED = {
    "crisis-lines-wikipedia/suicide-hotlines.json": set(),  # every key is read
    "hsds1-ilao": set(),  # every column with a value is read (wait_time, licenses... are blank)
    "hsds1-sample-package": {
        ("funding.csv", None), ("programs.csv", None), ("required_documents.csv", None),
        ("organizations.csv", "tax_id"), ("services.csv", "wait_time"), ("phones.csv", None),
    },
    "hsds3-spec-examples/csv": {
        ("organization_identifiers.csv", None), ("services.csv", "accreditations"),
        ("locations.csv", "external_identifier"), ("service_areas.csv", "extent"),
    },
    "hsds3-spec-examples/json/service_full.json": {
        ("service_full.json", "services.funding"), ("service_full.json", "phones.languages"),
    },
    DIRECTORY: {("National_Directory_MH_Facilities_2022.xlsx Service Code Reference", None)},
    LOCATOR: {
        ("MentalHealthProviders_Geocoded.csv", "county"),
        ("MentalHealthProviders_Geocoded.csv", "(unnamed column)"),
    },
}  # fmt: skip


@pytest.mark.parametrize(("name", "expected"), IGNORED.items())
def test_each_dataset_report_names_what_it_ignored(
    datasets_dir: Path, name: str, expected: set[tuple[str, str | None]]
) -> None:
    path = datasets_dir / name
    report = ImportReport("test", "test", name)
    for item in resolve("auto", path).read(path):
        if isinstance(item, Ignored):
            report.ignore(item)
    named = {(i.file, i.column) for i in report.ignored}
    assert expected <= named
    assert all(i.rows > 0 for i in report.ignored)
    summary = "\n".join(report.summary())
    if expected:
        assert f"{len(report.ignored)} tables or columns not imported" in summary
    else:
        assert report.ignored == []
        assert "nothing ignored" in summary
