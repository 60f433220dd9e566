"""The public pages: a published listing at ``/l/{id}`` for anyone (no sign-in, nothing of its
curation, cacheable), and ``/embed``, which shows partners the widget's snippet; the console's
partner keys page gives the same snippet. Page tests (TestClient), then in chromium: axe on a
phone (375 px) and a desktop, in English and Spanish, no page wider than the screen, and the
live preview running the real widget under the page's own CSP.

With DIRECTORY_SCREENSHOTS set, a full-page PNG of each goes there
(``public-<page>-<lang>-<viewport>.png``).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory.accounts import keys
from directory.db import unit_of_work
from directory.listings.models import Service
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service
from directory.web.i18n import LANG_COOKIE
from directory.web.templating import STATIC_DIR
from tests.web.browserutil import axe_problems, sign_in_staff
from tests.web.conftest import ContextFactory, LiveServer
from tests.web.webutil import post_form, sign_up

NOTE = "Front desk said the director is on leave"  # a verification note: internal
VERIFIER = "verifier-of-listings@example.org"
SOURCE = "test-public-pages"
PHONE_375 = {"width": 375, "height": 812}


def document(key: str, curation: str = "published") -> dict[str, Any]:
    """A listing with every fact a visitor needs, and internal ones they must not see."""
    return {
        "name": f"Quokkaheron Counseling {key}",
        "curation_status": curation,
        "description": "Free counseling for adults, in person or by phone.",
        "url": "https://quokkaheron.example.org/",
        "eligibility_description": "Adults living in Hillsborough County.",
        "minimum_age": 18,
        "fees_description": "Sliding scale.",
        "capacity_status": "waitlist",
        "organization": {"name": "Quokkaheron Health"},
        "needs": ["counseling", "crisis"],
        "languages": [{"code": "en"}, {"code": "es", "note": "Tuesdays"}],
        "cost_options": [{"option": "free"}],
        "phones": [{"number": "813-555-0142"}],
        "crisis_channels": [
            {"channel": "text", "number": "813-555-0199", "country": "US", "keyword": "HOLA"},
            {"channel": "chat", "url": "https://quokkaheron.example.org/chat"},
        ],
        "locations": [
            {
                "latitude": 27.95,
                "longitude": -82.46,
                "address": {
                    "address_1": "100 N Tampa St",
                    "city": "Tampa",
                    "state_province": "FL",
                    "postal_code": "33602",
                },
                "accessibility": [{"code": "wheelchair"}],
                "schedules": [
                    {
                        "freq": "WEEKLY",
                        "byday": "MO,TU,WE",
                        "opens_at": "09:00",
                        "closes_at": "17:00",
                        "timezone": "America/New_York",
                    }
                ],
            }
        ],
        "provenance": {"source": SOURCE, "external_id": f"public-{key}-{uuid.uuid4().hex[:6]}"},
    }


def listing(session: Session, key: str, curation: str = "published") -> uuid.UUID:
    service_id = create_service(session, ServiceCreate.model_validate(document(key, curation)))
    internal = {
        "verification_note": NOTE,
        "verified_by": VERIFIER,
        "verification_method": "phone",
        "last_verified_at": dt.datetime.now(dt.UTC) - dt.timedelta(days=40),
    }
    session.execute(update(Service).where(Service.id == service_id).values(**internal))
    session.commit()
    return service_id


# -- /l/{id} (page tests) ------------------------------------------------------------------


def test_a_published_listing_is_public_and_tells_a_visitor_how_to_reach_it(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session, "shown")
    page = client.get(f"/l/{service_id}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    for seen in (
        "Quokkaheron Counseling shown",
        "Quokkaheron Health",
        "Free counseling for adults",
        'href="tel:+18135550142"',
        'href="sms:+18135550199?&body=HOLA"',  # a crisis line's text, with its keyword
        'href="https://quokkaheron.example.org/chat"',
        "100 N Tampa St, Tampa, FL 33602",
        "https://www.google.com/maps/dir/?api=1&destination=100+N+Tampa+St",
        "09:00\u201317:00",
        "Monday",
        "Spanish (Tuesdays)",
        "Wheelchair",
        "Free",
        "Adults living in Hillsborough County.",
        "Ages 18 and up",  # no upper age: not "18 to +"
        'href="https://quokkaheron.example.org/"',
        "Verified 1 month ago",
        'href="/crisis"',  # crisis lines one step away
    ):
        assert seen in text, seen
    for hidden in (NOTE, VERIFIER, SOURCE, "Waitlist", "published", "Refer", "Report a problem"):
        assert hidden not in text, hidden
    assert "set-cookie" not in page.headers  # the same page for everyone: caches may share it


def test_a_public_listing_is_cached_briefly_and_revalidated(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session, "cached")
    page = client.get(f"/l/{service_id}")
    assert page.headers["cache-control"] == "public, max-age=120"
    tag = page.headers["etag"]
    assert tag.startswith('W/"') and "Accept-Language" in page.headers["vary"]
    again = client.get(f"/l/{service_id}", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    spanish = client.get(
        f"/l/{service_id}", headers={"Accept-Language": "es", "If-None-Match": tag}
    )
    assert spanish.status_code == 200 and spanish.headers["etag"] != tag


@pytest.mark.parametrize("curation", ["draft", "archived"])
def test_an_unpublished_listing_is_not_found(
    client: TestClient, session: Session, curation: str
) -> None:
    service_id = listing(session, curation, curation)
    page = client.get(f"/l/{service_id}")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    assert "Quokkaheron" not in page.text


def test_an_unknown_listing_is_not_found(client: TestClient) -> None:
    page = client.get(f"/l/{uuid.uuid4()}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert client.get("/l/not-an-id").status_code in (404, 422)


def test_a_staff_member_signed_in_sees_the_public_page_too(
    client: TestClient, session: Session
) -> None:
    """Signed in or not, the page is the one anyone gets: no draft through it, no menu."""
    sign_up(client, session, role="coordinator")
    draft = listing(session, "staff-draft", "draft")
    assert client.get(f"/l/{draft}").status_code == 404
    page = client.get(f"/l/{listing(session, 'staff')}")
    assert page.status_code == 200 and 'class="main-nav"' not in page.text


def test_a_public_listing_in_spanish(client: TestClient, session: Session) -> None:
    service_id = listing(session, "es")
    client.cookies.set(LANG_COOKIE, "es")
    page = client.get(f"/l/{service_id}")
    text = html.unescape(page.text)
    assert '<html lang="es">' in text
    for seen in ("Llamar", "Horario", "Lunes", "Idiomas", "Chatear en línea", "Cómo llegar"):
        assert seen in text, seen
    assert "Hours" not in text and "Directions" not in text


# -- /embed and the console's snippet (page tests) -----------------------------------------


def snippet_lines(text: str) -> list[str]:
    """The widget's script and element lines of a page's snippets (as text, unescaped)."""
    boxes = re.findall(r'<pre class="copy-box"[^>]*>(.*?)</pre>', text, re.S)
    lines = [line for box in boxes for line in html.unescape(box).splitlines()]
    return [line for line in lines if "<script" in line or "<directory-search" in line]


def test_the_embed_page_shows_the_snippet_with_our_host(client: TestClient) -> None:
    page = client.get("/embed")
    assert page.status_code == 200
    base = client.app.state.settings.base_url.rstrip("/")  # type: ignore[attr-defined]
    lines = snippet_lines(page.text)
    assert lines[:2] == [
        f'<script src="{base}/embed/v1.js" defer></script>',
        '<directory-search key="pk_..." lang="en"></directory-search>',
    ]
    assert '<directory-search key="pk_..." lang="es" need="crisis" near="33602">' in lines[3]
    assert "<directory-search" not in page.text.replace("&lt;directory-search", "")  # no preview
    assert "The preview needs a live partner key." in page.text


def test_the_embed_page_stays_true_to_the_widget(client: TestClient) -> None:
    """The attributes and custom properties the page lists are exactly those the widget's
    script reads (its observed attributes, the custom properties its header comment lists)."""
    source = (STATIC_DIR / "embed" / "v1.js").read_text()
    observed = re.search(r"observedAttributes\(\) \{\s*return \[([^\]]*)\]", source)
    assert observed
    header = source[: source.index("*/")]
    page = client.get("/embed").text
    attributes = re.findall(r"<dt><code>([a-z]+)</code></dt>", page)
    assert attributes == re.findall(r'"([a-z]+)"', observed.group(1))
    listed = re.findall(r"<dt><code>(--directory-[a-z-]+)</code></dt>", page)
    assert listed == re.findall(r"^ \*   (--directory-[a-z-]+)", header, re.M)
    assert len(listed) >= 10 and set(re.findall(r"--directory-[a-z-]+", page)) == set(listed)


def test_a_key_is_previewed_only_for_staff(client: TestClient, session: Session) -> None:
    _, raw = keys.create_key(session, name="Preview site", origins=["https://preview.example"])
    session.commit()
    anonymous = client.get(f"/embed?key={raw}")
    assert f"key=&#34;{raw}" not in anonymous.text and f'key="{raw}"' not in anonymous.text
    assert "Coordinators: sign in first" in anonymous.text
    sign_up(client, session, role="coordinator")
    shown = client.get(f"/embed?key={raw}")
    assert f'<directory-search key="{raw}" lang="en"></directory-search>' in shown.text
    assert re.search(r'<script src="/embed/v1.js\?v=[0-9a-f]{10}" defer></script>', shown.text)
    keys.revoke_key(session, raw)
    session.commit()
    revoked = client.get(f"/embed?key={raw}")
    assert f'<directory-search key="{raw}"' not in revoked.text
    assert "That key is revoked or unknown." in revoked.text


def test_the_console_gives_the_same_snippet(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    form = {"name": "Snippet site", "origins": "https://snippet.example"}
    assert post_form(client, "/console/keys", form).status_code == 303
    page = client.get("/console/keys")
    raw = re.search(r'<pre class="copy-box"[^>]*>(pk_[^<]+)</pre>', page.text)
    assert raw, page.text
    base = client.app.state.settings.base_url.rstrip("/")  # type: ignore[attr-defined]
    lines = snippet_lines(page.text)
    embed = snippet_lines(client.get("/embed").text)
    assert lines == [embed[0], embed[1].replace("pk_...", raw.group(1))]
    assert lines[0] == f'<script src="{base}/embed/v1.js" defer></script>'
    assert f'href="/embed?key={raw.group(1)}"' in page.text


# -- In a browser --------------------------------------------------------------------------


def public_places(live: LiveServer) -> dict[str, str]:
    with unit_of_work(live.sessions) as session:
        service_id = create_service(session, ServiceCreate.model_validate(document("browser")))
        _, raw = keys.create_key(session, name="Tour site", origins=["https://tour.example"])
    return {"listing": f"/l/{service_id}", "embed": "/embed", "preview": f"/embed?key={raw}"}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_public_pages_pass_axe_on_a_phone_and_a_desktop(
    new_context: ContextFactory, live_server: LiveServer, lang: str
) -> None:
    places = public_places(live_server)
    folder = os.environ.get("DIRECTORY_SCREENSHOTS")
    shots = Path(folder) if folder else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for viewport in ("phone", "desktop"):
        anonymous = new_context(viewport, lang=lang).new_page()
        if viewport == "phone":
            anonymous.set_viewport_size(PHONE_375)
        staff = new_context(viewport, lang=lang).new_page()
        sign_in_staff(staff, live_server)
        if viewport == "phone":
            staff.set_viewport_size(PHONE_375)
        for name, address in places.items():
            page = staff if name == "preview" else anonymous
            answer = page.goto(address)
            assert answer is not None and answer.status == 200, f"{name}: {address}"
            problems.extend(axe_problems(page, f"{name} ({lang}, {viewport})"))
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wide > 0:
                problems.append(f"{name} ({lang}, {viewport}): {wide} px wider than the screen")
            if shots:
                shot = shots / f"public-{name}-{lang}-{viewport}.png"
                page.screenshot(path=str(shot), full_page=True)
    assert not problems, "axe found serious or critical problems:\n" + "\n".join(problems)


def test_the_live_preview_runs_the_widget_under_the_pages_own_policy(
    new_context: ContextFactory, live_server: LiveServer
) -> None:
    """A coordinator opens /embed with a key: the real widget searches from our page, its CSP
    refusing nothing, and a result leads to the listing's public page."""
    with unit_of_work(live_server.sessions) as session:
        _, raw = keys.create_key(session, name="Preview", origins=["https://elsewhere.example"])
    page = new_context().new_page()
    sign_in_staff(page, live_server)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.goto(f"/embed?key={raw}")
    widget = page.locator(".embed-preview directory-search")
    widget.get_by_role("combobox").fill("counseling")
    widget.get_by_label("ZIP code").fill("33602")
    widget.get_by_role("button", name="Search").click()
    first = widget.locator("ul.results a[href*='/l/']").first
    expect(first).to_be_visible()
    assert first.get_attribute("href", timeout=1000).startswith(live_server.base_url + "/l/")  # type: ignore[union-attr]
    assert errors == []
    first.click()
    expect(page).to_have_url(re.compile(r"/l/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).not_to_be_empty()
    expect(page.locator("a[href^='tel:']").first).to_be_visible()
