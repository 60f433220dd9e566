"""Ohana API's CSV export: small exports written here with the columns of ohana-api's
``app/views/admin/csv/*.csv.shaper`` and rows in the shape of its ``data/sample-csv/``."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from directory.ingest.formats import hsds, ohana, resolve
from directory.ingest.load import run_import
from directory.ingest.records import FormatError, Ignored, Rejection, SourceRecord
from directory.listings.schemas import ServiceCreate

FORMAT = ohana.FORMAT

EXPORT = {
    "organizations.csv": (
        "id,accreditations,alternate_name,date_incorporated,description,email,funding_sources,"
        "legal_status,licenses,name,tax_id,tax_status,website\n"
        '1,"",,,"Peninsula Family Service strengthens the community.",,"",,"",'
        "Peninsula Family Service,,,\n"
        '8,"BBB, State Board of Education",Alternate Agency Name,"January 01, 1970",'
        'Sample organization description.,info@example.org,"State, Donations, Grants",Nonprofit,'
        '"State Health Inspection License",Example Agency,,,http://example.org\n'
    ),
    "locations.csv": (
        "id,organization_id,accessibility,admin_emails,alternate_name,description,email,"
        "languages,latitude,longitude,name,short_desc,transportation,website,virtual\n"
        '1,1,"disabled_parking, ramp, restroom, wheelchair","",,A walk-in center for older '
        'adults.,,"Spanish, Tagalog",37.477227,-122.213221,Fair Oaks Adult Activity Center,'
        "A multipurpose senior center.,SAMTRANS stops in front.,,false\n"
        '3,1,"","",,,,"Chinese (Cantonese), Tagalog",37.5639843,-122.3257992,'
        "Senior Peer Counseling,Offers supportive counseling to older persons.,,,false\n"
        "22,8,cd,admin@example.org,,Example location,,,37.5,-122.3,Example Location,,,"
        "http://example.org/location,false\n"
        "30,8,,,,A location with no service,,,37.5,-122.3,Storage,,,,false\n"
    ),
    "services.csv": (
        "id,location_id,program_id,accepted_payments,alternate_name,application_process,"
        "audience,description,eligibility,email,fees,funding_sources,interpretation_services,"
        "keywords,languages,name,required_documents,service_areas,status,wait_time,website,"
        "taxonomy_ids\n"
        '1,1,,"",,Walk in or apply by phone.,Older adults age 55 or over,A walk-in center.,'
        'Age 55 or over,,$2.50 suggested donation,,,"Senior Centers, Older Adults","",'
        'Fair Oaks Adult Activity Center,"",Colma,active,No wait.,,""\n'
        "3,3,,,,Phone for information.,,Supportive counseling.,Resident of San Mateo County,,"
        'None.,"County, Donations",,,"",Senior Peer Counseling,"","San Mateo County, Colma",'
        "active,Varies.,,108-07-07\n"
        '22,22,,"Cash, Check",,,,Passport help,,,,,,,Spanish,Passport Photos,,,active,,,\n'
        "40,404,,,,,,Lost its location,,,,,,,,Outreach Van,,,inactive,,,\n"
        "1,1,,,,,,,,,,,,,,Fair Oaks again,,,active,,,\n"
    ),
    "addresses.csv": (
        "id,location_id,address_1,address_2,city,state_province,postal_code,country\n"
        "1,1,2600 Middlefield Road,,Redwood City,CA,94063,US\n"
        "2,3,24 Second Avenue,Suite 2,San Mateo,CA,94401,US\n"
        "9,99,1 Nowhere,,Nowhere,CA,94000,US\n"
    ),
    "mail_addresses.csv": (
        "id,location_id,attention,address_1,address_2,city,state_province,postal_code,country\n"
        "1,,,,,,,,USA\n"
        "4,22,Ohana,3308 El Camino Ave,Suite 300-261,Arden-Arcade,CA,95821,USA\n"
    ),
    "phones.csv": (
        "id,contact_id,location_id,organization_id,service_id,country_prefix,department,"
        "extension,number,number_type,vanity_number\n"
        "1,,1,,,,,,650 780-7525,voice,\n"
        "2,,1,,,,,,650 701-0856,fax,\n"
        "41,29,,,,+1,Referrals,1200,650-555-1212,voice,\n"
        "53,,,8,,,Operations,101,650-555-1313,voice,\n"
        "54,32,,,,,Operations,,703-444-1234,fax,\n"
        "57,,,,22,,Passport Photos,123,650 372-6200,voice,650-372-PHOTO\n"
        "59,,,,22,,Passport Help via SMS,,650-222-5555,sms,\n"
        "45,,22,,,,Hotline,,800 372-6200,hotline,\n"
        "46,,22,,,,Rental Assistance,202,650 372-6201,tty,\n"
        "60,,,,77,,,,650 372-6202,voice,\n"
    ),
    "contacts.csv": (
        "id,location_id,organization_id,service_id,name,title,email,department\n"
        "1,1,,,Susan Houston,Director of Older Adult Services,,\n"
        "29,22,,,Suzanne Badenhoop,Board President,suzanne@example.com,Referrals\n"
        "32,,8,,Elizabeth Feeney,CEO,e.feeney@example.org,Operations\n"
        "36,,,22,Joe Smith,CalFresh Specialist,joe.smith@example.org,CalFresh Applications\n"
    ),
    "regular_schedules.csv": (
        "id,location_id,service_id,weekday,opens_at,closes_at\n"
        "1,22,,Monday,08:00,17:00\n"
        "2,22,,Tuesday,08:00,17:00\n"
        "8,,22,Wednesday,08:00,12:00\n"
    ),
    "holiday_schedules.csv": (
        "id,location_id,service_id,start_date,end_date,closed,opens_at,closes_at\n"
        '1,22,,"January 01, 0001","January 01, 0001",true,,\n'
        '2,22,,"December 24, 2015","December 24, 2015",false,10:00,16:00\n'
    ),
    "programs.csv": "id,organization_id,alternate_name,name\n1,8,,Example Program\n",
}


def write(folder: Path, files: Mapping[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def read(path: Path) -> tuple[dict[str, SourceRecord], list[Rejection], list[Ignored]]:
    items = list(FORMAT.read(path))
    records = {i.external_id: i for i in items if isinstance(i, SourceRecord)}
    rejected = [i for i in items if isinstance(i, Rejection)]
    return records, rejected, [i for i in items if isinstance(i, Ignored)]


def validated(record: SourceRecord) -> dict[str, Any]:
    doc = FORMAT.normalise(record.raw).doc
    ServiceCreate.model_validate({**doc, "provenance": {"source": "t", "external_id": "x"}})
    return doc


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write(tmp_path / "smc-ohana", EXPORT)


def test_an_ohana_export_is_recognised_and_not_read_as_hsds(export: Path, tmp_path: Path) -> None:
    assert resolve("auto", export).name == "ohana"
    assert FORMAT.detect(export) and not hsds.FORMAT.detect(export)
    archive = tmp_path / "ohana.zip"  # as ohana-api's CsvDownloader makes it: files at the root
    with zipfile.ZipFile(archive, "w") as handle:
        for name, content in EXPORT.items():
            handle.writestr(name, content)
    assert resolve("auto", archive).name == "ohana"
    assert [r.raw for r in read(archive)[0].values()] == [r.raw for r in read(export)[0].values()]
    hsds_package = write(tmp_path / "hsds", {"services.csv": "id,organization_id,name\n1,1,A\n"})
    assert not FORMAT.detect(hsds_package)


def test_services_join_their_location_and_organization(export: Path) -> None:
    records, _, _ = read(export)
    assert list(records) == ["1", "3", "22", "40"]
    fair_oaks = validated(records["1"])
    assert fair_oaks["organization"] == {
        "name": "Peninsula Family Service",
        "description": "Peninsula Family Service strengthens the community.",
    }
    assert fair_oaks["eligibility_description"] == (
        "Age 55 or over\n\nAudience: Older adults age 55 or over"
    )
    assert fair_oaks["fees_description"] == "$2.50 suggested donation"
    place = fair_oaks["locations"][0]
    assert (place["name"], place["latitude"], place["longitude"]) == (
        "Fair Oaks Adult Activity Center",
        37.477227,
        -122.213221,
    )
    assert place["address"] == {
        "address_1": "2600 Middlefield Road",
        "city": "Redwood City",
        "state_province": "CA",
        "postal_code": "94063",
        "country": "US",
        "address_type": "physical",
    }
    assert {a["code"] for a in place["accessibility"]} == {
        "accessible-parking",
        "wheelchair",
        "accessible-restroom",
    }
    assert [(p["number"], p["type"]) for p in place["phones"]] == [
        ("650 780-7525", "voice"),
        ("650 701-0856", "fax"),
    ]
    assert [c["code"] for c in fair_oaks["languages"]] == ["es", "tl"]
    assert fair_oaks["service_areas"] == [{"name": "Colma", "regions": []}]

    counseling = validated(records["3"])
    assert counseling["locations"][0]["description"] == (
        "Offers supportive counseling to older persons."  # short_desc, the description is blank
    )
    assert counseling["locations"][0]["address"]["address_2"] == "Suite 2"
    assert [a["name"] for a in counseling["service_areas"]] == ["San Mateo County", "Colma"]


def test_mail_addresses_phones_contacts_and_hours(export: Path) -> None:
    raw = read(export)[0]["22"].raw
    location = raw["service_at_locations"][0]["location"]
    assert location["addresses"] == [
        {
            "address_type": "postal",
            "attention": "Ohana",
            "address_1": "3308 El Camino Ave",
            "address_2": "Suite 300-261",
            "city": "Arden-Arcade",
            "state_province": "CA",
            "postal_code": "95821",
            "country": "USA",
        }
    ]
    assert [(h["start_date"], h["closed"]) for h in location["holiday_schedules"]] == [
        ("2015-12-24", "false"),
    ]
    # Ohana's "every year" (year 1) has no date to list: it is said in words beside the hours
    assert {"description": "Closed every year on January 1"} in location["regular_schedules"]
    assert raw["url"] == "http://example.org/location"  # the service has no website of its own
    assert raw["payments_accepted"] == [{"payment": "Cash"}, {"payment": "Check"}]
    contacts = raw["service_at_locations"][0]["contacts"]
    assert contacts[0]["phones"] == [
        {"number": "+1 650-555-1212", "extension": "1200", "type": "voice",
         "description": "Referrals"},
    ]  # fmt: skip
    assert [c["name"] for c in raw["contacts"]] == ["Joe Smith"]

    doc = validated(read(export)[0]["22"])
    assert doc["locations"][0]["address"]["address_type"] == "postal"
    assert doc["locations"][0]["address"]["country"] == "US"
    assert [(p["type"], p.get("description")) for p in doc["locations"][0]["phones"]] == [
        ("voice", "Hotline"),
        ("textphone", "Rental Assistance"),
    ]
    assert [(p["type"], p.get("extension")) for p in doc["phones"]] == [
        ("voice", "123"),
        ("text", None),
    ]
    weekly = [s for s in doc["locations"][0]["schedules"] if s.get("freq") == "WEEKLY"]
    assert weekly == [
        {"freq": "WEEKLY", "byday": "MO,TU", "opens_at": "08:00", "closes_at": "17:00"}
    ]
    assert doc["schedules"][0]["byday"] == "WE"


def test_rejections_and_warnings(export: Path) -> None:
    records, rejected, _ = read(export)
    assert sorted((r.file, r.row, r.field, r.reason) for r in rejected) == [
        ("addresses.csv", 4, "location_id", "no location with this id: '99'"),
        ("locations.csv", 5, None, "no service at this location: Ohana lists it, we list services"),
        ("mail_addresses.csv", 2, "location_id", "no location_id"),
        ("phones.csv", 11, "service_id", "no service with this id: '77'"),
        ("services.csv", 6, "id", "duplicate of row 2"),
    ]
    van = FORMAT.normalise(records["40"].raw)
    assert ("locations", "no location with this id: '404'") in van.warnings
    assert van.doc["organization"] == {"name": "Outreach Van"}
    assert van.doc["status"] == "inactive"


def test_what_is_not_imported_is_reported(export: Path) -> None:
    _, _, ignored = read(export)
    found = {(i.file, i.column): (i.rows, i.reason) for i in ignored}
    assert found[("programs.csv", None)] == (1, "not a table this importer reads")
    assert ("services.csv", "keywords") not in found  # needs are inferred from them
    assert found[("services.csv", "wait_time")] == (2, "column not imported")
    assert found[("locations.csv", "admin_emails")] == (1, "column not imported")
    assert found[("phones.csv", "vanity_number")] == (1, "column not imported")
    assert found[("organizations.csv", "legal_status")] == (1, "column not imported")
    assert found[("phones.csv", None)][0] == 2  # a phone of an organization, one of its contact
    assert found[("contacts.csv", None)][0] == 1
    assert ("services.csv", "languages") not in found and ("locations.csv", "email") not in found


def test_taxonomy_names_give_needs(export: Path) -> None:
    write(export, {"taxonomy.csv": (
        "taxonomy_id,name,parent_id,parent_name\n108,Care,,\n"
        "108-07,Support Network,108,Care\n108-07-07,Peer Support,108-07,Support Network\n"
    )})  # fmt: skip
    doc = validated(read(export)[0]["3"])
    assert "peer-support" in doc["needs"]  # from the term's name (others may be inferred)
    without = FORMAT.normalise(
        read(write(export, {"taxonomy.csv": "taxonomy_id,name\n"}))[0]["3"].raw
    )
    assert "peer-support" not in without.doc["needs"]
    assert ("needs", "unmapped taxonomy term: '108-07-07'") in without.warnings


def test_broken_exports(tmp_path: Path) -> None:
    folder = write(tmp_path / "p", {**EXPORT, "services.csv": "id,location_id,title\n1,1,x\n"})
    with pytest.raises(FormatError, match="no 'name' column"):
        list(FORMAT.read(folder))
    folder = write(tmp_path / "q", {"locations.csv": EXPORT["locations.csv"]})
    with pytest.raises(FormatError, match=r"no services\.csv"):
        list(FORMAT.read(folder))
    latin = write(tmp_path / "r", EXPORT)
    (latin / "phones.csv").write_bytes(b"id,location_id,number\n1,1,Caf\xe9\n")
    with pytest.raises(FormatError, match=r"phones.csv: not UTF-8"):
        list(FORMAT.read(latin))


def test_an_ohana_export_loads(session: Session, export: Path) -> None:
    report = run_import(session, resolve("auto", export), export, source="test:ohana")
    assert (report.read, report.counts["created"]) == (4, 4)
    assert any(i.file == "programs.csv" for i in report.ignored)
    assert "tables or columns not imported" in "\n".join(report.summary())
    again = run_import(session, resolve("auto", export), export, source="test:ohana")
    assert again.counts["unchanged"] == 4


def test_keywords_say_what_a_service_is_about() -> None:
    raw = {"name": "Outreach", "keywords": "ALCOHOLISM SERVICES, DRUG ABUSE SERVICES"}
    result = FORMAT.normalise(raw)
    assert result.doc["needs"] == result.doc["inferred_needs"] == ["substance-use"]
    assert FORMAT.normalise({"name": "Outreach"}).doc["needs"] == []
