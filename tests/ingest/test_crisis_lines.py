"""The crisis-line format: Wikipedia's list of 2021 (real file) and the project's curated file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from phonenumbers import shortnumberinfo

from directory.config import DEFAULT_SEED_DIR
from directory.ingest.formats import resolve
from directory.ingest.formats.crisis_lines import FORMAT
from directory.ingest.formats.wikipedia_lines import country
from directory.ingest.records import FormatError, Rejection, RowRejected, SourceRecord
from directory.listings.phones import parse_phone
from directory.listings.schemas import ServiceCreate

WIKIPEDIA = "crisis-lines-wikipedia/suicide-hotlines.json"
SEED = DEFAULT_SEED_DIR / "crisis_lines.yaml"
EMERGENCY = {"911", "112", "999"}


@pytest.fixture(scope="module")
def wikipedia(datasets_dir: Path) -> Path:
    return datasets_dir / WIKIPEDIA


@pytest.fixture(scope="module")
def items(wikipedia: Path) -> list[SourceRecord | Rejection]:
    return list(FORMAT.read(wikipedia))


@pytest.fixture(scope="module")
def records(items: list[SourceRecord | Rejection]) -> dict[str, SourceRecord]:
    """The crisis-line records by their place in the article ("England#6")."""
    return {item.raw["ref"]: item for item in items if isinstance(item, SourceRecord)}


@pytest.fixture(scope="module")
def docs(records: dict[str, SourceRecord]) -> dict[str, dict[str, Any]]:
    """The normalised documents of the records that become listings, by place."""
    found = {}
    for ref, record in records.items():
        try:
            found[ref] = FORMAT.normalise(record.raw).doc
        except RowRejected:
            continue
    return found


def kind(reason: str) -> str:
    return reason.split(":")[0]


def calls(doc: dict[str, Any]) -> list[str]:
    return [c["number"] for c in doc["crisis_channels"] if c["channel"] == "call"]


def test_the_wikipedia_list_reads_every_item(
    wikipedia: Path, items: list[SourceRecord | Rejection]
) -> None:
    assert FORMAT.detect(wikipedia)
    assert resolve("auto", wikipedia).name == "crisis-lines"
    assert [item.row for item in items] == list(range(1, 280))  # 279 items in 81 countries
    records = [item for item in items if isinstance(item, SourceRecord)]
    set_aside = Counter(kind(i.reason) for i in items if isinstance(i, Rejection))
    assert len(records) == 167
    assert set_aside == {
        "emergency service number, not a crisis line": 85,
        "nested list item repeated": 26,
        "empty list item": 1,
    }
    assert len({r.external_id for r in records}) == len(records)


def test_every_listing_validates_and_the_rest_say_why(
    records: dict[str, SourceRecord], docs: dict[str, dict[str, Any]]
) -> None:
    rejected: Counter[str] = Counter()
    for ref, record in records.items():
        if ref not in docs:
            with pytest.raises(RowRejected) as error:
                FORMAT.normalise(record.raw)
            rejected[f"{error.value.field}: {kind(error.value.reason)}"] += 1
            continue
        doc = docs[ref]
        provenance = {"source": "t", "external_id": record.external_id}
        ServiceCreate.model_validate({**doc, "provenance": provenance})
        assert doc["curation_status"] == "draft"
        assert "Wikipedia" in doc["description"] and "July 2021" in doc["description"]
        assert doc["needs"][:2] == ["crisis", "suicide-prevention"]
    assert rejected == {
        "phones: no dialable number or web address": 13,
        "country: no ISO 3166-1 code for this country": 1,  # Kosovo (XK is not ISO 3166-1)
    }
    assert len(docs) == 153


def test_countries_are_mapped_to_iso_codes(docs: dict[str, dict[str, Any]]) -> None:
    samaritans = docs["England#6"]
    assert samaritans["service_areas"] == [{"name": "United Kingdom", "regions": ["GB"]}]
    assert samaritans["crisis_channels"][0] | {"number": "116 123"} == {
        "channel": "call",
        "number": "116 123",
        "country": "GB",
        "hours": "24/7",
        "open_24_7": True,
    }
    assert docs["Korea#5"]["service_areas"][0]["regions"] == ["KR"]
    assert docs["Korea#5"]["name"] == "Lifeline Korea"
    assert country("Hong Kong") == ("HK", "Hong Kong")
    assert country("Brunei")[0] == "BN"
    with pytest.raises(RowRejected, match="unknown country"):
        country("Atlantis")


def test_the_us_lifeline_is_a_call_channel(docs: dict[str, dict[str, Any]]) -> None:
    lifeline = docs["United States#3"]
    assert lifeline["name"] == "The National Suicide Prevention Lifeline"
    assert "1-800-273-8255" in calls(lifeline)
    assert parse_phone("1-800-273-8255", "US").tel_uri == "tel:+18002738255"
    assert [c["url"] for c in lifeline["crisis_channels"] if c["channel"] == "chat"] == [
        "https://suicidepreventionlifeline.org/chat/"
    ]
    assert lifeline["languages"] == [{"code": "es"}]  # "Spanish-speaking counselors"


def test_no_listing_is_an_emergency_number(
    items: list[SourceRecord | Rejection], docs: dict[str, dict[str, Any]]
) -> None:
    for ref, doc in docs.items():
        numbers = [c["number"] for c in doc["crisis_channels"] if c.get("number")]
        iso = doc["service_areas"][0]["regions"][0]
        assert not any(shortnumberinfo.is_emergency_number(n, iso) for n in numbers), ref
        assert not numbers or not set(numbers) <= EMERGENCY, ref
    first = items[19]  # United States#1
    assert isinstance(first, Rejection)
    assert first.reason.startswith("emergency service number, not a crisis line: 911 is")


def test_nested_items_are_kept_once_with_their_parent(
    items: list[SourceRecord | Rejection], docs: dict[str, dict[str, Any]]
) -> None:
    repeat = items[22]  # United States#4, also inside #3's text
    assert isinstance(repeat, Rejection)
    assert repeat.reason.endswith("same text and numbers as United States#3")
    veterans = docs["United States#9"]
    assert "veterans" in veterans["needs"]
    assert {(c["channel"], c.get("number")) for c in veterans["crisis_channels"]} == {
        ("call", "1-800-273-8255"),
        ("call", "988"),
        ("text", "838255"),  # from the repeated item "can also be reached by texting to 838255"
        ("chat", None),
    }


def test_ids_are_stable_across_reads(
    wikipedia: Path, items: list[SourceRecord | Rejection]
) -> None:
    again = list(FORMAT.read(wikipedia))
    ids = [(i.row, i.external_id) for i in items if isinstance(i, SourceRecord)]
    assert ids == [(i.row, i.external_id) for i in again if isinstance(i, SourceRecord)]


def test_numbers_broken_by_the_article_are_rebuilt(docs: dict[str, dict[str, Any]]) -> None:
    assert calls(docs["Portugal#2"]) == ["225 50 60 70"]  # tel:225 shown "50 60 70 225 50 60 70"
    assert calls(docs["Algeria#2"]) == ["+213983200058"]  # tel:00213983200058
    assert calls(docs["Philippines#2"]) == ["(02) 7989-8727", "0917 899 8727"]  # 7989-USAP
    assert calls(docs["Russia#3"]) == ["+78202577577"]  # tel:007, shown 007 (8202) 577-577
    assert calls(docs["Slovenia#5"]) == ["+386 31 233 211"]


def test_text_chat_and_website_only_lines(
    records: dict[str, SourceRecord], docs: dict[str, dict[str, Any]]
) -> None:
    text = docs["United States#14"]["crisis_channels"]
    assert text == [
        {"channel": "text", "number": "741-741", "keyword": "HOME", "country": "US"}
        | {"hours": "24/7", "open_24_7": True}
    ]
    trevor = docs["United States#17"]
    assert {"youth", "lgbtq"} <= set(trevor["needs"])
    assert [c["channel"] for c in trevor["crisis_channels"]] == ["call", "text", "chat"]
    samaritans_usa = FORMAT.normalise(records["United States#16"].raw)
    assert samaritans_usa.doc["crisis_channels"] == []
    assert samaritans_usa.doc["url"] == "http://www.samaritansusa.org/"
    assert samaritans_usa.warnings == [
        ("crisis_channels", "no number or chat in the source: website only")
    ]
    with pytest.raises(RowRejected, match=r"^no dialable number or web address: not a valid"):
        FORMAT.normalise(records["Lebanon#1"].raw)  # 1564 is unknown to phonenumbers


def test_items_without_their_html_still_read(tmp_path: Path) -> None:
    path = tmp_path / "lines.json"
    batches = [
        {"phones": [], "description": "112 and 119 are the national emergency numbers."},
        {"phones": ["tel:15889191"], "description": "Lifeline Korea: Call 1588-9191"},
        {"phones": [], "description": "Counsel24: Call 1566-2525 or +82 2 1566 2525"},
    ]
    path.write_text(json.dumps({"Korea": {"parsed_batches": batches}}))
    items = list(FORMAT.read(path))
    assert isinstance(items[0], Rejection)
    docs = [FORMAT.normalise(item.raw).doc for item in items[1:] if isinstance(item, SourceRecord)]
    assert [(d["name"], calls(d)) for d in docs] == [
        ("Lifeline Korea", ["15889191"]),  # without the link text, the number of the link
        ("Counsel24", ["1566-2525", "+82 2 1566 2525"]),  # numbers found in the text
    ]


def test_the_projects_seed_file_round_trips() -> None:
    assert FORMAT.detect(SEED)
    items = list(FORMAT.read(SEED))
    services = yaml.safe_load(SEED.read_text())["services"]
    assert [i.external_id for i in items] == [s["external_id"] for s in services]
    for item, service in zip(items, services, strict=True):
        assert isinstance(item, SourceRecord)
        assert item.raw["source_url"] == service["source_url"]
        json.dumps(item.raw)  # YAML dates became strings
        doc = FORMAT.normalise(item.raw).doc
        kept = {k: v for k, v in service.items() if k not in ("external_id", "source_url")}
        assert doc == {k: v for k, v in kept.items() if k != "checked_on"}
        ServiceCreate.model_validate({**doc, "provenance": {"source": "t", "external_id": "x"}})
    assert isinstance(items[0], SourceRecord)
    lifeline = FORMAT.normalise(items[0].raw).doc
    assert [c["channel"] for c in lifeline["crisis_channels"]] == ["call", "text", "text", "chat"]


def test_listing_items_without_ids_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "lines.yaml"
    path.write_text(
        "source: t\nchecked_on: 2021-07-01\nservices:\n"
        "  - {external_id: a, name: A}\n  - {name: B}\n  - {external_id: a, name: C}\n  - x\n"
    )
    items = list(FORMAT.read(path))
    assert isinstance(items[0], SourceRecord) and items[0].raw["checked_on"] == "2021-07-01"
    assert [(i.row, i.reason) for i in items[1:] if isinstance(i, Rejection)] == [
        (2, "missing external_id"),
        (3, "duplicate external_id"),
        (4, "not a listing: expected a mapping"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("truncated.json", b'{"Algeria": {"raw_html": "<ul>', "not valid JSON, truncated"),
        ("list.json", b'[{"phones": [], "description": "x"}]', "neither a listing file"),
        ("object.json", b"{}", "neither a listing file"),
        ("shape.json", b'{"Algeria": {"parsed_batches": "x"}}', "neither a listing file"),
        ("latin1.json", '{"Pérou": "Línea"}'.encode("latin-1"), "not UTF-8 text"),
        ("empty.json", b"", "the file is empty"),
        ("blank.yaml", b"  \n", "the file is empty"),
        ("bad.yaml", b"services: [a, b\n", "not valid YAML"),
    ],
)
def test_unreadable_files_are_one_format_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert not FORMAT.detect(path)
    with pytest.raises(FormatError, match=message) as error:
        FORMAT.read(path)
    assert str(path) in str(error.value.detail)
