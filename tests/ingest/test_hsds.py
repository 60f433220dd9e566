"""HSDS 1.x and 3.0: the real packages and JSON documents, small packages written here for the
cases the real ones lack (blank ids, orphans, broken files), and the mapping tables. No database."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from directory.ingest import mappings
from directory.ingest.formats.hsds import FORMAT
from directory.ingest.mappings import accessibility_codes, language_entries, regions
from directory.ingest.records import FormatError, Rejection, RowRejected, SourceRecord
from directory.listings import vocabularies
from directory.listings.schemas import MAX_ITEMS, ServiceCreate
from directory.listings.vocabularies import seed_dir

ILAO = "hsds1-ilao"
SAMPLE = "hsds1-sample-package"
HSDS3_CSV = "hsds3-spec-examples/csv"
HSDS3_JSON = "hsds3-spec-examples/json"
# file -> (records, rejections)
COUNTS = {
    ILAO: (429, 194),
    SAMPLE: (13, 0),
    HSDS3_CSV: (1, 0),
    f"{HSDS3_JSON}/service_full.json": (1, 0),
    f"{HSDS3_JSON}/organization_full.json": (1, 0),
    f"{HSDS3_JSON}/service_list.json": (1, 0),
    f"{HSDS3_JSON}/service_at_location_full.json": (1, 0),
    f"{HSDS3_JSON}/service_at_location_list.json": (1, 0),
    f"{HSDS3_JSON}/organization_list.json": (0, 1),
}
SERVICE_ID = "ac148810-d857-441c-9679-408f346de14b"  # the HSDS 3.0 example service


def read(path: Path) -> tuple[list[SourceRecord], list[Rejection]]:
    items = list(FORMAT.read(path))
    records = [i for i in items if isinstance(i, SourceRecord)]
    return records, [i for i in items if isinstance(i, Rejection)]


def validated(record: SourceRecord) -> dict[str, Any]:
    """The normalised document, checked the way the loader will check it."""
    doc = FORMAT.normalise(record.raw).doc
    provenance = {"source": "t", "external_id": record.external_id}
    ServiceCreate.model_validate({**doc, "provenance": provenance})
    return doc


@pytest.fixture(scope="module")
def read_back(datasets_dir: Path) -> dict[str, tuple[list[SourceRecord], list[Rejection]]]:
    return {name: read(datasets_dir / name) for name in COUNTS}


def by_id(records: list[SourceRecord]) -> dict[str, SourceRecord]:
    return {r.external_id: r for r in records}


# --- the real files -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", COUNTS)
def test_real_files_read_and_normalise(
    name: str, read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]], datasets_dir: Path
) -> None:
    records, rejected = read_back[name]
    assert (len(records), len(rejected)) == COUNTS[name]
    assert FORMAT.detect(datasets_dir / name)
    for record in records:
        json.dumps(record.raw)  # stored with the provenance
        assert record.row >= 1
        validated(record)


def test_ilao_rejects_its_unlinked_rows(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    _, rejected = read_back[ILAO]
    reasons = Counter((r.file, r.field, r.reason) for r in rejected)
    assert reasons == {
        ("service_at_location.csv", "service_id", "no service_id"): 185,
        ("service_at_location.csv", "service_id", "no service with this id: 'Unnamed record'"): 1,
        ("eligibilities.csv", "service_id", "no service_id"): 7,
        ("eligibilities.csv", "service_id", "no service with this id: 'Unnamed record'"): 1,
    }
    assert rejected[0].row == 6  # the CSV line of the first site linked to no service


def test_ilao_sites_shared_by_several_services(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    """service_at_location.csv links some sites to a comma-separated list of services."""
    records = read_back[ILAO][0]
    assert sum(1 for r in records if r.raw.get("service_at_locations")) == 425
    shared = by_id(records)["101146"].raw["service_at_locations"][0]
    assert shared["service_id"].startswith("101146,")


def test_ilao_structured_hours_become_weekly_schedules(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    record = by_id(read_back[ILAO][0])["135836"]
    assert (record.file, record.row) == ("services.csv", 2)
    doc = validated(record)
    library = doc["locations"][0]
    assert library["name"] == "Arlington Heights Memorial Library"
    assert library["phones"] == [{"number": "847-392-0100", "country": "US", "type": "voice"}]
    assert [
        (s["freq"], s["byday"], s["opens_at"], s["closes_at"]) for s in library["schedules"]
    ] == [
        ("WEEKLY", "MO,TU,WE,TH,FR", "09:00", "22:00"),
        ("WEEKLY", "SA", "09:00", "20:00"),
        ("WEEKLY", "SU", "11:00", "20:00"),
    ]
    assert doc["cost_options"] == [{"option": "free", "description": "Free to everyone"}]


def test_ilao_warnings_name_what_was_dropped(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    warnings = Counter(
        field for r in read_back[ILAO][0] for field, _ in FORMAT.normalise(r.raw).warnings
    )
    assert warnings["organization"] == 340  # organizations.csv lacks most of the ids services use
    assert warnings["locations.phones"] == 5
    assert warnings["locations.schedules"] == 22  # closing times before opening times
    afternoon = FORMAT.normalise(by_id(read_back[ILAO][0])["51401"].raw)
    assert ("locations.schedules", "closes before it opens, read as pm: 10:00-06:00 -> 18:00") in (
        afternoon.warnings
    )


def test_hsds1_sample_package(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    records = by_id(read_back[SAMPLE][0])
    doc = validated(records["c89eb05c-62dd-4b64-b494-0cc347b6ea7f"])
    assert doc["name"] == "Never Homeless Helpline"
    assert doc["organization"]["name"] == "Sanctuary Example City"
    site = doc["locations"][0]
    assert site["address"] == {
        "attention": "Contact 1", "address_1": "Address 1", "address_2": "Address 2",
        "city": "New York City", "region": "Mid-Atlantic", "state_province": "NY",
        "postal_code": "10001", "country": "US", "address_type": "physical",
    }  # fmt: skip
    assert site["accessibility"] == [
        {"code": "accessible-parking", "details": "Some details regarding the parking lot"}
    ]
    # weekday numbers 1-3 are ISO days: Monday to Wednesday; holiday_schedules.csv closes it
    assert site["schedules"] == [
        {"freq": "WEEKLY", "byday": "MO,TU,WE", "opens_at": "09:00", "closes_at": "17:00"},
        {"valid_from": "2019-12-24", "valid_to": "2019-12-26",
         "description": "Closed 2019-12-24 to 2019-12-26"},
    ]  # fmt: skip
    assert doc["contacts"] == [
        {"name": "Contact 1", "title": "Mr", "department": "Department 1",
         "email": "contact1@example.com"}
    ]  # fmt: skip
    assert doc["languages"] == [{"code": "en"}, {"code": "es"}]
    assert doc["service_areas"] == [
        {"name": "Sample service area", "regions": [],
         "description": "A description about the service area"}
    ]  # fmt: skip
    assert doc["cost_options"] == [{"option": "cash"}, {"option": "credit-card"}]
    assert doc["eligibility_description"] == "adult"
    statuses = Counter(validated(r)["status"] for r in records.values())
    assert statuses == {"active": 10, "inactive": 3}


def test_hsds3_example_service(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    record = read_back[f"{HSDS3_JSON}/service_full.json"][0][0]
    assert (record.external_id, record.row) == (SERVICE_ID, 1)
    result = FORMAT.normalise(record.raw)
    doc = result.doc
    phone = {
        "number": "+44 1234 234567", "country": "GB", "type": "voice", "extension": "100",
        "description": "Our main reception phone number. The phones will be available from 0800 "
        "(8am) until 1800 (6pm) local time. There may be some slight delays in answering your "
        "call if we are busy.",
    }  # fmt: skip
    assert doc["phones"] == [phone]
    assert doc["languages"] == [
        {"code": "ur", "note": "Translation services provided via bilingual staff when they are "
         "available"}
    ]  # fmt: skip
    schedule = doc["schedules"][0]
    assert (schedule["freq"], schedule["byday"], schedule["opens_at"], schedule["closes_at"]) == (
        "WEEKLY", "TH,FR", "10:00", "18:00",
    )  # fmt: skip
    assert schedule["description"].startswith("The service is available from 10 am to 6pm")
    assert "timezone" not in schedule  # the example's timezone is the number 3
    site = doc["locations"][0]
    assert [a["code"] for a in site["accessibility"]] == ["wheelchair", "hearing-loop"]
    assert site["phones"] == [phone]
    assert "latitude" not in site  # the example's point is (100, 101)
    assert doc["cost_options"] == [
        {"option": "Under 18s and Over 60s", "amount": "35.00", "currency": "GBP",
         "amount_description": "per 1 hour session"}
    ]  # fmt: skip
    assert (doc["minimum_age"], doc["maximum_age"]) == (12, 100)
    assert ("needs", "unmapped taxonomy term: 'code'") in result.warnings  # its term is a stub
    # ...so the needs come from its words ("mental health conditions such as anxiety, ..."),
    # marked inferred
    assert doc["needs"] == doc["inferred_needs"] == [
        "mental-health", "depression", "anxiety", "eating-disorders",
    ]  # fmt: skip
    assert ("locations.latitude", "not a valid point: '100', '101'") in result.warnings


def test_a_record_past_the_listing_limits_is_trimmed_not_rejected(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    """The format's caps are the listing's own (MAX_ITEMS): a record with 60 sites and 30
    phones a site keeps the first 50 sites of 20 phones, and says so, where it was rejected
    whole by the listing's schema (the format kept 200 and 50)."""
    raw = copy.deepcopy(read_back[f"{HSDS3_JSON}/service_full.json"][0][0].raw)
    place = raw["service_at_locations"][0]
    place["location"]["phones"] = [
        {"number": f"+44 1234 2345{n:02}"} for n in range(MAX_ITEMS["locations.phones"] + 10)
    ]
    raw["service_at_locations"] = [copy.deepcopy(place) for _ in range(60)]
    record = SourceRecord(external_id=SERVICE_ID, file="service_full.json", row=1, raw=raw)
    result = FORMAT.normalise(record.raw)
    doc = validated(record)
    assert len(doc["locations"]) == MAX_ITEMS["locations"] == 50
    assert {len(site["phones"]) for site in doc["locations"]} == {MAX_ITEMS["locations.phones"]}
    assert ("locations", "kept the first 50: 60 given") in result.warnings
    assert (
        "locations.phones",
        "kept the first 20: 31 given",
    ) in result.warnings  # 30 + the place's


def test_hsds3_tabular_and_json_agree(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    tabular = validated(read_back[HSDS3_CSV][0][0])
    document = validated(read_back[f"{HSDS3_JSON}/service_full.json"][0][0])
    for key in ("name", "organization", "languages", "service_areas", "cost_options"):
        assert tabular[key] == document[key]
    assert tabular["locations"] == document["locations"]


def test_organization_and_page_documents(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    org = read_back[f"{HSDS3_JSON}/organization_full.json"][0][0]
    assert org.raw["organization"]["name"] == "Example Organization Inc."
    assert "services" not in org.raw["organization"]
    page = read_back[f"{HSDS3_JSON}/service_list.json"][0][0]
    assert validated(page)["organization"]["name"] == "Example Organization Inc."
    _, rejected = read_back[f"{HSDS3_JSON}/organization_list.json"]
    assert rejected[0].reason == "not an HSDS service: an organization with no services"


def test_detect_refuses_other_files(datasets_dir: Path, tmp_path: Path) -> None:
    other = [
        "crisis-lines-wikipedia/suicide-hotlines.json",
        "samhsa-locator-geocoded/MentalHealthProviders_Geocoded.csv",
        f"{HSDS3_JSON}/taxonomy_term.json",
        f"{HSDS3_JSON}/location.json",
        f"{HSDS3_JSON}/base.json",
    ]
    for name in other:
        assert not FORMAT.detect(datasets_dir / name), name
    assert not FORMAT.detect(tmp_path)
    assert FORMAT.detect(datasets_dir / SAMPLE / "datapackage.json")


def test_normalise_is_a_pure_function_of_raw(
    read_back: dict[str, tuple[list[SourceRecord], list[Rejection]]],
) -> None:
    for record in read_back[SAMPLE][0]:
        before = copy.deepcopy(record.raw)
        first, second = (
            FORMAT.normalise(record.raw),
            FORMAT.normalise(json.loads(json.dumps(record.raw))),
        )
        assert first.doc == second.doc and first.warnings == second.warnings
        assert record.raw == before


# --- packages written here ----------------------------------------------------------------------


def write(folder: Path, files: Mapping[str, str | bytes]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode()
        (folder / name).write_bytes(data)
    return folder


BLANK_IDS = {
    "organizations.csv": "id,name\no1,Helping Hands\n",
    "services.csv": (
        "id,organization_id,name,status\n"
        ",o1,Peer Support Group,active\n"
        ",o1,Warmline,\n"
        "s3,o1,Crisis Line,closed\n"
    ),
    "locations.csv": "id,name\nl1,Main office\n",
    "service_at_location.csv": "id,service_id,location_id\n,s3,l1\n",
    "phones.csv": "id,service_id,location_id,number\n,,l1,(312) 555-0100\n,s3,,988\n",
}


def test_blank_ids_get_stable_derived_ids(tmp_path: Path) -> None:
    package = write(tmp_path / "p", BLANK_IDS)
    first, rejected = read(package)
    second, _ = read(package)
    assert rejected == []
    ids = [r.external_id for r in first]
    assert ids == [r.external_id for r in second]
    assert ids[0].startswith("h-") and ids[1].startswith("h-") and ids[0] != ids[1]
    assert ids[2] == "s3"
    crisis = FORMAT.normalise(first[2].raw)
    # children with blank ids still join by the key they have
    assert crisis.doc["phones"] == [{"number": "988", "country": "US", "type": "voice"}]
    assert crisis.doc["locations"][0]["phones"][0]["number"] == "(312) 555-0100"
    assert crisis.doc["status"] == "active"
    assert ("status", "unknown status, imported as active: 'closed'") in crisis.warnings


def test_orphans_and_duplicates_are_rejected(tmp_path: Path) -> None:
    package = write(tmp_path / "p", {
        "services.csv": "id,name\ns1,First\ns2,Second\ns1,First again\n",
        "phones.csv": "id,service_id,number\np1,s1,(312) 555-0100\np2,nope,(312) 555-0101\n",
        "languages.csv": "id,service_id,location_id,name\n,s9,,Spanish\n,,l9,French\n",
        "service_at_location.csv": "id,service_id,location_id\n",
    })  # fmt: skip
    records, rejected = read(package)
    assert [r.external_id for r in records] == ["s1", "s2"]
    assert sorted((r.file, r.row, r.field, r.reason) for r in rejected) == [
        ("languages.csv", 2, "service_id", "no service with this id: 's9'"),
        ("languages.csv", 3, "location_id", "no location with this id: 'l9'"),
        ("phones.csv", 3, "service_id", "no service with this id: 'nope'"),
        ("services.csv", 4, "id", "duplicate of row 2"),
    ]


def test_untrusted_package_layout(tmp_path: Path) -> None:
    """Headers with spaces and capitals, a BOM, extra and missing columns, a multi-line cell,
    and a datapackage.json whose paths point nowhere."""
    package = write(tmp_path / "p", {
        "datapackage.json": json.dumps({"resources": [
            {"name": "services", "path": "data/services.csv"},
            {"name": "phones", "path": "tables/phone-numbers.csv"},
        ]}),
        "services.csv": "\ufeff Id , Name ,Description,extra\n s1 , Drop-in ,\"two\nlines\",x\n",
        "tables_missing.txt": "",
        "phone.csv": "id,service_id,number\np1,s1,(312) 555-0100,surplus\n",
    })  # fmt: skip
    (records, rejected) = read(package / "datapackage.json")
    assert rejected == []
    record = records[0]
    assert (record.external_id, record.row) == ("s1", 2)
    doc = validated(record)
    assert (doc["name"], doc["description"]) == ("Drop-in", "two\nlines")
    assert doc["phones"][0]["number"] == "(312) 555-0100"


def test_taxonomy_terms_map_to_needs(tmp_path: Path) -> None:
    package = write(tmp_path / "p", {
        "services.csv": "id,name\ns1,Crisis Center\n",
        "taxonomy_terms.csv": (
            "id,code,name\nt1,RP-1500.1400-800,Suicide Prevention Hotlines\nt2,,Food Pantry\n"
            "t3,ZZ-9999,Something else\nt4,RX-1700.0500,Alcohol Detoxification\n"
        ),
        "attributes.csv": (
            "id,link_id,taxonomy_term_id,link_entity\n"
            "a1,s1,t1,service\na2,s1,t2,service\na3,s1,t3,service\na4,s1,t4,service\n"
            "a5,s9,t1,service\na6,l1,t1,location\n"
        ),
    })  # fmt: skip
    records, rejected = read(package)
    assert [(r.file, r.row, r.field) for r in rejected] == [("attributes.csv", 6, "link_id")]
    result = FORMAT.normalise(records[0].raw)
    assert result.doc["needs"] == ["suicide-prevention", "food", "detox"]
    assert [w for w in result.warnings if w[0] == "needs"] == [
        ("needs", "unmapped taxonomy term: 'ZZ-9999'")
    ]


def test_hsds1_taxonomy_tables(tmp_path: Path) -> None:
    package = write(tmp_path / "p", {
        "services.csv": "id,name,taxonomy_ids\ns1,Clinic,RP-1400\n",
        "taxonomy.csv": "id,name,vocabulary\nRP-1400,Counseling,AIRS\nx1,Support Groups,\n",
        "services_taxonomy.csv": "id,service_id,taxonomy_id\n1,s1,x1\n",
    })  # fmt: skip
    records, _ = read(package)
    assert FORMAT.normalise(records[0].raw).doc["needs"] == ["support-groups", "counseling"]


def test_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "services.ndjson"
    lines = [
        json.dumps({"id": "a", "name": "A", "status": "active"}),
        "",
        json.dumps({"id": "b", "name": "B", "status": "active", "languages": [{"name": "ASL"}]}),
        '{"id": "c", "name": "C", "sta',
        json.dumps({"id": "a", "name": "A again", "status": "active"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    assert FORMAT.detect(path)
    records, rejected = read(path)
    assert [(r.external_id, r.row) for r in records] == [("a", 1), ("b", 3)]
    assert [(r.row, r.reason.split(":")[0]) for r in rejected] == [
        (4, "not an HSDS service"),
        (5, "duplicate of row 1"),
    ]
    assert validated(records[1])["languages"] == [{"code": "ase"}]


def test_a_service_without_a_name_is_rejected() -> None:
    with pytest.raises(RowRejected) as caught:
        FORMAT.normalise({"id": "x", "name": "  "})
    assert caught.value.field == "name"


def test_a_service_without_an_organization_is_still_listed() -> None:
    result = FORMAT.normalise({"id": "x", "name": "Warmline", "organization_id": "o404"})
    assert result.doc["organization"] == {"name": "Warmline"}
    assert result.warnings == [
        ("organization", "organization not in the source, named after the service: 'o404'")
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"notes.txt": "hello"}, "no services.csv"),
        ({"services.csv": "id,title\n1,x\n"}, "no 'name' column"),
        ({"services.csv": ""}, "empty file"),
        (
            {"services.csv": b"id,name\n1,Caf\xe9 con leche\n"},
            "not UTF-8 text (byte 0xe9 on line 2)",
        ),
        (
            {"organizations.csv": b"id,name\n1,\xff\n", "services.csv": "id,name\n1,x\n"},
            "not UTF-8",
        ),
    ],
)
def test_unreadable_packages(tmp_path: Path, files: dict[str, str | bytes], message: str) -> None:
    package = write(tmp_path / "p", files)
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(FORMAT.read(package))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.json", b"", "empty file"),
        ("blank.json", b"  \n", "empty file"),
        ("cut.json", None, "not valid JSON"),
        ("latin1.json", b'{"name": "Caf\xe9", "status": "active"}', "not UTF-8"),
        ("lines.ndjson", b"not json\n", "line 1 is not JSON"),
        ("empty.ndjson", b"\n\n", "empty file"),
        ("notes.txt", b"hello", "not an HSDS package folder, JSON or NDJSON file"),
        ("other.json", b'{"England": {"raw_html": ""}}', "not HSDS JSON"),
        ("other.ndjson", b'{"phones": []}\n', "line 1 is not an HSDS service"),
    ],
)
def test_unreadable_documents(
    tmp_path: Path, datasets_dir: Path, name: str, content: bytes | None, message: str
) -> None:
    if content is None:  # a download cut short
        content = (datasets_dir / HSDS3_JSON / "service_full.json").read_bytes()[:5000]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message):
        list(FORMAT.read(path))


# --- vocabularies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Spanish", [{"code": "es"}]),
        ("spanish (limited)", [{"code": "es", "note": "limited"}]),
        ("ASL", [{"code": "ase"}]),
        ("American Sign Language", [{"code": "ase"}]),
        ("Mandarin", [{"code": "zh", "note": "Mandarin"}]),
        ("Farsi", [{"code": "fa"}]),
        ("es", [{"code": "es"}]),
        ("spa", [{"code": "es"}]),
        ("Urdu", [{"code": "ur"}]),
        ("English, Spanish", [{"code": "en"}, {"code": "es"}]),
        ("Klingonese", None),
        ("English and Klingonese", None),
    ],
)
def test_language_names(written: str, expected: list[dict[str, str]] | None) -> None:
    assert language_entries(written) == expected


def test_unknown_languages_are_warned_about() -> None:
    result = FORMAT.normalise({"name": "X", "languages": [{"name": "Elvish"}, {"code": "xx"}]})
    assert result.doc["languages"] == []
    assert [field for field, _ in result.warnings] == ["organization", "languages", "languages"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Handicap accessible", (["wheelchair"], False)),
        ("wheelchair", (["wheelchair"], False)),
        ("disabled_parking", (["accessible-parking"], False)),
        ("deaf_interpreter", (["sign-language-interpreter"], False)),
        ("Ramp at the side door; elevator to all floors", (["wheelchair", "elevator"], True)),
        ("wheelchair_van", ([], True)),
        ("Lift available", ([], True)),
    ],
)
def test_accessibility_values(written: str, expected: tuple[list[str], bool]) -> None:
    assert accessibility_codes(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Illinois", ["US-IL"]),
        ("IL", ["US-IL"]),
        ("State of Illinois", ["US-IL"]),
        ("Illinois statewide", ["US-IL"]),
        ("IL and IN", ["US-IL", "US-IN"]),
        ("Nationwide", ["US"]),
        ("United States", ["US"]),
        ("Cook County", []),
        ("Chicago, IL", []),
        ("Statewide", []),
    ],
)
def test_service_area_regions(written: str, expected: list[str]) -> None:
    assert regions(written) == expected


def _need_codes() -> set[str]:
    def walk(nodes: list[dict[str, Any]]) -> set[str]:
        return {n["code"] for n in nodes} | {c for n in nodes for c in walk(n.get("children", []))}

    return walk(yaml.safe_load((seed_dir() / "needs.yaml").read_text())["needs"])


def test_mapping_tables_name_only_known_codes() -> None:
    airs = mappings.mapping("airs")
    assert set(airs["needs"].values()) | set(airs["text"].values()) <= _need_codes()
    assert all(key == key.upper() for key in airs["needs"])
    table = mappings.mapping("accessibility")
    used = set(table["values"].values()) | set(table["phrases"].values())
    assert used <= set(vocabularies.accessibility_codes())
    for value in mappings.mapping("languages")["names"].values():
        code = value["code"] if isinstance(value, dict) else value
        assert vocabularies.language(code)[0] == code


@pytest.mark.parametrize(
    ("code", "need"),
    [
        ("RP-1500", "crisis"),
        ("RP-1500.1400-500", "crisis"),
        ("RP-1500.1400-800", "suicide-prevention"),
        ("RP-1400.8000-100", "grief"),
        ("RX-8450.8000", "substance-use"),
        ("RX-1700.1700", "detox"),
        ("PN-8100.5000", "support-groups"),
        ("BD-1800.2000", "food"),
        ("BH-1800.8500", "housing"),
        ("BH-1800.1500-100", "domestic-violence"),
        ("FT-3200", "legal"),
        ("ND-1500", "employment"),
        ("LN-1500", None),
    ],
)
def test_airs_codes(code: str, need: str | None) -> None:
    assert mappings.airs_need(code) == need
