"""The listing editor's pages (TestClient): create, edit every group of fields, problems shown
on their field, rows added without saving, a stale editor's comparison, who may edit; and the
browser journeys (two coordinators at once, no JavaScript, axe)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.listings import queries
from directory.listings.models import ListingChange
from directory.listings.schemas import ServiceCreate, ServiceUpdate
from directory.listings.service import create_service, update_service
from directory.web.listing_form import form_values, loaded_document
from directory.web.listing_form_errors import parse
from tests.web.browserutil import axe_problems, sign_in_staff
from tests.web.conftest import ContextFactory, LiveServer
from tests.web.webutil import csrf, sign_up

HIDDEN = re.compile(r'name="(version|base)" value="([^"]*)"')


def _listing(session: Session, name: str) -> uuid.UUID:
    doc = ServiceCreate.model_validate(
        {
            "name": name,
            "description": "Peers who listen.",
            "organization": {"name": f"{name} org"},
            "needs": ["peer-support"],
            "phones": [{"number": "(813) 555-0100"}],
            "locations": [
                {
                    "name": "Main office",
                    "address": {"address_1": "1 Main St", "city": "Tampa", "postal_code": "33602"},
                    "schedules": [
                        {
                            "freq": "WEEKLY",
                            "byday": "MO,TU,WE,TH,FR",
                            "opens_at": "09:00",
                            "closes_at": "17:00",
                            "timezone": "America/New_York",
                        }
                    ],
                }
            ],
        }
    )
    found = create_service(session, doc, by="seed@example.org")
    session.commit()
    return found


def _editor(client: TestClient, session: Session, service_id: uuid.UUID) -> dict[str, str]:
    """What the editor's form would send unchanged (its fields, version, base, token)."""
    page = client.get(f"/console/listings/{service_id}/edit")
    assert page.status_code == 200, page.text
    hidden = dict(HIDDEN.findall(page.text))
    listing = queries.read_service(session, service_id, published_only=False)
    return {**form_values(loaded_document(listing)), **hidden, "csrf": csrf(page)}


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data=data, follow_redirects=False)


def test_the_new_listing_form(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    page = client.get("/console/listings/new")
    assert page.status_code == 200
    assert 'name="site-0-address_1"' in page.text and 'value="draft" checked' in page.text
    assert "<option selected>America/New_York</option>" in page.text


def _token(client: TestClient, session: Session) -> str:
    """A form token (from an editor's page)."""
    return csrf(client.get(f"/console/listings/{_listing(session, 'Token')}/edit"))


def test_create_a_draft_listing(client: TestClient, session: Session) -> None:
    email = sign_up(client, session, role="coordinator")
    data = {
        **form_values({"locations": [{}], "phones": [{}]}),
        "csrf": _token(client, session),
        "name": "Brand New Peer Group",
        "org-name": "Brand New Org",
        "need-peer-support": "on",
        "phone-0-number": "(813) 555-0142",
        "site-0-name": "Library room",
        "site-0-city": "Tampa",
        "hours-tz": "America/New_York",
        "hours-WE-1-opens": "18:00",
        "hours-WE-1-closes": "20:00",
    }
    answer = _post(client, "/console/listings/new", data)
    assert answer.status_code == 303, answer.text
    service_id = uuid.UUID(answer.headers["location"].rsplit("/", 1)[1])
    made = queries.read_service(session, service_id, published_only=False)
    assert made.curation_status == "draft" and made.organization.name == "Brand New Org"
    assert [n.code for n in made.needs] == ["peer-support"]
    assert made.phones[0].display == "(813) 555-0142"
    assert made.locations[0].addresses[0].city == "Tampa"
    assert (made.schedules[0].byday, str(made.schedules[0].opens_at)) == ("WE", "18:00:00")
    who = session.scalars(
        select(ListingChange.updated_by).where(ListingChange.service_id == service_id)
    )
    assert set(who) == {email}


def test_edit_every_group(client: TestClient, session: Session) -> None:
    email = sign_up(client, session, role="coordinator")
    service_id = _listing(session, f"Edit all {uuid.uuid4().hex[:6]}")
    data = _editor(client, session, service_id)
    assert data["site-0-hours-MO-1-opens"] == "09:00"
    changes = {
        "description": "New words",
        "minimum_age": "16",
        "capacity_status": "waitlist",
        "need-anxiety": "on",
        "lang-count": "1",
        "lang-0-code": "spa",
        "lang-0-note": "Tuesdays",
        "cost-0-on": "on",
        "cost-0-details": "For all",
        "area-count": "1",
        "area-0-name": "Tampa Bay",
        "area-0-regions": "US-FL",
        "phone-0-number": "(813) 555-0177",
        "phone-0-extension": "4",
        "hours-tz": "America/New_York",
        "hours-text": "Evenings",
        "site-0-address_1": "2 Side St",
        "site-0-latitude": "27.95",
        "site-0-longitude": "-82.45",
        "site-0-access-0-on": "on",
        "site-0-phone-count": "1",
        "site-0-phone-0-number": "(813) 555-0188",
        "site-0-phone-0-country": "US",
        "site-0-hours-SA-1-opens": "10:00",
        "site-0-hours-SA-1-closes": "12:00",
        "site-0-hours-SA-closed": "",
        "site-0-hours-exc-count": "1",
        "site-0-hours-exc-0-from": "2026-12-24",
        "site-0-hours-exc-0-closed": "on",
        "site-0-hours-exc-0-note": "Holiday",
    }
    answer = _post(client, f"/console/listings/{service_id}/edit", {**data, **changes})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/console/listings/{service_id}"
    got = queries.read_service(session, service_id, published_only=False)
    assert (got.description, got.minimum_age, got.capacity_status) == ("New words", 16, "waitlist")
    assert {n.code for n in got.needs} == {"anxiety", "peer-support"}
    assert [(x.code, x.note) for x in got.languages] == [("es", "Tuesdays")]
    assert [(c.option, c.amount_description) for c in got.cost_options] == [("free", "For all")]
    assert got.service_areas[0].regions == ["US-FL"]
    assert (got.phones[0].display, got.phones[0].extension) == ("(813) 555-0177", "4")
    assert got.schedules[0].description == "Evenings"
    site = got.locations[0]
    assert site.addresses[0].address_1 == "2 Side St" and site.latitude == 27.95
    assert site.accessibility[0].code and site.phones[0].display == "(813) 555-0188"
    dated = [s for s in site.schedules if s.valid_from]
    assert [(str(s.valid_from), s.opens_at, s.description) for s in dated] == [
        ("2026-12-24", None, "Holiday")
    ]
    assert any(s.byday == "SA" for s in site.schedules)
    fields = set(
        session.scalars(
            select(ListingChange.field_name).where(
                ListingChange.service_id == service_id, ListingChange.updated_by == email
            )
        )
    )
    assert {"description", "minimum_age", "capacity_status"} <= fields


def test_an_unchanged_save_changes_nothing(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    service_id = _listing(session, f"Unchanged {uuid.uuid4().hex[:6]}")
    answer = _post(
        client, f"/console/listings/{service_id}/edit", _editor(client, session, service_id)
    )
    assert answer.status_code == 303
    assert queries.read_service(session, service_id, published_only=False).version == 1


def test_every_seeded_listing_opens_unchanged(session: Session) -> None:
    """What the editor shows of a listing reads back as the same document: a save that
    changed nothing sends nothing, whatever shape an import gave the listing."""
    page = queries.list_services(session, published_only=False, per_page=100)
    assert page.items
    for listing in page.items:
        doc = loaded_document(listing)
        assert parse(form_values(doc), create=False) == doc, listing.name


def test_bad_input_is_shown_on_its_field(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    service_id = _listing(session, f"Bad input {uuid.uuid4().hex[:6]}")
    data = {
        **_editor(client, session, service_id),
        "minimum_age": "eighteen",
        "lang-count": "1",
        "lang-0-code": "xx",
        "site-0-hours-MO-1-closes": "",
    }
    page = _post(client, f"/console/listings/{service_id}/edit", data)
    assert page.status_code == 422
    assert re.search(r'id="minimum_age"[^>]*value="eighteen"[^>]*aria-invalid="true"', page.text)
    assert 'aria-describedby="minimum_age-error"' in page.text
    assert 'id="lang-0-code-error">Not an ISO 639 language code' in page.text
    assert 'id="site-0-hours-MO-1-closes-error"' in page.text
    assert 'href="#minimum_age"' in page.text  # the summary links to the field
    assert queries.read_service(session, service_id, published_only=False).version == 1


def test_a_new_listing_needs_a_name(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    data = {**form_values({}), "csrf": _token(client, session), "name": "", "org-name": ""}
    answer = _post(client, "/console/listings/new", data)
    assert answer.status_code == 422
    assert 'id="name-error"' in answer.text and 'id="org-name-error"' in answer.text


def test_add_and_remove_rows_without_saving(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    service_id = _listing(session, f"Rows {uuid.uuid4().hex[:6]}")
    path = f"/console/listings/{service_id}/edit"
    data = {**_editor(client, session, service_id), "description": "typed, not saved"}
    page = _post(client, path, {**data, "add": "site"})
    assert page.status_code == 200
    assert 'id="site-1-name"' in page.text and "typed, not saved" in page.text
    page = _post(client, path, {**data, "remove": "site-0"})
    assert 'id="site-0-name"' not in page.text
    page = _post(client, path, {**data, "add": "site-0-hours-exc"})
    assert 'id="site-0-hours-exc-0-from"' in page.text
    assert queries.read_service(session, service_id, published_only=False).version == 1


def test_a_stale_editor_compares_field_by_field(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    service_id = _listing(session, f"Stale {uuid.uuid4().hex[:6]}")
    path = f"/console/listings/{service_id}/edit"
    first, second = _editor(client, session, service_id), _editor(client, session, service_id)
    saved = _post(client, path, {**first, "phone-0-number": "(813) 555-0111", "alert": "Hi"})
    assert saved.status_code == 303
    mine = {**second, "phone-0-number": "(813) 555-0122", "description": "Mine"}
    page = _post(client, path, mine)
    assert page.status_code == 409
    assert '<table class="diff">' in page.text and 'id="clash-phones"' in page.text
    assert "(813) 555-0111" in page.text and "(813) 555-0122" in page.text
    assert "Alert" in page.text  # changed meanwhile, kept: the form shows it now
    assert re.search(r'id="alert"[^>]*>Hi</textarea>', page.text)
    assert queries.read_service(session, service_id, published_only=False).version == 2
    again = {**mine, "alert": "Hi", **dict(HIDDEN.findall(page.text)), "choice-phones": "theirs"}
    assert _post(client, path, again).status_code == 303
    got = queries.read_service(session, service_id, published_only=False)
    assert (got.phones[0].display, got.description, got.alert) == ("(813) 555-0111", "Mine", "Hi")


def test_a_stale_editor_without_clashes_saves(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    service_id = _listing(session, f"Stale ok {uuid.uuid4().hex[:6]}")
    path = f"/console/listings/{service_id}/edit"
    first, second = _editor(client, session, service_id), _editor(client, session, service_id)
    assert _post(client, path, {**first, "phone-0-number": "(813) 555-0111"}).status_code == 303
    assert _post(client, path, {**second, "description": "Mine"}).status_code == 303
    got = queries.read_service(session, service_id, published_only=False)
    assert (got.phones[0].display, got.description) == ("(813) 555-0111", "Mine")


def test_a_mentor_cannot_edit(client: TestClient, session: Session) -> None:
    service_id = _listing(session, f"Mentor {uuid.uuid4().hex[:6]}")
    sign_up(client, session, role="mentor")
    assert client.get("/console/listings/new").status_code == 403
    assert client.get(f"/console/listings/{service_id}/edit").status_code == 403


# ---- browser journeys ------------------------------------------------------------------------


def _browser_listing(live_server: LiveServer, name: str) -> uuid.UUID:
    with live_server.sessions() as session:
        return _listing(session, name)


def _open_editor(page: Page, live_server: LiveServer, service_id: uuid.UUID) -> None:
    sign_in_staff(page, live_server)
    page.goto(f"/console/listings/{service_id}/edit")
    expect(page.locator("h1")).to_contain_text("Edit")


def test_two_coordinators_edit_at_once(
    new_context: ContextFactory, live_server: LiveServer
) -> None:
    service_id = _browser_listing(live_server, f"Concurrent {uuid.uuid4().hex[:6]}")
    first, second = new_context().new_page(), new_context().new_page()
    _open_editor(first, live_server, service_id)
    _open_editor(second, live_server, service_id)
    first.locator("#phone-0-number").fill("(813) 555-0101")
    first.locator("form button.primary").first.click()
    expect(first).to_have_url(re.compile(rf"/console/listings/{service_id}$"))
    second.locator("#phone-0-number").fill("(813) 555-0102")
    second.locator("#description").fill("Evening groups too")
    second.locator("form button.primary").first.click()
    diff = second.locator("table.diff")
    expect(diff).to_contain_text("(813) 555-0101")
    expect(diff).to_contain_text("(813) 555-0102")
    assert axe_problems(second, "editor, conflict") == []
    second.locator("input[name='choice-phones'][value='theirs']").check()
    second.locator("form button.primary").first.click()
    expect(second).to_have_url(re.compile(rf"/console/listings/{service_id}$"))
    with live_server.sessions() as session:
        got = queries.read_service(session, service_id, published_only=False)
        assert (got.phones[0].display, got.description) == ("(813) 555-0101", "Evening groups too")
        rows = session.execute(
            select(ListingChange.field_name, ListingChange.updated_by).where(
                ListingChange.service_id == service_id,
                ListingChange.last_action_type == "update",
            )
        ).all()
    by = {who for _, who in rows}
    assert len(by) == 2  # each coordinator's own change, under their own name
    assert {field for field, _ in rows} >= {"description"}


def test_add_a_site_without_javascript(
    new_context: ContextFactory, live_server: LiveServer
) -> None:
    service_id = _browser_listing(live_server, f"No script {uuid.uuid4().hex[:6]}")
    page = new_context("phone", java_script_enabled=False).new_page()
    _open_editor(page, live_server, service_id)
    page.locator("button[name='add'][value='site']").click()
    page.locator("#site-1-name").fill("Second office")
    page.locator("#site-1-city").fill("Brandon")
    page.locator("form button.primary").first.click()
    expect(page).to_have_url(re.compile(rf"/console/listings/{service_id}$"))
    with live_server.sessions() as session:
        got = queries.read_service(session, service_id, published_only=False)
    assert [site.name for site in got.locations] == ["Main office", "Second office"]


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_new_listing_form_is_accessible(
    new_context: ContextFactory, live_server: LiveServer, viewport: str, lang: str
) -> None:
    page = new_context(viewport, lang=lang).new_page()
    sign_in_staff(page, live_server)
    page.goto("/console/listings/new")
    expect(page.locator("form[action='/console/listings/new']")).to_be_visible()
    assert axe_problems(page, "new listing") == []


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_editor_is_accessible(
    new_context: ContextFactory, live_server: LiveServer, viewport: str, lang: str
) -> None:
    service_id = _browser_listing(live_server, f"Axe {uuid.uuid4().hex[:6]}")
    page = new_context(viewport, lang=lang).new_page()
    sign_in_staff(page, live_server)
    page.goto(f"/console/listings/{service_id}/edit")
    problems = axe_problems(page, "editor")
    page.locator("#minimum_age").fill("old")
    page.locator("form button.primary").first.click()
    expect(page.locator("#minimum_age-error")).to_be_visible()
    problems += axe_problems(page, "editor with a problem")
    page.locator("#minimum_age").fill("")
    page.locator("#description").fill("Mine")
    with live_server.sessions() as session:  # someone else changes it meanwhile
        patch = ServiceUpdate(description="Theirs")
        update_service(session, service_id, patch, expected_version=None, by="other@example.org")
        session.commit()
    page.locator("form button.primary").first.click()
    expect(page.locator("table.diff")).to_be_visible()
    problems += axe_problems(page, "editor, conflict")
    assert problems == []
