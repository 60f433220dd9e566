"""A listing's history: each command records the fields it changed, and only those."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.errors import InvalidInput
from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.listings import curating, service
from directory.listings.history import listing_history
from directory.listings.models import ListingChange, Provenance
from directory.listings.schemas import ServiceCreate, ServiceUpdate

PHONE_0177 = {
    "number": "(813) 555-0177",
    "display": "(813) 555-0177",
    "tel_uri": "tel:+18135550177",
    "e164": "+18135550177",
    "country": "US",
    "extension": None,
    "type": "voice",
    "description": None,
}


def new_listing(session: Session) -> uuid.UUID:
    doc = ServiceCreate.model_validate(
        {
            "name": "Harbor Peer Warmline",
            "description": "Peer-run warmline.",
            "organization": {"name": "Harbor Peer Collective"},
            "needs": ["peer-support"],
            "phones": [{"number": "(813) 555-0177", "country": "US"}],
            "locations": [{"name": "Drop-in center", "latitude": 27.95, "longitude": -82.45}],
        }
    )
    return service.create_service(session, doc, by="ana@example.org")


def changes(session: Session, service_id: uuid.UUID) -> list[ListingChange]:
    query = (
        select(ListingChange)
        .where(ListingChange.service_id == service_id)
        .order_by(ListingChange.last_action_date, ListingChange.field_name)
    )
    return list(session.scalars(query))


def rows(found: list[ListingChange]) -> list[tuple[Any, ...]]:
    return [
        (c.last_action_type, c.field_name, c.previous_value, c.replacement_value, c.updated_by)
        for c in found
    ]


def test_a_creation_is_one_record(session: Session) -> None:
    service_id = new_listing(session)
    (created,) = changes(session, service_id)
    assert rows([created]) == [
        ("create", "listing", None, "Harbor Peer Warmline", "ana@example.org")
    ]
    assert (created.resource_type, created.resource_id) == ("service", service_id)


def test_an_update_records_exactly_the_fields_it_changed(session: Session) -> None:
    service_id = new_listing(session)
    patch = ServiceUpdate.model_validate(
        {
            "name": "Harbor Warmline",
            "description": "Peer-run warmline, evenings too.",
            "alert": None,  # was None: no change, no record
            "needs": ["peer-support"],  # the same list again: no record
            "phones": [
                {"number": "(813) 555-0177", "country": "US"},
                {"number": "813-555-0199", "country": "US", "type": "text"},
            ],
        }
    )
    updated = service.update_service(
        session, service_id, patch, expected_version=1, by="bo@example.org"
    )
    assert updated.version == 2
    found = changes(session, service_id)[1:]
    assert [c.field_name for c in found] == ["description", "name", "phones"]
    assert rows(found[:2]) == [
        (
            "update",
            "description",
            "Peer-run warmline.",
            "Peer-run warmline, evenings too.",
            "bo@example.org",
        ),
        ("update", "name", "Harbor Peer Warmline", "Harbor Warmline", "bo@example.org"),
    ]
    phones = found[2]
    assert phones.previous_value is not None and phones.replacement_value is not None
    assert json.loads(phones.previous_value) == [PHONE_0177]
    assert json.loads(phones.replacement_value) == [
        PHONE_0177,
        {
            "number": "813-555-0199",
            "display": "(813) 555-0199",
            "tel_uri": "tel:+18135550199",
            "e164": "+18135550199",
            "country": "US",
            "extension": None,
            "type": "text",
            "description": None,
        },
    ]


def test_rewriting_a_list_unchanged_records_nothing(session: Session) -> None:
    service_id = new_listing(session)
    same = ServiceUpdate.model_validate(
        {"locations": [{"name": "Drop-in center", "latitude": 27.95, "longitude": -82.45}]}
    )
    service.update_service(session, service_id, same, expected_version=1)
    assert [c.last_action_type for c in changes(session, service_id)] == ["create"]


def test_curation_changes_are_publish_unpublish_archive(session: Session) -> None:
    service_id = new_listing(session)
    draft = ServiceUpdate(curation_status="draft")
    service.update_service(session, service_id, draft, expected_version=1, by="bo")
    published = ServiceUpdate(curation_status="published")
    service.update_service(session, service_id, published, expected_version=2, by="bo")
    curating.archive_service(session, service_id, expected_version=3, by="cy")
    assert rows(changes(session, service_id)[1:]) == [
        ("unpublish", "curation_status", "published", "draft", "bo"),
        ("publish", "curation_status", "draft", "published", "bo"),
        ("archive", "curation_status", "published", "archived", "cy"),
    ]


def test_verify_records_how_and_the_note(session: Session) -> None:
    service_id = new_listing(session)
    verified = curating.verify_service(
        session,
        service_id,
        by="bo@example.org",
        method="phone",
        note="Intake confirmed the evening hours.",
        expected_version=1,
    )
    assert verified.version == 2
    assert (verified.verification_method, verified.verification_note) == (
        "phone",
        "Intake confirmed the evening hours.",
    )
    found = {c.field_name: c for c in changes(session, service_id)[1:]}
    assert sorted(found) == [
        "last_verified_at",
        "verification_method",
        "verification_note",
        "verified_by",
    ]
    assert {c.last_action_type for c in found.values()} == {"verify"}
    assert found["verification_method"].replacement_value == "phone"
    assert found["verification_note"].replacement_value == "Intake confirmed the evening hours."
    assert found["verified_by"].replacement_value == "bo@example.org"
    assert found["last_verified_at"].previous_value is None
    assert verified.last_verified_at is not None
    stamp = found["last_verified_at"].replacement_value
    assert stamp is not None and stamp.startswith(verified.last_verified_at.date().isoformat())


@pytest.mark.parametrize(
    ("method", "note", "field"),
    [("fax", None, "method"), ("import", None, "method"), ("phone", "x" * 2001, "note")],
)
def test_verify_refuses_other_methods_and_long_notes(
    session: Session, method: str, note: str | None, field: str
) -> None:
    service_id = new_listing(session)
    with pytest.raises(InvalidInput) as refused:
        curating.verify_service(
            session, service_id, by="bo", method=method, note=note, expected_version=1
        )
    assert refused.value.field == field


def test_capacity_is_stamped_when_given(session: Session) -> None:
    service_id = new_listing(session)
    patch = ServiceUpdate.model_validate({"name": "Harbor Warmline"})
    updated = service.update_service(session, service_id, patch, expected_version=1)
    assert updated.capacity_updated_at is None  # not given: not stamped
    patch = ServiceUpdate.model_validate({"capacity_status": "waitlist"})
    updated = service.update_service(session, service_id, patch, expected_version=2)
    assert updated.capacity_updated_at is not None
    found = {c.field_name: c for c in changes(session, service_id)}
    assert found["capacity_status"].replacement_value == "waitlist"


def test_history_pages_newest_first(session: Session) -> None:
    service_id = new_listing(session)
    for version, name in enumerate(("One", "Two", "Three"), start=1):
        patch = ServiceUpdate(name=name)
        service.update_service(session, service_id, patch, expected_version=version, by="bo")
    first = listing_history(session, service_id, page=1, per_page=2)
    assert first.total == 4
    assert [(c.last_action_type, c.replacement_value) for c in first.items] == [
        ("update", "Three"),
        ("update", "Two"),
    ]
    second = listing_history(session, service_id, page=2, per_page=2)
    assert [(c.last_action_type, c.replacement_value) for c in second.items] == [
        ("update", "One"),
        ("create", "Harbor Peer Warmline"),
    ]


def test_an_import_that_changes_a_description_records_it(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ilao"
    shutil.copytree(datasets_dir / "hsds1-ilao", folder)
    fmt = resolve("hsds", folder)
    run_import(session, fmt, folder, source="test:ilao")
    services = folder / "services.csv"
    first = "135836,91676,,Free legal information and forms in Cook County,,Legal self-help center,"
    text = services.read_text(encoding="utf-8")
    assert text.count(first) == 1
    edited = first.replace("Legal self-help center", "Self-help desk")
    services.write_text(text.replace(first, edited), "utf-8")
    report = run_import(session, fmt, folder, source="test:ilao")
    assert report.counts["updated"] == 1
    link = session.scalars(
        select(Provenance).where(
            Provenance.source == "test:ilao", Provenance.external_id == "135836"
        )
    ).one()
    assert rows(changes(session, link.service_id)) == [
        # the first import created it (in bulk, one row); the second changed one field
        ("create", "listing", None, "Free legal information and forms in Cook County",
         "test:ilao"),
        ("import", "description", "Legal self-help center", "Self-help desk", "test:ilao"),
    ]  # fmt: skip
