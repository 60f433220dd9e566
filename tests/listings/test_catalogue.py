"""The console's listings table: each filter narrows to exactly the listings it names, and bulk
verify and a dated verify record what they did."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from directory.accounts.models import User
from directory.errors import Conflict, Forbidden, InvalidInput
from directory.listings import curating, service
from directory.listings.catalogue import ListingFilters, listing_row, listing_table
from directory.listings.models import ListingChange, Service
from directory.listings.schemas import ServiceCreate

UTC = ZoneInfo("UTC")
NOW = dt.datetime.now(dt.UTC)
WORD = "Quillwort"  # in every name made here: the seed's listings never match it


def staff(role: str = "coordinator") -> User:
    return User(email=f"{role}@example.org", role=role)


def make(
    session: Session,
    name: str,
    *,
    organization: str = "Fenland Peer Network",
    curation: str = "published",
    source: str | None = None,
    needs: tuple[str, ...] = ("peer-support",),
    capacity: str | None = None,
    verified: dt.datetime | None = None,
) -> uuid.UUID:
    """A listing named ``<WORD> <name>``, with its facts as given."""
    doc: dict[str, Any] = {
        "name": f"{WORD} {name}",
        "organization": {"name": organization},
        "curation_status": curation,
        "needs": list(needs),
        "capacity_status": capacity,
    }
    if source:
        doc["provenance"] = {"source": source, "external_id": uuid.uuid4().hex}
    service_id = service.create_service(session, ServiceCreate.model_validate(doc), by="t")
    session.execute(
        update(Service).where(Service.id == service_id).values(last_verified_at=verified)
    )
    return service_id


@pytest.fixture
def listings(session: Session) -> dict[str, uuid.UUID]:
    old, recent = NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=10)
    found = {
        "Alder": make(session, "Alder", verified=recent, capacity="accepting", source="quill-a"),
        "Birch": make(session, "Birch", verified=old, capacity="waitlist", source="quill-b"),
        "Cedar": make(session, "Cedar", curation="draft", needs=("housing",), capacity="full"),
        "Dogwood": make(session, "Dogwood", curation="archived", organization="Marsh Aid"),
        "Elm": make(session, "Elm", verified=None, source="quill-a", needs=("detox",)),
    }
    session.expire_all()
    return found


def names(session: Session, *, days: int = 180, **filters: Any) -> list[str]:
    chosen = ListingFilters.model_validate({"q": WORD, **filters})
    table = listing_table(session, staff(), chosen, stale_after_days=days, zone=UTC)
    return [row.name.removeprefix(f"{WORD} ") for row in table.rows]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["Alder", "Birch", "Cedar", "Dogwood", "Elm"]),
        ({"status": "any"}, ["Alder", "Birch", "Cedar", "Dogwood", "Elm"]),
        ({"status": "draft"}, ["Cedar"]),
        ({"status": "published"}, ["Alder", "Birch", "Elm"]),
        ({"status": "archived"}, ["Dogwood"]),
        # stale alone: published ones, as the console's count has it
        ({"stale": "1"}, ["Birch", "Elm"]),
        ({"stale": "1", "status": "any"}, ["Birch", "Cedar", "Dogwood", "Elm"]),
        ({"source": "quill-a"}, ["Alder", "Elm"]),
        ({"need": "substance-use"}, ["Elm"]),  # its child need, detox
        ({"need": "housing"}, ["Cedar"]),
        ({"capacity": "accepting"}, ["Alder"]),
        ({"capacity": "waitlist"}, ["Birch"]),
        ({"capacity": "full"}, ["Cedar"]),
        ({"capacity": "unknown"}, ["Dogwood", "Elm"]),
        (
            {"verified_before": (NOW - dt.timedelta(days=100)).date().isoformat()},
            ["Birch", "Cedar", "Dogwood", "Elm"],
        ),
        ({"q": "marsh"}, ["Dogwood"]),  # the organization's name, any case
        ({"q": "quillWORT bir"}, ["Birch"]),
        ({"sort": "oldest-verified"}, ["Cedar", "Dogwood", "Elm", "Birch", "Alder"]),
    ],
)
def test_each_filter_narrows_to_what_it_names(
    session: Session, listings: dict[str, uuid.UUID], filters: dict[str, str], expected: list[str]
) -> None:
    assert names(session, **filters) == expected


def test_words_are_words_not_patterns(session: Session, listings: dict[str, uuid.UUID]) -> None:
    assert names(session, q="%") == []
    assert names(session, q="_lder") == []


def test_pages_count_the_whole(session: Session, listings: dict[str, uuid.UUID]) -> None:
    second = ListingFilters.model_validate({"q": WORD, "page": "2"})
    table = listing_table(session, staff(), second, stale_after_days=180, zone=UTC, per_page=2)
    assert (table.total, table.pages, [r.name for r in table.rows]) == (
        5,
        3,
        [f"{WORD} Cedar", f"{WORD} Dogwood"],
    )


def test_a_row_says_sources_needs_and_capacity(
    session: Session, listings: dict[str, uuid.UUID]
) -> None:
    row = listing_row(session, staff(), listings["Elm"])
    assert (row.sources, row.needs, row.capacity_status) == (("quill-a",), ("detox",), None)
    assert listing_row(session, staff(), listings["Birch"]).capacity_status == "waitlist"


@pytest.mark.parametrize(
    ("given", "field"),
    [({"source": "nowhere"}, "source"), ({"need": "no-such-need"}, "need")],
)
def test_unknown_source_or_need_is_refused(
    session: Session, given: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        listing_table(
            session, staff(), ListingFilters.model_validate(given), stale_after_days=1, zone=UTC
        )
    assert refused.value.field == field


def test_blank_fields_are_no_filter_and_bad_ones_are_refused() -> None:
    blank = {"status": "", "stale": "", "need": " ", "sort": "", "page": ""}
    assert ListingFilters.model_validate(blank) == ListingFilters()
    for bad in ({"status": "gone"}, {"page": "0"}, {"verified_before": "May"}, {"sort": "x"}):
        with pytest.raises(ValueError):
            ListingFilters.model_validate(bad)


def test_the_query_string_keeps_only_what_is_set() -> None:
    filters = ListingFilters.model_validate({"stale": "1", "q": "a b", "page": "3"})
    assert filters.query() == "stale=1&q=a+b&page=3"
    assert filters.query(page=1) == "stale=1&q=a+b"


def test_mentors_cannot_read_the_table(session: Session) -> None:
    with pytest.raises(Forbidden):
        listing_table(session, staff("mentor"), ListingFilters(), stale_after_days=1, zone=UTC)


def verify_rows(session: Session, service_id: uuid.UUID) -> dict[str, ListingChange]:
    query = select(ListingChange).where(
        ListingChange.service_id == service_id, ListingChange.last_action_type == "verify"
    )
    return {change.field_name: change for change in session.scalars(query)}


def test_bulk_verify_records_each_listing(session: Session, listings: dict[str, uuid.UUID]) -> None:
    chosen = [listings["Birch"], listings["Elm"]]
    day = curating.checked_on(NOW.date() - dt.timedelta(days=2), UTC)
    count = curating.verify_many(
        session,
        [*chosen, chosen[0]],
        by="bo@example.org",
        method="email",
        note="Both",
        checked_at=day,
    )
    assert count == 2
    for service_id in chosen:
        stored = session.get_one(Service, service_id, populate_existing=True)
        assert (stored.last_verified_at, stored.verified_by) == (day, "bo@example.org")
        assert (stored.verification_method, stored.verification_note) == ("email", "Both")
        found = verify_rows(session, service_id)
        assert sorted(found) == [
            "last_verified_at",
            "verification_method",
            "verification_note",
            "verified_by",
        ]
        assert found["verification_method"].replacement_value == "email"
        assert found["verified_by"].updated_by == "bo@example.org"
        assert (found["last_verified_at"].replacement_value or "").startswith(
            day.date().isoformat()
        )
    assert verify_rows(session, listings["Alder"]) == {}


def test_a_check_is_dated_the_day_it_was_made(
    session: Session, listings: dict[str, uuid.UUID]
) -> None:
    zone = ZoneInfo("America/New_York")
    day = dt.date(2026, 3, 14)
    at = curating.checked_on(day, zone)
    assert at.astimezone(zone).date() == day
    now = dt.datetime.now(dt.UTC)  # not NOW, taken when the run began, maybe minutes ago
    assert abs(curating.checked_on(now.astimezone(zone).date(), zone) - now) < dt.timedelta(
        seconds=5
    )
    verified = curating.verify_service(
        session, listings["Birch"], by="bo", expected_version=None, method="visit", checked_at=at
    )
    assert verified.last_verified_at == at
    assert (
        verify_rows(session, listings["Birch"])["last_verified_at"].replacement_value
        == "2026-03-14T16:00:00Z"  # noon in New York (summer time), as UTC
    )


def test_a_check_cannot_be_dated_in_the_future(
    session: Session, listings: dict[str, uuid.UUID]
) -> None:
    tomorrow = dt.datetime.now(UTC).date() + dt.timedelta(days=1)
    with pytest.raises(InvalidInput) as refused:
        curating.checked_on(tomorrow, UTC)
    assert refused.value.field == "checked_on"
    with pytest.raises(InvalidInput):
        curating.verify_many(
            session, [listings["Alder"]], by="bo", checked_at=NOW + dt.timedelta(days=1)
        )


def test_curation_moves_start_where_they_may(
    session: Session, listings: dict[str, uuid.UUID]
) -> None:
    archived = listings["Dogwood"]
    restored = curating.move_service(session, archived, "restore", expected_version=None, by="cy")
    assert restored.curation_status == "draft"
    with pytest.raises(Conflict):
        curating.move_service(session, archived, "unpublish", expected_version=None)
    curating.move_service(session, archived, "publish", expected_version=None, by="cy")
    query = (
        select(ListingChange.previous_value, ListingChange.replacement_value)
        .where(ListingChange.service_id == archived, ListingChange.field_name == "curation_status")
        .order_by(ListingChange.last_action_date)
    )
    assert session.execute(query).all() == [("archived", "draft"), ("draft", "published")]
