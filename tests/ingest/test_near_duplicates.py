"""Issue 11: rows repeating a facility (same name and address, other phones or codes) merge into
one listing, in the database, for each format; re-imports and ``--full`` leave them be."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import text
from sqlalchemy.orm import Session

from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.ingest.merge import SAME_FILE, SAME_SOURCE
from directory.ingest.report import ImportReport

LOCATOR = "samhsa-locator-geocoded/MentalHealthProviders_Geocoded.csv"
DIRECTORY = "samhsa-mh-directory-2022/National_Directory_MH_Facilities_2022.xlsx"
LOCATOR_HEADER = [
    "", "name1", "name2", "street1", "street2", "city", "state", "zip", "zip4", "county",
    "phone", "intake_prompt", "intake1", "intake2", "website", "latitude", "longitude",
    "type_facility",
]  # fmt: skip
DIRECTORY_HEADER = [
    "name1", "name2", "street1", "street2", "city", "state", "zip", "phone", "intake1",
    "intake2", "intake1a", "intake2a", "service_code_info",
]  # fmt: skip


def facility(
    phone: str, codes: str = "MH", *, name: str = "Bay Clinic Inc", street2: str = ""
) -> dict[str, str]:
    """A locator row of the real file's shape (row index first, NA for missing, ZIP unpadded)."""
    return {
        "name1": name, "name2": "", "street1": "1 Main Street", "street2": street2,
        "city": "Waterbury", "state": "CT", "zip": "6708", "zip4": "NA", "county": "New Haven",
        "phone": phone, "intake_prompt": "", "intake1": "NA", "intake2": "", "website": "",
        "latitude": "41.5613412", "longitude": "-73.0638482", "type_facility": codes,
    }  # fmt: skip


def locator(path: Path, rows: list[dict[str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(LOCATOR_HEADER)
    for index, row in enumerate(rows, start=1):
        writer.writerow([str(index), *(row[column] for column in LOCATOR_HEADER[1:])])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def load(
    session: Session, path: Path, source: str = "test:near", *, full: bool = False
) -> ImportReport:
    return run_import(session, resolve("auto", path), path, source=source, full=full)


def listings(session: Session, source: str = "test:near") -> list[dict[str, Any]]:
    """Each listing of the source: status, phones, needs, links, sites."""
    rows = session.execute(
        text(
            "SELECT s.id, s.status, "
            "  (SELECT array_agg(p.e164 ORDER BY p.e164) FROM phone p WHERE p.service_id = s.id),"
            "  (SELECT array_agg(t.code ORDER BY t.code) FROM attribute a"
            "   JOIN taxonomy_term t ON t.id = a.taxonomy_term_id WHERE a.link_id = s.id),"
            "  (SELECT array_agg(v.external_id ORDER BY v.external_id) FROM provenance v"
            "   WHERE v.service_id = s.id),"
            "  (SELECT count(*) FROM service_at_location x WHERE x.service_id = s.id) "
            "FROM service s WHERE s.id IN (SELECT service_id FROM provenance WHERE source = :s) "
            "ORDER BY s.name, s.id"
        ),
        {"s": source},
    )
    return [
        {"id": i, "status": st, "phones": ph or [], "needs": ne or [], "links": li, "sites": si}
        for i, st, ph, ne, li, si in rows
    ]


def outcomes(report: ImportReport) -> dict[str, int]:
    found = {k: v for k, v in report.counts.items() if v}
    return found | ({"rejected": len(report.rejected)} if report.rejected else {})


# --- the locator CSV ----------------------------------------------------------------------------


def test_a_repeated_locator_row_merges_with_the_union_of_phones_and_needs(
    session: Session, tmp_path: Path
) -> None:
    path = locator(
        tmp_path / "locator.csv",
        [
            facility("860-276-3000", "MH"),
            facility("860-276-3999", "SA"),  # the same facility: other phone, other code
            facility("860-276-3000", name="Harbor Youth Services"),  # another name: its own
        ],
    )
    report = load(session, path)
    assert outcomes(report) == {"created": 2, "merged": 1}
    assert report.read == 3
    (merge,) = report.merges
    assert (merge["row"], merge["rule"], merge["same_as_row"]) == (3, SAME_FILE, 2)
    bay, harbor = listings(session)
    assert str(bay["id"]) == merge["service_id"]
    assert bay["phones"] == ["+18602763000", "+18602763999"]
    assert {"mental-health", "substance-use"} <= set(bay["needs"])
    assert len(bay["links"]) == 2 and bay["links"][1] == bay["links"][0] + "#2"
    assert bay["sites"] == 1  # one site, not one per row
    assert harbor["phones"] == ["+18602763000"] and len(harbor["links"]) == 1


def test_reimporting_changes_nothing_and_full_deactivates_nothing(
    session: Session, tmp_path: Path
) -> None:
    rows = [facility("860-276-3000"), facility("860-276-3999"), facility("860-276-3888")]
    path = locator(tmp_path / "locator.csv", rows)
    assert outcomes(load(session, path)) == {"created": 1, "merged": 2}
    before = listings(session)
    for full in (False, True):
        again = load(session, path, full=full)
        assert outcomes(again) == {"unchanged": 3}
        assert "nothing changed" in "\n".join(again.summary())
        assert listings(session) == before
    assert before[0]["status"] == "active"


def test_an_exact_copy_of_a_row_merges_too(session: Session, tmp_path: Path) -> None:
    """The real locator file's repeats are whole copies: never rejected, never dropped."""
    path = locator(tmp_path / "locator.csv", [facility("860-276-3000")] * 2)
    report = load(session, path)
    assert outcomes(report) == {"created": 1, "merged": 1}
    (bay,) = listings(session)
    assert bay["phones"] == ["+18602763000"] and len(bay["links"]) == 2


def test_a_repeat_met_on_a_later_import_joins_the_listing(session: Session, tmp_path: Path) -> None:
    path = locator(tmp_path / "locator.csv", [facility("860-276-3000")])
    load(session, path)
    locator(path, [facility("860-276-3000"), facility("860-276-3999", "SA")])
    report = load(session, path)
    assert outcomes(report) == {"unchanged": 1, "merged": 1}
    assert report.merges[0]["rule"] == SAME_FILE
    (bay,) = listings(session)
    assert bay["phones"] == ["+18602763000", "+18602763999"] and bay["status"] == "active"


def test_an_edited_repeat_updates_its_own_link(session: Session, tmp_path: Path) -> None:
    path = locator(tmp_path / "locator.csv", [facility("860-276-3000"), facility("860-276-3999")])
    load(session, path)
    locator(path, [facility("860-276-3000"), facility("860-276-3777")])
    assert outcomes(load(session, path)) == {"unchanged": 1, "updated": 1}
    (bay,) = listings(session)
    assert bay["phones"] == ["+18602763000", "+18602763777"]  # the old 3999 is gone
    assert len(bay["links"]) == 2


def test_full_drops_a_repeat_the_file_no_longer_has_but_keeps_the_listing(
    session: Session, tmp_path: Path
) -> None:
    path = locator(tmp_path / "locator.csv", [facility("860-276-3000"), facility("860-276-3999")])
    load(session, path)
    locator(path, [facility("860-276-3000")])
    partial = load(session, path)  # not --full: the file may be a part; nothing is dropped
    assert outcomes(partial) == {"unchanged": 1}
    assert listings(session)[0]["phones"] == ["+18602763000", "+18602763999"]
    report = load(session, path, full=True)
    assert outcomes(report) == {"unchanged": 1, "updated": 1}
    (bay,) = listings(session)
    assert (bay["status"], bay["phones"], len(bay["links"])) == ("active", ["+18602763000"], 1)


def test_another_suite_or_name_is_another_listing(session: Session, tmp_path: Path) -> None:
    path = locator(
        tmp_path / "locator.csv",
        [
            facility("860-276-3000", street2="Suite 100"),
            facility("860-276-3999", street2="Suite 200"),
            facility("860-276-3888", street2="Suite 100", name="Bay Youth Counseling"),
            facility("860-276-3777", street2="SUITE 100.", name="Bay Clinic, Inc."),
        ],
    )
    report = load(session, path)
    assert outcomes(report) == {"created": 3, "merged": 1}
    assert report.merges[0]["row"] == 5  # case, punctuation and "Inc" aside


# --- the national directory XLSX ----------------------------------------------------------------


def directory_book(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Facilities List"
    sheet.append(DIRECTORY_HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_repeated_directory_rows_merge(session: Session, tmp_path: Path) -> None:
    place = ["Pine Rest", None, "877 Forest Hill Avenue SE", None, "Grand Rapids", "MI", 49546]
    path = directory_book(
        tmp_path / "directory.xlsx",
        [
            [*place, "616-258-7507", None, None, None, None, "MH * OP * SNR * TELE"],
            [*place, "616-258-7467", "616-258-7000", None, None, None, "SA SUMH * OP * TELE"],
        ],
    )
    report = load(session, path)
    assert outcomes(report) == {"created": 1, "merged": 1}
    (pine,) = listings(session)
    assert pine["phones"] == ["+16162587000", "+16162587467", "+16162587507"]
    assert {"mental-health", "substance-use"} <= set(pine["needs"])
    assert pine["sites"] == 2  # the street site and one Telehealth site, not two
    assert outcomes(load(session, path, full=True)) == {"unchanged": 2}


# --- HSDS ---------------------------------------------------------------------------------------


PHONES = {"s1": "(312) 555-0100", "s2": "(312) 555-0199"}


def hsds(folder: Path, services: list[tuple[str, str, str, str]]) -> Path:
    """A small HSDS 1.x package: services (id, organization, name, location) at three sites, two
    of them at one address spelled two ways."""
    folder.mkdir(exist_ok=True)
    ids = dict.fromkeys(service[0] for service in services)
    tables = {
        "organizations.csv": "id,name\no1,Helping Hands\no2,Other Hands\n",
        "services.csv": "id,organization_id,name\n"
        + "".join(f"{id_},{org},{name}\n" for id_, org, name, _ in services),
        "locations.csv": "id,name\nl1,Main office\nl2,Main office again\nl3,Annex\n",
        "physical_addresses.csv": (
            "id,location_id,address_1,city,state_province,postal_code,country\n"
            "a1,l1,12 Oak Street,Chicago,IL,60601,US\n"
            "a2,l2,12 OAK STREET.,Chicago,IL,60601-1234,US\n"
            "a3,l3,99 Elm Street,Chicago,IL,60601,US\n"
        ),
        "service_at_location.csv": "id,service_id,location_id\n"
        + "".join(f"x{n},{id_},{site}\n" for n, (id_, _, _, site) in enumerate(services)),
        "phones.csv": "id,service_id,number\n"
        + "".join(f"p{id_},{id_},{PHONES[id_]}\n" for id_ in ids if id_ in PHONES),
    }
    for name, content in tables.items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def test_hsds_services_with_other_ids_at_one_address_merge(
    session: Session, tmp_path: Path
) -> None:
    services = [
        ("s1", "o1", "Peer Support Group", "l1"),
        ("s2", "o1", "Peer support group", "l2"),  # same name, street and ZIP: the same service
        ("s3", "o1", "Peer Support Group", "l3"),  # another street
        ("s4", "o2", "Peer Support Group", "l2"),  # another organization at that address
    ]
    report = load(session, hsds(tmp_path / "p", services))
    assert outcomes(report) == {"created": 3, "merged": 1}
    assert (report.merges[0]["external_id"], report.merges[0]["rule"]) == ("s2", SAME_FILE)
    merged = next(item for item in listings(session) if len(item["links"]) == 2)
    assert merged["links"] == ["s1", "s2"]
    assert merged["phones"] == ["+13125550100", "+13125550199"]
    assert outcomes(load(session, tmp_path / "p")) == {"unchanged": 4}


def test_hsds_a_repeated_id_is_still_a_rejection(session: Session, tmp_path: Path) -> None:
    services = [("s1", "o1", "Peer Support Group", "l1"), ("s1", "o1", "Peer Support Group", "l2")]
    report = load(session, hsds(tmp_path / "p", services))
    assert outcomes(report) == {"created": 1, "rejected": 1}
    assert [(r.file, r.row, r.reason) for r in report.rejected] == [
        ("services.csv", 3, "duplicate of row 2")
    ]


def test_hsds_a_new_id_before_its_twin_on_a_reimport_still_merges(
    session: Session, tmp_path: Path
) -> None:
    """The listings a source already has are known by place before the file is read."""
    load(session, hsds(tmp_path / "p", [("s1", "o1", "Peer Support Group", "l1")]))
    services = [("s2", "o1", "Peer Support Group", "l2"), ("s1", "o1", "Peer Support Group", "l1")]
    report = load(session, hsds(tmp_path / "p", services))
    assert outcomes(report) == {"merged": 1, "unchanged": 1}
    assert report.merges[0]["rule"] == SAME_SOURCE
    (only,) = listings(session)
    assert only["links"] == ["s1", "s2"]


# --- the real files -----------------------------------------------------------------------------


def test_the_real_locator_files_342_repeats_merge(session: Session, datasets_dir: Path) -> None:
    path = datasets_dir / LOCATOR
    report = load(session, path, "test:real-locator")
    assert (report.read, len(report.rejected)) == (11_375, 0)
    assert (report.counts["created"], report.counts["merged"]) == (11_033, 342)
    assert len(report.merges) == 342
    assert {merge["rule"] for merge in report.merges} == {SAME_FILE}
    assert all(merge["external_id"].endswith("#2") for merge in report.merges)
    lines = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    merge = next(m for m in report.merges if lines[m["row"] - 1][10] not in ("", "NA"))
    first, repeat = lines[merge["same_as_row"] - 1], lines[merge["row"] - 1]
    assert first[1:] == repeat[1:]  # only the row index differs in this file
    phones = session.scalars(
        text("SELECT e164 FROM phone WHERE service_id = :id"), {"id": merge["service_id"]}
    ).all()
    digits = {"+1" + "".join(c for c in row[10] if c.isdigit()) for row in (first, repeat)}
    assert phones and digits <= set(phones)
    links = session.scalar(
        text("SELECT count(*) FROM provenance WHERE service_id = :id"), {"id": merge["service_id"]}
    )
    assert links == 2

    again = load(session, path, "test:real-locator", full=True)
    assert outcomes(again) == {"unchanged": 11_375}


def test_the_real_directorys_two_repeats_merge(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    """The file's two repeated rows, in a workbook of those two organizations' rows: each merged
    listing has the phones of both of its rows."""
    expected = {
        "Pine Rest Christian Mental Hlth Servs": {"+16162587507", "+16162587467"},
        "Lutheran Family Services of Nebraska": {"+14023427038", "+14022929105", "+14023427007"},
    }
    source = openpyxl.load_workbook(datasets_dir / DIRECTORY, read_only=True)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Facilities List"
    for index, row in enumerate(source["Facilities List"].iter_rows(values_only=True)):
        if index == 0 or row[0] in expected:
            sheet.append(list(row))
    source.close()
    path = tmp_path / "directory.xlsx"
    book.save(path)
    report = load(session, path, "test:real-directory")
    assert report.counts["merged"] == 2 and not report.rejected
    merged = [
        set(
            session.scalars(
                text("SELECT e164 FROM phone WHERE service_id = :id"), {"id": m["service_id"]}
            )
        )
        for m in report.merges
    ]
    assert [any(phones <= found for found in merged) for phones in expected.values()] == [
        True,
        True,
    ]
    again = load(session, path, "test:real-directory", full=True)
    assert outcomes(again) == {"unchanged": report.read}
