"""The console's listings table and a listing's console page (page tests, TestClient): filters,
refused parameters, bulk verify, verify, capacity, curation moves, history, permissions."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from directory.listings import service
from directory.listings.models import ListingChange, Service
from directory.listings.schemas import ServiceCreate
from tests.web.webutil import csrf, sign_up

WORD = "Sedgewick"  # in every name made here: the seed's listings never match it
NOW = dt.datetime.now(dt.UTC)


def make(session: Session, name: str, **fields: Any) -> uuid.UUID:
    """A listing named ``<WORD> <name>``; ``verified`` sets when it was last verified."""
    verified = fields.pop("verified", None)
    source = fields.pop("source", None)
    doc = {
        "name": f"{WORD} {name}",
        "organization": {"name": fields.pop("organization", "Reedbank Peers")},
        "needs": ["peer-support"],
        **fields,
    }
    if source:
        doc["provenance"] = {"source": source, "external_id": uuid.uuid4().hex}
    made = service.create_service(session, ServiceCreate.model_validate(doc), by="seed")
    session.execute(update(Service).where(Service.id == made).values(last_verified_at=verified))
    return made


@pytest.fixture
def listings(session: Session) -> dict[str, uuid.UUID]:
    old = NOW - dt.timedelta(days=300)
    made = {
        "Aster": make(
            session, "Aster", verified=NOW, capacity_status="accepting", source="sedge-a"
        ),
        "Bramble": make(session, "Bramble", verified=old, source="sedge-b"),
        "Clover": make(session, "Clover", curation_status="draft", needs=["housing"]),
        "Dock": make(session, "Dock", curation_status="archived", organization="Tarn House"),
    }
    session.commit()
    return made


def shown(page_text: str) -> list[str]:
    """The names in the table's rows, in order."""
    return re.findall(
        rf'<th scope="row"><a href="/console/listings/[^"]+">{WORD} (\w+)</a>', page_text
    )


@pytest.fixture
def coordinator(client: TestClient, session: Session) -> str:
    return sign_up(client, session, role="coordinator")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Aster", "Bramble", "Clover", "Dock"]),
        ({"status": "draft"}, ["Clover"]),
        ({"status": "published"}, ["Aster", "Bramble"]),
        ({"status": "archived"}, ["Dock"]),
        ({"stale": "1"}, ["Bramble"]),
        ({"source": "sedge-a"}, ["Aster"]),
        ({"need": "housing"}, ["Clover"]),
        ({"capacity": "accepting"}, ["Aster"]),
        ({"capacity": "unknown"}, ["Bramble", "Clover", "Dock"]),
        (
            {"verified_before": (NOW - dt.timedelta(days=30)).date().isoformat()},
            ["Bramble", "Clover", "Dock"],
        ),
        ({"q": "tarn"}, ["Dock"]),
        ({"sort": "oldest-verified"}, ["Clover", "Dock", "Bramble", "Aster"]),
    ],
)
def test_each_filter_narrows_the_table(
    client: TestClient,
    coordinator: str,
    listings: dict[str, uuid.UUID],
    query: dict[str, str],
    expected: list[str],
) -> None:
    page = client.get("/console/listings", params={"q": WORD, **query})
    assert page.status_code == 200
    assert shown(page.text) == expected


def test_the_table_shows_each_listing_s_facts(
    client: TestClient, coordinator: str, listings: dict[str, uuid.UUID]
) -> None:
    page = client.get("/console/listings", params={"q": f"{WORD} Bramble"}).text
    assert f'href="/console/listings/{listings["Bramble"]}"' in page
    assert '<span class="badge stale">Stale</span>' in page
    assert "sedge-b" in page and "Reedbank Peers" in page and "Peer support" in page
    assert f'<span class="visually-hidden">Choose {WORD} Bramble</span>' in page
    assert 'aria-current="page">Listings' in page
    assert '<option value="sedge-a">sedge-a</option>' in page  # the known sources


def test_the_console_home_s_links_filter_the_table(client: TestClient, coordinator: str) -> None:
    for query in ("stale=1", "status=draft", "status=published", "status=archived"):
        page = client.get(f"/console/listings?{query}")
        assert page.status_code == 200, query
    page = client.get("/console/listings?stale=1").text
    assert '<option value="published" selected>' in page  # stale: published ones, as counted


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=gone", "Choose one of the options."),
        ("page=0", "Not a page number."),
        ("page=many", "Not a page number."),
        ("verified_before=yesterday", "Not a valid date."),
        ("source=nowhere", "Choose a source from the list."),
        ("need=no-such-need", "Choose a need from the list."),
        ("need=Bad%20Need", "Choose a need from the list."),
        ("q=" + "x" * 201, "This is too long."),
    ],
)
def test_bad_parameters_are_explained(
    client: TestClient, coordinator: str, query: str, message: str
) -> None:
    page = client.get(f"/console/listings?{query}")
    assert page.status_code == 422
    assert message in page.text
    assert 'aria-invalid="true"' in page.text or query.startswith("page=")
    assert "<table" not in page.text


def test_a_mentor_gets_no_listings_pages(
    client: TestClient, session: Session, listings: dict[str, uuid.UUID]
) -> None:
    sign_up(client, session, role="mentor")
    token = csrf(client.get("/account"))
    assert client.get("/console/listings").status_code == 403
    assert client.get(f"/console/listings/{listings['Aster']}").status_code == 403
    answer = client.post(
        "/console/listings/verify",
        data={"csrf": token, "ids": str(listings["Aster"]), "method": "phone"},
    )
    assert answer.status_code == 403
    session.expire_all()
    assert session.get_one(Service, listings["Aster"]).verified_by is None


def test_bulk_verify_verifies_the_chosen_and_goes_back(
    client: TestClient, session: Session, coordinator: str, listings: dict[str, uuid.UUID]
) -> None:
    table = client.get("/console/listings", params={"q": WORD, "stale": "1", "status": "any"})
    chosen = [listings["Bramble"], listings["Clover"]]
    answer = client.post(
        "/console/listings/verify",
        data={
            "csrf": csrf(table),
            "back": f"q={WORD}&stale=1&status=any",
            "ids": [str(i) for i in chosen],
            "method": "website",
            "note": "Hours match the site",
            "checked_on": (NOW.date() - dt.timedelta(days=1)).isoformat(),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/listings?status=any&stale=1&q={WORD}&verified=2"
    back = client.get(answer.headers["location"])
    assert "2 listings verified" in back.text
    assert shown(back.text) == ["Dock"]  # the two are no longer stale
    session.expire_all()
    for service_id in chosen:
        stored = session.get_one(Service, service_id)
        assert (stored.verified_by, stored.verification_method) == (coordinator, "website")
        assert stored.verification_note == "Hours match the site"
        assert stored.last_verified_at is not None
        assert stored.last_verified_at.date() == NOW.date() - dt.timedelta(days=1)
        kinds = session.scalars(
            select(ListingChange.field_name).where(
                ListingChange.service_id == service_id, ListingChange.last_action_type == "verify"
            )
        ).all()
        assert sorted(kinds) == [
            "last_verified_at",
            "verification_method",
            "verification_note",
            "verified_by",
        ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"method": "phone"}, "Choose at least one listing."),
        ({"ids": "PICK", "method": ""}, "Choose one of the options."),
        ({"ids": "PICK", "method": "fax"}, "Choose one of the options."),
        (
            {"ids": "PICK", "method": "phone", "checked_on": "2999-01-01"},
            "must be a day that has passed",
        ),
        ({"ids": "not-an-id", "method": "phone"}, "Choose at least one listing."),
    ],
)
def test_bulk_verify_explains_what_is_missing(
    client: TestClient,
    coordinator: str,
    listings: dict[str, uuid.UUID],
    fields: dict[str, str],
    message: str,
) -> None:
    table = client.get("/console/listings", params={"q": WORD})
    data = {**fields, "csrf": csrf(table), "back": f"q={WORD}"}
    if data.get("ids") == "PICK":
        data["ids"] = str(listings["Aster"])
    answer = client.post("/console/listings/verify", data=data)
    assert answer.status_code == 422
    assert message in answer.text
    assert shown(answer.text) == ["Aster", "Bramble", "Clover", "Dock"]  # the same table


def test_the_listing_page_shows_facts_links_and_history(
    client: TestClient, coordinator: str, listings: dict[str, uuid.UUID]
) -> None:
    aster = listings["Aster"]
    page = client.get(f"/console/listings/{aster}")
    assert page.status_code == 200
    assert f"<h1>{WORD} Aster</h1>" in page.text
    assert f'href="/listings/{aster}"' in page.text
    assert f'href="/console/listings/{aster}/edit"' in page.text
    assert "Accepting new clients" in page.text
    assert re.search(r"<td>created</td>\s*<td>listing</td>", page.text)
    assert '<input type="hidden" name="version" value="1">' in page.text
    draft = client.get(f"/console/listings/{listings['Clover']}").text
    assert ">Publish</button>" in draft and ">Restore" not in draft
    archived = client.get(f"/console/listings/{listings['Dock']}").text
    assert ">Restore as a draft</button>" in archived and ">Publish</button>" not in archived
    assert client.get(f"/console/listings/{uuid.uuid4()}").status_code == 404


def test_verify_from_the_listing_page(
    client: TestClient, session: Session, coordinator: str, listings: dict[str, uuid.UUID]
) -> None:
    bramble = listings["Bramble"]
    page = client.get(f"/console/listings/{bramble}")
    day = NOW.date() - dt.timedelta(days=3)
    answer = client.post(
        f"/console/listings/{bramble}/verify",
        data={
            "csrf": csrf(page),
            "version": "1",
            "method": "phone",
            "note": "Spoke to intake",
            "checked_on": day.isoformat(),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/listings/{bramble}?done=verified"
    after = client.get(answer.headers["location"]).text
    assert (
        "Listing verified." in after and "Spoke to intake" in after and "by a phone call" in after
    )
    session.expire_all()
    stored = session.get_one(Service, bramble)
    assert stored.last_verified_at is not None and stored.last_verified_at.date() == day
    assert (stored.verification_method, stored.verification_note) == ("phone", "Spoke to intake")


def test_a_stale_version_or_a_future_day_is_explained(
    client: TestClient, session: Session, coordinator: str, listings: dict[str, uuid.UUID]
) -> None:
    aster = listings["Aster"]
    token = csrf(client.get(f"/console/listings/{aster}"))
    stale = client.post(
        f"/console/listings/{aster}/capacity",
        data={"csrf": token, "version": "7", "capacity": "full"},
    )
    assert stale.status_code == 409
    assert "changed since you opened this page" in stale.text
    future = client.post(
        f"/console/listings/{aster}/verify",
        data={"csrf": token, "version": "1", "method": "visit", "checked_on": "2999-12-31"},
    )
    assert future.status_code == 422
    assert 'aria-invalid="true" aria-describedby="checked_on-error"' in future.text
    session.expire_all()
    assert session.get_one(Service, aster).capacity_status == "accepting"


def test_capacity_and_curation_moves(
    client: TestClient, session: Session, coordinator: str, listings: dict[str, uuid.UUID]
) -> None:
    dock = listings["Dock"]
    token = csrf(client.get(f"/console/listings/{dock}"))
    steps = [
        ("capacity", {"capacity": "waitlist"}, "capacity"),
        ("status", {"move": "restore"}, "restore"),
        ("status", {"move": "publish"}, "publish"),
        ("status", {"move": "unpublish"}, "unpublish"),
        ("status", {"move": "archive"}, "archive"),
    ]
    for version, (path, fields, done) in enumerate(steps, start=1):
        answer = client.post(
            f"/console/listings/{dock}/{path}",
            data={"csrf": token, "version": str(version), **fields},
            follow_redirects=False,
        )
        assert answer.headers["location"] == f"/console/listings/{dock}?done={done}", fields
    again = client.post(
        f"/console/listings/{dock}/status",
        data={"csrf": token, "version": "6", "move": "unpublish"},
    )
    assert again.status_code == 409  # an archived listing is not published
    session.expire_all()
    stored = session.get_one(Service, dock)
    assert (stored.capacity_status, stored.curation_status) == ("waitlist", "archived")
    assert stored.capacity_updated_at is not None
    moves = session.execute(
        select(ListingChange.last_action_type, ListingChange.replacement_value)
        .where(ListingChange.service_id == dock, ListingChange.field_name == "curation_status")
        .order_by(ListingChange.last_action_date)
    ).all()
    assert moves == [
        ("unpublish", "draft"),  # restored: archived -> draft
        ("publish", "published"),
        ("unpublish", "draft"),
        ("archive", "archived"),
    ]
