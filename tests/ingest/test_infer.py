"""Needs inferred from a listing's own words when its file gives none: the phrase table, the mark
they carry from the document to the database, and a detox centre of a locator CSV without
``type_facility`` found by a search for need=detox."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from directory.ingest.compose import compose
from directory.ingest.formats import resolve
from directory.ingest.formats.samhsa_codes import need_lineage
from directory.ingest.formats.samhsa_locator import FORMAT as LOCATOR
from directory.ingest.infer import infer_needs, needs_in, phrase_words
from directory.ingest.load import run_import
from directory.ingest.mappings import mapping
from directory.ingest.records import Normalised
from directory.listings.rows import INFERRED_NEED
from directory.listings.schemas import ServiceCreate
from directory.listings.service import content_hash
from directory.search import service
from directory.search.query import SearchQuery
from directory.search.sync import sync_batch

BURLINGTON = (44.4759, -73.2121)
# The locator's columns (its first one unnamed), without type_facility.
LOCATOR_COLUMNS = [
    "",
    "name1",
    "name2",
    "street1",
    "street2",
    "city",
    "state",
    "zip",
    "zip4",
    "county",
    "phone",
    "intake_prompt",
    "intake1",
    "intake2",
    "website",
    "latitude",
    "longitude",
]
# Words that name something else too: none may be a phrase of the table on its own.
OVER_BROAD = {
    "rehab",
    "rehabilitation",
    "recovery",
    "therapy",
    "counseling",
    "trauma",
    "treatment",
    "health",
    "center",
    "services",
    "outpatient",
    "residential",
    "inpatient",
    "naloxone",
    "children",
    "care",
    "hospital",
    "clinic",
    "group",
    "family",
    "house",
    "housing",
    "mat",
    "na",
    "aa",
}


# --- the phrase table


@pytest.mark.parametrize(
    ("words", "needs"),
    [
        ("Harbor Detox Center", ["detox"]),
        ("Detoxification and Withdrawal Management Unit", ["detox"]),
        ("Centro de Desintoxicación San Juan", ["detox"]),
        ("CENTRO DE DESINTOXICACION", ["detox"]),
        ("Methadone Clinic of Elm", ["medication-assisted-treatment"]),
        ("Clínica de Metadona", ["medication-assisted-treatment"]),
        ("Sober Living Homes LLC", ["recovery-housing"]),
        ("Oxford House - Elm Street", ["recovery-housing"]),
        ("Hogar Crea: vivienda de recuperación para hombres", ["recovery-housing"]),
        ("Riverside Behavioral Health", ["mental-health"]),
        ("Salud Mental del Pueblo", ["mental-health"]),
        ("Children's Mental Health Services", ["mental-health", "youth"]),
        ("Post-Partum Support for Embarazadas", ["pregnant-postpartum"]),
        (
            "Women and Children Residential Drug Treatment",
            ["substance-use", "residential-treatment"],
        ),
        ("Problem Gambling Services", ["gambling"]),
        ("Alcohólicos Anónimos Grupo Esperanza", ["support-groups"]),
    ],
)
def test_phrases_name_needs_in_english_and_spanish(words: str, needs: list[str]) -> None:
    assert needs_in(words) == needs


@pytest.mark.parametrize(
    "words",
    [
        "Credit Counseling Center",
        "Level I Trauma Center",
        "Physical Rehab Hospital",
        "Recovery Auto Body",
        "Outpatient Surgery Center",
        "We do not provide methadone",
        "No detox on site",
        "Sin desintoxicación",
        "",
    ],
)
def test_words_that_name_something_else_name_no_need(words: str) -> None:
    assert needs_in(words) == []


def test_a_need_after_no_cost_still_counts() -> None:
    assert needs_in("No cost detox and methadone") == ["detox", "medication-assisted-treatment"]


def test_the_table_names_only_our_needs_with_precise_phrases() -> None:
    table: dict[str, list[str]] = mapping("need_words")["needs"]
    assert set(table) <= set(need_lineage())
    for need, phrases in table.items():
        assert phrases, need
        for phrase in phrases:
            found = phrase_words(phrase)
            assert found, (need, phrase)
            assert not (len(found) == 1 and found[0].rstrip("*") in OVER_BROAD), (need, phrase)
            assert all(len(word.rstrip("*")) >= 3 for word in found if word.endswith("*")), phrase


# --- infer_needs on a document


def test_a_document_without_needs_gets_them_marked_and_counted() -> None:
    doc: dict[str, Any] = {
        "name": "Valley Services",
        "alternate_name": "Valley Sober House",
        "description": "Buprenorphine and counseling for adults.",
    }
    result = Normalised(doc)
    infer_needs(doc, result)
    assert doc["needs"] == ["medication-assisted-treatment", "recovery-housing"]
    assert doc["inferred_needs"] == doc["needs"]
    assert result.tallies == {"needs: inferred": 1}


def test_a_document_with_needs_is_left_alone() -> None:
    doc: dict[str, Any] = {"name": "Harbor Detox Center", "needs": ["mental-health"]}
    result = Normalised(doc)
    infer_needs(doc, result)
    assert doc == {"name": "Harbor Detox Center", "needs": ["mental-health"]}
    assert result.tallies == {}


def test_a_document_whose_words_name_nothing_is_counted() -> None:
    doc: dict[str, Any] = {"name": "Northeast Kingdom Services", "needs": []}
    result = Normalised(doc)
    infer_needs(doc, result)
    assert doc == {"name": "Northeast Kingdom Services", "needs": []}
    assert result.tallies == {"needs: none found": 1}


def locator_row(name: str, **values: str) -> dict[str, str]:
    row = {column: "NA" for column in LOCATOR_COLUMNS[1:]}
    row |= {"name1": name, "street1": "1 Main St", "city": "Burlington", "state": "VT"}
    row |= {"zip": "5401", "latitude": str(BURLINGTON[0]), "longitude": str(BURLINGTON[1])}
    return row | values


def test_the_locator_infers_only_without_a_facility_type() -> None:
    without = LOCATOR.normalise(locator_row("Harbor Detox Center"))
    assert without.doc["needs"] == without.doc["inferred_needs"] == ["detox"]
    assert without.tallies == {"needs: inferred": 1}
    blank = LOCATOR.normalise(locator_row("Harbor Detox Center", type_facility="NA"))
    assert blank.doc["inferred_needs"] == ["detox"]
    typed = LOCATOR.normalise(locator_row("Harbor Detox Center", type_facility="MH"))
    assert typed.doc["needs"] == ["mental-health"] and "inferred_needs" not in typed.doc
    assert typed.tallies == {}


# --- the mark, from the document to the database


def test_inferred_needs_must_be_needs() -> None:
    base = {"name": "A", "organization": {"name": "A"}, "needs": ["detox"]}
    assert ServiceCreate.model_validate({**base, "inferred_needs": ["detox"]}).inferred_needs == [
        "detox"
    ]
    with pytest.raises(ValidationError, match="inferred_needs not in needs: youth"):
        ServiceCreate.model_validate({**base, "inferred_needs": ["detox", "youth"]})


def test_the_digest_of_a_document_without_inferred_needs_is_as_before() -> None:
    doc = ServiceCreate.model_validate(
        {"name": "A", "organization": {"name": "A"}, "needs": ["detox"]}
    )
    unmarked = doc.model_dump_json(exclude={"inferred_needs", "capacity_status"})
    assert "inferred_needs" not in unmarked  # the fields added since digests were first kept
    assert content_hash(doc) == hashlib.sha256(unmarked.encode()).hexdigest()
    marked = doc.model_copy(update={"inferred_needs": ["detox"]})
    assert content_hash(marked) != content_hash(doc)


def test_needs_a_record_gives_win_over_needs_inferred_for_another() -> None:
    site = {"location_type": "physical", "address": {"postal_code": "05401"}}
    inferred = {"name": "A", "needs": ["detox", "youth"], "inferred_needs": ["detox", "youth"]}
    given = {"name": "A", "needs": ["mental-health", "detox"]}
    merged = compose([{**inferred, "locations": [site]}, {**given, "locations": [site]}])
    assert merged["needs"] == ["mental-health", "detox"] and "inferred_needs" not in merged
    both = compose([inferred, {"name": "A", "needs": ["detox"], "inferred_needs": ["detox"]}])
    assert both["needs"] == both["inferred_needs"] == ["detox", "youth"]
    plain = compose([given, {"name": "A", "needs": ["youth"]}])
    assert plain["needs"] == ["mental-health", "detox", "youth"] and "inferred_needs" not in plain


def write_locator(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LOCATOR_COLUMNS)
        for index, row in enumerate(rows, start=1):
            writer.writerow([str(index), *(row[column] for column in LOCATOR_COLUMNS[1:])])
    return path


def test_a_detox_centre_without_a_facility_type_is_found_by_need(
    session: Session, tmp_path: Path
) -> None:
    path = write_locator(
        tmp_path / "substance-use-facilities.csv",
        [
            locator_row("Harbor Detox Center", name2="Withdrawal Unit", street1="10 Pine St"),
            locator_row("Elm Street Sober Living", street1="20 Elm St"),
            locator_row("Northeast Kingdom Services", street1="30 Oak St"),
        ],
    )
    report = run_import(session, resolve("auto", path), path, source="test:inferred")
    assert report.counts["created"] == 3
    assert report.tallies["needs: inferred"] == 2 and report.tallies["needs: none found"] == 1
    stored = session.execute(
        text(
            "SELECT s.name, a.value, a.label FROM attribute a JOIN service s ON s.id = a.link_id "
            "JOIN provenance p ON p.service_id = s.id WHERE p.source = 'test:inferred' "
            "ORDER BY s.name"
        )
    ).all()
    assert [tuple(row) for row in stored] == [
        ("Elm Street Sober Living", "recovery-housing", INFERRED_NEED),
        ("Harbor Detox Center - Withdrawal Unit", "detox", INFERRED_NEED),
    ]
    while sync_batch(session):
        pass
    near = {"near": BURLINGTON, "radius_km": 5, "per_page": 100}

    def names(**query: Any) -> set[str]:
        found = service.search(session, SearchQuery(**near, **query))
        return {item.name for item in found.items}

    assert names(need=["detox"]) == {"Harbor Detox Center - Withdrawal Unit"}
    assert "Harbor Detox Center - Withdrawal Unit" in names(need=["substance-use"])
    assert "Elm Street Sober Living" in names(need=["recovery-housing"])
    assert "Harbor Detox Center - Withdrawal Unit" in names(q="desintoxicación")
    assert "Northeast Kingdom Services" not in names(need=["substance-use"])
    again = run_import(session, resolve("auto", path), path, source="test:inferred")
    assert (again.counts["created"], again.counts["updated"], again.counts["unchanged"]) == (
        0,
        0,
        3,
    )
