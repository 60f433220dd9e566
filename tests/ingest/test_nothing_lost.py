"""Nothing in a real file is silently lost: ignored tables and columns are named with their row
counts, contacts and holiday hours are imported, languages and phones written as free text are
read, P.O. boxes are postal addresses, export debris is cleaned, and lost hours raise an alarm."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from directory.ingest.common import phone_entry, tidy
from directory.ingest.formats import resolve
from directory.ingest.formats.hsds import FORMAT
from directory.ingest.formats.hsds_tabular import read_package
from directory.ingest.load import run_import
from directory.ingest.mappings import language_entries
from directory.ingest.records import Ignored, Normalised, SourceRecord
from directory.listings.models import Provenance
from directory.listings.queries import read_service
from directory.listings.read_schemas import ScheduleRead
from directory.search import service as search_service
from directory.search.documents import hours_text
from directory.search.query import SearchQuery
from directory.search.sync import sync_batch
from tests.ingest.test_hsds import write

PACKAGE = {
    "organizations.csv": "id,name,tax_id\no1,Helping Hands,12-345\no2,Other Org,\n",
    "services.csv": (
        "id,organization_id,name,description,wait_time\n"
        's1,o1,Peer Support Group,"Weekly groups.\\nBring a friend.<br>All <b>welcome</b>'
        ' &amp; free",2 weeks\n'
        "s2,o1,Warmline,,\n"
    ),
    "locations.csv": "id,organization_id,name\nl1,o1,Main office\nl2,o1,Mailing\n",
    "service_at_location.csv": "id,service_id,location_id\nsal1,s1,l1\nsal2,s2,l2\n",
    "physical_addresses.csv": (
        "id,location_id,address_1,city,state_province,postal_code,country\n"
        "a1,l1,1 Main St,Tampa,FL,33602,US\n"
        "a2,l2,P.O. Box 1234,Tampa,FL,33601,US\n"
    ),
    "phones.csv": (
        "id,service_id,location_id,organization_id,contact_id,number,extension\n"
        "p1,s1,,,,(813) 555-0100 x239,\n"
        "p2,s2,,,,(813) 555-0101 xOPT2,\n"
        "p3,,,o2,,(813) 555-0102,\n"
        "p4,,,,c1,(813) 555-0103,12\n"
    ),
    "contacts.csv": (
        "id,organization_id,service_id,location_id,name,title,department,email\n"
        "c1,o1,s1,,Ana Ruiz,Intake coordinator,Intake,ana@example.org\n"
        "c2,o2,,,Board chair,,,\n"
        "c3,o1,,l1,Front desk,,,\n"
    ),
    "languages.csv": (
        'id,service_id,language\nlg1,s1,English. Spanish\nlg2,s2,"Haitian-Creole\nFrench"\n'
    ),
    "regular_schedules.csv": (
        "id,service_id,weekday,opens_at,closes_at,original_text\n"
        'r1,s1,,,,"9:00am-4:00pm, Mon-Fri"\n'
        "r2,s2,,,,By appointment\n"
    ),
    "holiday_schedules.csv": (
        "id,service_id,closed,opens_at,closes_at,start_date,end_date\n"
        "h1,s1,true,,,2026-12-24,2026-12-26\n"
    ),
    "programs.csv": "id,organization_id,name\npr1,o1,A program\npr2,o1,Another\n",
}


def package(tmp_path: Path, **changes: str) -> Path:
    return write(tmp_path / "pkg", {**PACKAGE, **changes})


def records(folder: Path) -> dict[str, SourceRecord]:
    return {i.external_id: i for i in read_package(folder) if isinstance(i, SourceRecord)}


def test_ignored_tables_columns_and_rows_are_named_with_counts(tmp_path: Path) -> None:
    ignored = [i for i in read_package(package(tmp_path)) if isinstance(i, Ignored)]
    found = {(i.file, i.column): i.rows for i in ignored}
    assert found[("programs.csv", None)] == 2  # a table we do not read
    assert found[("services.csv", "wait_time")] == 1  # a column, counted where it has a value
    assert found[("organizations.csv", "tax_id")] == 1
    assert found[("phones.csv", None)] == 1  # the phone of an organization only
    assert found[("contacts.csv", None)] == 1  # c2 is an organization's, not a service's
    assert ("services.csv", "description") not in found  # used columns are not named


def test_the_report_prints_what_was_ignored(session: Session, tmp_path: Path) -> None:
    folder = package(tmp_path)
    report = run_import(session, resolve("hsds", folder), folder, source="test:truth")
    lines = "\n".join(report.summary())
    assert "programs.csv: 2 rows ignored (not a table this importer reads)" in lines
    assert "services.csv column 'wait_time': 1 row ignored (column not imported)" in lines
    assert report.to_json()["ignored"][0]["file"] == "programs.csv"
    assert "hours: 2 rows, 1 holiday, 1 parsed, 1 text" in lines


def test_contacts_and_their_phones_are_imported(session: Session, tmp_path: Path) -> None:
    folder = package(tmp_path)
    run_import(session, resolve("hsds", folder), folder, source="test:truth")
    service_id = session.query(Provenance.service_id).filter_by(external_id="s1").scalar()
    service = read_service(session, service_id, published_only=False)
    contact, desk = service.contacts  # the service's, then its site's
    assert desk.name == "Front desk"
    assert (contact.name, contact.title, contact.email) == (
        "Ana Ruiz",
        "Intake coordinator",
        "ana@example.org",
    )
    assert [(p.display, p.extension) for p in contact.phones] == [("(813) 555-0103", "12")]


def test_free_text_hours_and_holidays(tmp_path: Path) -> None:
    doc = FORMAT.normalise(records(package(tmp_path))["s1"].raw).doc
    weekly, holiday = doc["schedules"]
    assert (weekly["byday"], weekly["opens_at"], weekly["closes_at"]) == (
        "MO,TU,WE,TH,FR",
        "09:00",
        "16:00",
    )
    assert weekly["description"] == "9:00am-4:00pm, Mon-Fri"  # the text is kept
    assert holiday["valid_from"] == "2026-12-24" and "freq" not in holiday
    other = FORMAT.normalise(records(package(tmp_path))["s2"].raw)
    assert other.doc["schedules"] == [{"description": "By appointment"}]
    assert other.tallies["hours: text"] == 1


def test_hours_that_all_vanish_raise_an_alarm(session: Session, tmp_path: Path) -> None:
    folder = package(
        tmp_path,
        **{
            "regular_schedules.csv": (
                "id,service_id,weekday,opens_at,closes_at\nr1,s1,Funday,9:00,17:00\n"
                "r2,s2,Someday,10:00,12:00\n"
            ),
            "holiday_schedules.csv": "id,service_id\n",
        },
    )
    report = run_import(session, resolve("hsds", folder), folder, source="test:truth")
    assert report.alarms() == ["WARNING: 2 opening-hours rows read and none kept: check the hours"]
    assert report.summary()[-1] == report.alarms()[0]


def test_languages_written_as_free_text(tmp_path: Path) -> None:
    found = records(package(tmp_path))
    assert FORMAT.normalise(found["s1"].raw).doc["languages"] == [{"code": "en"}, {"code": "es"}]
    assert FORMAT.normalise(found["s2"].raw).doc["languages"] == [{"code": "ht"}, {"code": "fr"}]


@pytest.mark.parametrize(
    ("written", "codes"),
    [
        ("English. Spanish", ["en", "es"]),
        ("Haitian-Creole", ["ht"]),
        ("English\nSpanish\nVietnamese", ["en", "es", "vi"]),
        ("English Spanish", ["en", "es"]),
        ("Spanish; spanish", ["es"]),
        ("Spanish (limited)", ["es"]),
        ("English, Klingonese", None),
    ],
)
def test_language_lists(written: str, codes: list[str] | None) -> None:
    found = language_entries(written)
    assert (None if found is None else [e["code"] for e in found]) == codes


@pytest.mark.parametrize(
    ("written", "number", "extension"),
    [
        ("(813) 555-0100 x239", "(813) 555-0100", "239"),
        ("(813) 555-0100 xOPT2", "(813) 555-0100", "OPT2"),
        ("813-555-0100 ext. 12", "813-555-0100", "12"),
        ("813-555-0100 Ext: 4", "813-555-0100", "4"),
        ("813-555-0100, option 2", "813-555-0100", "option 2"),
        ("813-555-0100", "813-555-0100", None),
    ],
)
def test_phone_extensions_are_kept_as_text(
    written: str, number: str, extension: str | None
) -> None:
    result = Normalised({})
    entry = phone_entry(written, result, "phones")
    assert entry is not None and result.warnings == []
    assert (entry["number"], entry.get("extension")) == (number, extension)


def test_a_po_box_is_a_postal_address_not_a_site(session: Session, tmp_path: Path) -> None:
    folder = package(tmp_path)
    report = run_import(session, resolve("hsds", folder), folder, source="test:truth")
    assert report.tallies["addresses: P.O. boxes kept as postal, not as sites"] == 1
    service_id = session.query(Provenance.service_id).filter_by(external_id="s2").scalar()
    [mailing] = read_service(session, service_id, published_only=False).locations
    assert mailing.location_type == "postal"
    assert mailing.latitude is None  # no ZIP centre pin for a post-office box
    assert mailing.addresses[0].address_type == "postal"
    other = session.query(Provenance.service_id).filter_by(external_id="s1").scalar()
    [site] = read_service(session, other, published_only=False).locations
    assert site.location_type == "physical" and site.latitude is not None


def test_export_debris_is_cleaned(tmp_path: Path) -> None:
    doc = FORMAT.normalise(records(package(tmp_path))["s1"].raw).doc
    assert doc["description"] == "Weekly groups.\nBring a friend.\nAll welcome & free"
    assert tidy("age <5 years & up") == "age <5 years & up"  # not markup: left alone


def test_hsds_json_names_the_keys_it_does_not_read(datasets_dir: Path) -> None:
    path = datasets_dir / "hsds3-spec-examples/json/service_full.json"
    items = list(resolve("hsds", path).read(path))
    found = {i.column: i.rows for i in items if isinstance(i, Ignored)}
    assert found["services.wait_time"] == 1
    assert found["phones.languages"] >= 1  # a phone's languages: nested, and still named
    assert found["organizations.funding"] == 1
    assert "services.name" not in found and "locations.name" not in found
    [record] = [i for i in items if isinstance(i, SourceRecord)]
    assert FORMAT.normalise(record.raw).doc["contacts"]  # service, site and location contacts


def test_a_po_box_listing_is_never_a_site_in_search(session: Session, tmp_path: Path) -> None:
    folder = package(tmp_path)
    run_import(session, resolve("hsds", folder), folder, source="test:truth")
    while sync_batch(session):
        pass
    tampa = SearchQuery(postcode="33602", radius_km=10, per_page=100)
    found = {item.name: item for item in search_service.search(session, tampa).items}
    assert found["Peer Support Group"].match == "near"  # 1 Main St, at its ZIP centre
    assert found["Peer Support Group"].distance_km is not None
    # the Warmline's only address is a P.O. box: it serves its state, it is not a place to go
    assert found["Warmline"].match == "serves_area" and found["Warmline"].distance_km is None


def schedule(**fields: Any) -> ScheduleRead:
    blank = dict.fromkeys(ScheduleRead.model_fields) | {"id": uuid.uuid4()}
    return ScheduleRead.model_validate(blank | fields)


def test_hours_text_shows_each_schedule_and_drops_holidays_that_are_over() -> None:
    weekly = schedule(freq="WEEKLY", byday="MO,TU", opens_at="09:00", closes_at="17:00")
    closed = schedule(
        valid_from="2026-12-24",
        valid_to="2026-12-26",
        description="Closed 2026-12-24 to 2026-12-26",
    )
    before = hours_text([weekly, closed], today=dt.date(2026, 12, 1))
    assert before == "MO,TU 09:00-17:00; Closed 2026-12-24 to 2026-12-26"
    assert hours_text([weekly, closed], today=dt.date(2027, 1, 2)) == "MO,TU 09:00-17:00"
