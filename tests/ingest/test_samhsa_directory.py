"""SAMHSA National Directories (XLSX): the real 2022 Mental Health file, a small Substance Use
file shaped like the real one (only its code sheet is public here), the service-code mapping, and
files that are not what they claim to be. No database needed."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from directory.ingest.formats.samhsa_codes import code_table, expand, split_codes
from directory.ingest.formats.samhsa_directory import FORMAT, reference_rows
from directory.ingest.records import (
    FormatError,
    Ignored,
    Normalised,
    Rejection,
    RowRejected,
    SourceRecord,
)
from directory.listings.schemas import ServiceCreate

FILE = "samhsa-mh-directory-2022/National_Directory_MH_Facilities_2022.xlsx"
COLUMNS = [
    "name1",
    "name2",
    "street1",
    "street2",
    "city",
    "state",
    "zip",
    "phone",
    "intake1",
    "intake2",
    "intake1a",
    "intake2a",
    "service_code_info",
]
SA_CODES = "samhsa-sa-2022-codes/service_code_reference.csv"


@pytest.fixture(scope="module")
def directory_file(datasets_dir: Path) -> Path:
    return datasets_dir / FILE


@pytest.fixture(scope="module")
def read_back(directory_file: Path) -> list[SourceRecord | Rejection]:
    return list(FORMAT.read(directory_file))


@pytest.fixture(scope="module")
def records(read_back: list[SourceRecord | Rejection]) -> dict[int, SourceRecord]:
    """The records by sheet row."""
    return {item.row: item for item in read_back if isinstance(item, SourceRecord)}


@pytest.fixture(scope="module")
def normalised(records: dict[int, SourceRecord]) -> dict[int, Normalised]:
    return {row: FORMAT.normalise(record.raw) for row, record in records.items()}


def workbook(
    path: Path,
    rows: list[list[Any]],
    *,
    sheet: str = "Facilities List",
    header: list[str] = COLUMNS,
) -> Path:
    """A small workbook with one sheet: the header, then ``rows``."""
    book = openpyxl.Workbook()
    sheet_ = book.active
    sheet_.title = sheet
    sheet_.append(header)
    for row in rows:
        sheet_.append(row)
    book.save(path)
    return path


# --- the real file


def test_detects_the_directory_and_nothing_else(
    directory_file: Path, datasets_dir: Path, tmp_path: Path
) -> None:
    locator = datasets_dir / "samhsa-locator-geocoded/MentalHealthProviders_Geocoded.csv"
    other_sheet = workbook(tmp_path / "other.xlsx", [], sheet="Sheet1")
    renamed = tmp_path / "renamed.xlsx"
    renamed.write_text("name1,street1\nA,B\n")
    assert FORMAT.detect(directory_file)
    assert not any(FORMAT.detect(path) for path in (locator, other_sheet, renamed))


def test_reads_every_facility(read_back: list[SourceRecord | Rejection]) -> None:
    records = [item for item in read_back if isinstance(item, SourceRecord)]
    rejections = [item for item in read_back if isinstance(item, Rejection)]
    ignored = [item for item in read_back if isinstance(item, Ignored)]
    assert len(read_back) == 9037 + 1
    # every column of the facilities is read; the code sheet is named, with its 176 rows
    assert [(i.file, i.column, i.rows) for i in ignored] == [
        ("National_Directory_MH_Facilities_2022.xlsx Service Code Reference", None, 176)
    ]
    assert len({record.external_id for record in records}) == len(records) == 9037
    assert rejections == []
    # Two rows repeat the whole name and address of the row just before (only phones or codes
    # differ): read under ids of their own, the loader merges them; units at one street address
    # with another street2 (suite) are kept apart.
    by_row = {record.row: record.external_id for record in records}
    assert [by_row[row] for row in (3983, 4864)] == [by_row[row - 1] + "#2" for row in (3983, 4864)]
    assert all(set(record.raw) == set(COLUMNS) for record in records)
    assert all(json.loads(json.dumps(record.raw)) == record.raw for record in records)


def test_every_document_is_a_valid_listing(
    records: dict[int, SourceRecord], normalised: dict[int, Normalised]
) -> None:
    for row, result in normalised.items():
        provenance = {"source": "t", "external_id": records[row].external_id}
        ServiceCreate.model_validate({**result.doc, "provenance": provenance})


def test_every_code_in_the_file_is_known(normalised: dict[int, Normalised]) -> None:
    reasons = {reason for result in normalised.values() for _, reason in result.warnings}
    assert not [reason for reason in reasons if "SAMHSA code" in reason]
    assert all("phone number" in reason or "leave a gap" in reason for reason in reasons)


def test_the_first_spectracare_clinic(normalised: dict[int, Normalised]) -> None:
    doc = normalised[2].doc
    assert doc["name"] == "SpectraCare Health Systems - Henry County Clinic"
    assert doc["organization"] == {"name": "SpectraCare Health Systems"}
    assert {
        "mental-health",
        "substance-use",
        "crisis",
        "suicide-prevention",
        "veterans",
        "lgbtq",
        "trauma",
        "serious-mental-illness",
        "outpatient-treatment",
    } <= set(doc["needs"])
    assert doc["languages"] == [{"code": "en"}, {"code": "ase"}]  # AH, no SP
    options = {option["option"] for option in doc["cost_options"]}
    assert {"medicaid", "medicare", "private-insurance", "self-pay", "sliding-scale"} <= options
    assert "minimum_age" not in doc and "maximum_age" not in doc  # CHLD YAD ADLT SNR: all ages
    physical, virtual = doc["locations"]
    assert physical["address"] == {
        "address_1": "219 Dothan Road",
        "city": "Abbeville",
        "state_province": "AL",
        "postal_code": "36310",
        "country": "US",
    }
    assert "latitude" not in physical
    assert physical["accessibility"] == [{"code": "sign-language-interpreter"}]
    assert virtual["location_type"] == "virtual"  # TELE
    assert doc["phones"] == [{"number": "800-951-4357", "country": "US", "type": "voice"}]


def test_emergency_codes_and_intake_lines(normalised: dict[int, Normalised]) -> None:
    doc = normalised[4].doc  # South Central Alabama CMHC: CIT PEON PEOFF WI, PA, VAF
    assert {"crisis", "mobile-crisis", "crisis-stabilization"} <= set(doc["needs"])
    assert doc["phones"][1] == {
        "number": "877-530-0002",
        "country": "US",
        "type": "voice",
        "description": "Intake",
    }
    options = {option["option"] for option in doc["cost_options"]}
    assert {"payment-assistance", "veterans-affairs", "sliding-scale"} <= options


def test_a_vanity_intake_number_is_the_main_number(normalised: dict[int, Normalised]) -> None:
    doc = normalised[1774].doc  # Henderson: phone 954-730-7284, intake1a 954-730PATH
    assert [phone["number"] for phone in doc["phones"]] == ["954-730-7284"]
    assert doc["languages"] == [{"code": "en"}, {"code": "ase"}, {"code": "es"}, {"code": "ht"}]
    assert doc["locations"][0]["address"]["address_2"] == "Building A"
    assert doc["minimum_age"] == 18 and "maximum_age" not in doc  # YAD ADLT SNR


def test_a_clinic_for_children(normalised: dict[int, Normalised]) -> None:
    doc = normalised[26].doc  # MHCNCA: The Albany Clinic for Children, CHLD only
    assert doc["maximum_age"] == 17 and "minimum_age" not in doc
    assert {"youth", "serious-mental-illness"} <= set(doc["needs"])  # SED


def test_normalise_is_a_pure_function_of_raw(records: dict[int, SourceRecord]) -> None:
    for row in (2, 4, 1774, 7258):
        raw = copy.deepcopy(records[row].raw)
        first = FORMAT.normalise(raw)
        assert raw == records[row].raw
        assert FORMAT.normalise(json.loads(json.dumps(raw))) == first


# --- the mapping


def test_every_reference_code_has_a_mapping(directory_file: Path) -> None:
    """The MH sheet's codes (both sheets, and the table's vocabularies: test_samhsa_vocabulary)."""
    reference = reference_rows(directory_file)
    codes = [row["service_code"] for row in reference]
    assert len(codes) == len(set(codes)) == 176
    assert len({row["category_code"] for row in reference}) == 21
    assert sorted(set(codes) - set(code_table())) == []


# --- expand


def expanded(codes: str, doc: dict[str, Any] | None = None) -> Normalised:
    result = Normalised(doc if doc is not None else {})
    expand(split_codes(codes), result.doc, result, field="service_code_info")
    return result


def test_an_unknown_code_is_a_warning_once() -> None:
    result = expanded("MH * XYZ XYZ * SP")
    assert result.warnings == [("service_code_info", "unknown SAMHSA code XYZ")]
    assert result.doc["needs"] == ["mental-health"]
    assert result.doc["languages"] == [{"code": "en"}, {"code": "es"}]


def test_expand_adds_to_what_the_document_has() -> None:
    doc = {
        "needs": ["crisis"],
        "languages": [{"code": "es"}],
        "cost_options": [{"option": "free"}],
        "locations": [{"location_type": "physical"}],
    }
    result = expanded("MD SP F28 TELE TELE AH", doc)
    assert result.doc["languages"] == [
        {"code": "en"},
        {"code": "es"},
        {"code": "fr"},
        {"code": "ase"},
    ]
    assert result.doc["cost_options"] == [{"option": "free"}, {"option": "medicaid"}]
    physical, virtual = result.doc["locations"]
    assert physical["accessibility"] == [{"code": "sign-language-interpreter"}]
    assert virtual["location_type"] == "virtual" and "accessibility" not in virtual


def test_a_setting_is_a_substance_use_need_only_beside_substance_use() -> None:
    assert expanded("MH OP RES").doc["needs"] == ["mental-health"]
    assert expanded("SA OP RES").doc["needs"] == [
        "substance-use",
        "outpatient-treatment",
        "residential-treatment",
    ]


def test_ages_only_from_an_unbroken_range() -> None:
    assert "minimum_age" not in expanded("CHLD YAD").doc
    assert expanded("CHLD YAD").doc["maximum_age"] == 25
    assert expanded("SNR ADLT").doc["minimum_age"] == 26
    gap = expanded("CHLD SNR")
    assert "minimum_age" not in gap.doc and "maximum_age" not in gap.doc
    assert gap.warnings == [
        ("service_code_info", "age groups CHLD, SNR leave a gap: no age range set")
    ]


def test_the_locators_facility_type() -> None:
    result = Normalised({})
    expand(["MH"], result.doc, result, field="type_facility")
    assert result.doc["needs"] == ["mental-health"] and result.doc["languages"] == [{"code": "en"}]
    assert result.warnings == []


# --- the Substance Use directory: the MH file's sheets and columns, its own codes


def sa_directory(path: Path, datasets_dir: Path, rows: list[list[Any]]) -> Path:
    """A Substance Use directory as SAMHSA ships it: "Facilities List" (the MH file's header in
    row 1) and "Service Code Reference" (the SA sheet's rows)."""
    book = openpyxl.Workbook()
    facilities = book.active
    assert facilities is not None
    facilities.title = "Facilities List"
    facilities.append(COLUMNS)
    for row in rows:
        facilities.append(row)
    codes = book.create_sheet("Service Code Reference")
    with (datasets_dir / SA_CODES).open(encoding="utf-8", newline="") as handle:
        for line in csv.reader(handle):
            codes.append(line)
    book.save(path)
    return path


def facility_row(name: str, codes: str, street: str = "1 Main St") -> list[Any]:
    return [
        name,
        None,
        street,
        None,
        "Burlington",
        "VT",
        "05401",
        "802-555-0100",
        *[None] * 4,
        codes,
    ]


SA_FACILITIES = {
    "Harbor Withdrawal Unit": (
        "SA DT * HID RD * GH * ADTX BDTX ODTX MDET * PVTN * JC * MD PI SF * SP * ADLT SNR * SMON",
        {"substance-use", "detox", "inpatient-treatment", "residential-treatment"},
    ),
    "Valley Opioid Treatment Program": (
        "SA * OP OMB ORT * MU BU NU * OTP MM BUM UB * METH BWN VTRL * SOTP * MD NP * PW * ICO GCO",
        {
            "substance-use",
            "outpatient-treatment",
            "medication-assisted-treatment",
            "pregnant-postpartum",
            "counseling",
        },
    ),
    "Elm Street House": (
        "HH * RES RL * SHG RC ACC * MN * FEM",
        {
            "recovery-housing",
            "residential-treatment",
            "support-groups",
            "peer-support",
            "recovery-support",
        },
    ),
    "Green Mountain Youth Services": (
        "SA * OP OIT * AD * FCO ICO * NOE * CHLD",
        {
            "substance-use",
            "outpatient-treatment",
            "youth",
            "family",
            "counseling",
            "harm-reduction",
        },
    ),
}


def test_the_substance_use_directory_reads_with_its_codes(
    tmp_path: Path, datasets_dir: Path
) -> None:
    path = sa_directory(
        tmp_path / "National_Directory_SA_Facilities_2022.xlsx",
        datasets_dir,
        [
            facility_row(name, codes, f"{n} Main St")
            for n, (name, (codes, _)) in enumerate(SA_FACILITIES.items(), start=1)
        ],
    )
    assert FORMAT.detect(path)
    records = [r for r in FORMAT.read(path) if not isinstance(r, Ignored)]
    assert [type(r) for r in records] == [SourceRecord] * len(SA_FACILITIES)
    assert {row["service_code"] for row in reference_rows(path)} <= set(code_table())
    for record in records:
        assert isinstance(record, SourceRecord)
        result = FORMAT.normalise(record.raw)
        assert result.warnings == [] and result.tallies == {}  # every code known, none inferred
        assert set(result.doc["needs"]) == SA_FACILITIES[record.raw["name1"]][1]
        provenance = {"source": "t", "external_id": record.external_id}
        ServiceCreate.model_validate({**result.doc, "provenance": provenance})
    opioid = FORMAT.normalise(records[1].raw).doc  # type: ignore[union-attr]
    assert {option["option"] for option in opioid["cost_options"]} == {"medicaid", "free"}
    assert opioid["languages"] == [{"code": "en"}]


def test_a_facility_with_every_substance_use_code_is_a_valid_listing(datasets_dir: Path) -> None:
    with (datasets_dir / SA_CODES).open(encoding="utf-8", newline="") as handle:
        by_category: dict[str, list[str]] = {}
        for row in csv.DictReader(handle):
            by_category.setdefault(row["category_code"], []).append(row["service_code"])
    codes = " * ".join(" ".join(group) for group in by_category.values())
    raw = dict(zip(COLUMNS, facility_row("All Codes", codes), strict=True))
    result = FORMAT.normalise(raw)
    assert result.warnings == []
    doc = ServiceCreate.model_validate(
        {**result.doc, "provenance": {"source": "t", "external_id": "x"}}
    )
    assert {"detox", "medication-assisted-treatment", "recovery-housing"} <= set(doc.needs)
    assert doc.inferred_needs == []


# --- small and broken files


def test_rows_keep_their_sheet_numbers(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "small.xlsx",
        [
            [
                "A",
                None,
                "1 Main St",
                None,
                "Waterbury",
                "CT",
                6708,
                "860-276-3000",
                *[None] * 4,
                "MH",
            ],
            [],
            [None, None, "2 Main St", None, "Waterbury", "CT", "06708", *[None] * 5, "MH"],
            ["a ", None, "1 MAIN ST", None, "Waterbury", "CT", "06708", *[None] * 5, "SA"],
        ],
    )
    first, missing, repeat = FORMAT.read(path)
    assert isinstance(first, SourceRecord) and first.row == 2 and first.raw["zip"] == "6708"
    assert missing == Rejection("small.xlsx", 4, "name1", "missing name")
    assert isinstance(repeat, SourceRecord) and repeat.row == 5  # merged by the loader
    assert repeat.external_id == first.external_id + "#2"
    doc = FORMAT.normalise(first.raw).doc
    assert doc["locations"][0]["address"]["postal_code"] == "06708"


def test_a_row_without_a_name_makes_no_listing() -> None:
    with pytest.raises(RowRejected) as caught:
        FORMAT.normalise({"name1": "  ", "street1": "1 Main St", "service_code_info": "MH"})
    assert (caught.value.field, caught.value.reason) == ("name1", "missing name")


def broken_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Files that are not a readable directory, and what the error must say."""
    whole = workbook(tmp_path / "whole.xlsx", [["A", None, "1 Main St"]]).read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(whole[: len(whole) // 2])
    renamed = tmp_path / "renamed.xlsx"
    renamed.write_text("name1,street1,city\nA,1 Main St,Waterbury\n")
    return {
        "truncated": (truncated, "not a readable XLSX workbook"),
        "csv renamed": (renamed, "not a readable XLSX workbook"),
        "other sheet": (
            workbook(tmp_path / "o.xlsx", [], sheet="Sheet1"),
            "no sheet 'Facilities List'",
        ),
        "columns": (
            workbook(tmp_path / "c.xlsx", [["A"]], header=["name1", "street1"]),
            "lacks the columns city, state, zip, service_code_info",
        ),
        "empty sheet": (workbook(tmp_path / "e.xlsx", [], header=[]), "lacks the columns name1"),
    }


@pytest.mark.parametrize(
    "case", ["truncated", "csv renamed", "other sheet", "columns", "empty sheet"]
)
def test_a_broken_file_is_one_clear_format_error(tmp_path: Path, case: str) -> None:
    path, message = broken_files(tmp_path)[case]
    with pytest.raises(FormatError, match=message) as caught:
        list(FORMAT.read(path))
    assert str(caught.value).startswith(f"{path.name}: ")
