"""The console's listings table and a listing's console page (page tests, TestClient): filters,
refused parameters, bulk verify, verify, capacity, curation moves, history, permissions."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from directory.db import unit_of_work
from directory.listings import service
from directory.listings.models import ListingChange, Service
from directory.listings.schemas import ServiceCreate
from tests.web.browserutil import axe_problems, sign_in_staff
from tests.web.conftest import ContextFactory, LiveServer
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
        ("restore", "draft"),  # archived -> draft
        ("publish", "published"),
        ("unpublish", "draft"),
        ("archive", "archived"),
    ]


# -- In a real browser (Playwright) ---------------------------------------------------------


def stale_listings(live: LiveServer, token: str, names: tuple[str, ...]) -> dict[str, uuid.UUID]:
    """Published listings of the live server, last verified 300 days ago (stale)."""
    made = {}
    with unit_of_work(live.sessions) as db:
        for name in names:
            made[name] = make(db, f"{token} {name}", verified=NOW - dt.timedelta(days=300))
    return made


def test_coordinator_verifies_stale_listings(
    new_context: ContextFactory, live_server: LiveServer
) -> None:
    token = f"J{uuid.uuid4().hex[:8]}"
    made = stale_listings(live_server, token, ("Alpha", "Beta", "Gamma"))
    label = {name: f"{WORD} {token} {name}" for name in made}
    page = new_context().new_page()
    email = sign_in_staff(page, live_server)
    page.get_by_role("link", name="Verify stale listings").click()
    page.get_by_label("Name or organization").fill(token)
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator(".badge.stale")).to_have_count(3)
    assert axe_problems(page, "listings table") == []

    page.get_by_role("link", name=label["Alpha"]).click()
    expect(page.locator("h1")).to_have_text(label["Alpha"])
    page.get_by_label("How you checked").select_option(label="Phone call")
    page.get_by_label("Note (optional)").fill("Intake line confirmed the hours")
    page.get_by_role("button", name="Record the check").click()
    expect(page.locator(".notice")).to_have_text("Listing verified.")
    expect(page.locator("main")).to_contain_text("Intake line confirmed the hours")
    assert axe_problems(page, "console listing page") == []

    page.goto(f"/console/listings?stale=1&q={token}")
    expect(rows).to_have_count(2)
    page.get_by_label(f"Choose {label['Beta']}").check()
    page.get_by_label(f"Choose {label['Gamma']}").check()
    page.get_by_label("How you checked").select_option(label="Website")
    page.get_by_label("Note (optional)").fill("Checked the sites")
    page.get_by_role("button", name="Verify chosen listings").click()
    expect(page.locator(".notice")).to_have_text("2 listings verified")
    expect(page.locator("main")).to_contain_text("No listing matches these filters.")

    with live_server.sessions() as db:
        stored = {
            s.name.rsplit(" ", 1)[1]: s
            for s in db.scalars(select(Service).where(Service.id.in_(made.values())))
        }
        assert {n: (s.verified_by, s.verification_method) for n, s in stored.items()} == {
            "Alpha": (email, "phone"),
            "Beta": (email, "website"),
            "Gamma": (email, "website"),
        }
        assert stored["Alpha"].verification_note == "Intake line confirmed the hours"
        assert stored["Beta"].verification_note == "Checked the sites"
        for listing in stored.values():
            assert listing.last_verified_at is not None
            assert NOW - listing.last_verified_at < dt.timedelta(hours=1)
        changes = db.execute(
            select(
                ListingChange.service_id, ListingChange.field_name, ListingChange.updated_by
            ).where(
                ListingChange.service_id.in_(made.values()),
                ListingChange.last_action_type == "verify",
            )
        ).all()
    assert sorted((made_name(made, s), f, by) for s, f, by in changes) == sorted(
        (name, field, email)
        for name in made
        for field in ("last_verified_at", "verification_method", "verification_note", "verified_by")
    )


def made_name(made: dict[str, uuid.UUID], service_id: uuid.UUID) -> str:
    return next(name for name, found in made.items() if found == service_id)


@pytest.mark.parametrize(
    ("lang", "viewport"), [("en", "phone"), ("es", "phone"), ("es", "desktop")]
)
def test_listings_pages_pass_axe(
    new_context: ContextFactory, live_server: LiveServer, lang: str, viewport: str
) -> None:
    token = f"X{uuid.uuid4().hex[:8]}"
    made = stale_listings(live_server, token, ("Solo",))
    page = new_context(viewport=viewport, lang=lang).new_page()
    sign_in_staff(page, live_server)
    page.goto(f"/console/listings?stale=1&q={token}")
    expect(page.locator("table.data tbody tr")).to_have_count(1)
    problems = axe_problems(page, f"listings table ({lang}, {viewport})")
    page.goto(f"/console/listings/{made['Solo']}")
    problems += axe_problems(page, f"console listing page ({lang}, {viewport})")
    page.goto("/console/listings?status=gone")  # the page that explains a refused filter
    problems += axe_problems(page, f"listings table, refused filter ({lang}, {viewport})")
    assert problems == []
