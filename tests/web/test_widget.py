"""The embeddable search widget, ``<directory-search>``: the script as served (types, ETag,
caches, size), and in chromium on a partner's page on a second origin under a strict
Content-Security-Policy: searching with the keyboard, crisis lines, tap-to-call, the messages
for a rate, a refused site, a dead key and being offline, Spanish, theming, axe inside the
shadow root, and no request to any other host. Any CSP violation or console error not expected
by the test fails it."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from directory.accounts.keys import create_key, revoke_key
from directory.db import unit_of_work
from directory.web import vocab
from directory.web.i18n import translations
from directory.web.routes.widget import script_url
from directory.web.templating import STATIC_DIR, static_version
from tests.web.browserutil import axe_problems
from tests.web.conftest import ContextFactory, LiveServer
from tests.web.partner_site import CSS, PartnerSite, partner_site, strict_policy, widget_page

SCRIPT = STATIC_DIR / "embed" / "v1.js"
BUDGET = 25 * 1024  # bytes, gzipped
NEAR = "33602"  # downtown Tampa: the demo region
COMBOBOX = "What are you looking for?"
# What chromium logs for an answer the widget expects and explains (a 429, a 401, a request
# refused by CORS, no network): the test names which it expects; anything else fails it.
FAILED_LOAD = r"Failed to load resource: (the server responded with a status of {}|net::ERR_\w+)"
CORS_REFUSED = r"Access to fetch at .* has been blocked by CORS policy"


# -- The script as served ------------------------------------------------------------------


def test_the_script_is_javascript_with_an_etag_and_a_short_cache(client: TestClient) -> None:
    answer = client.get("/embed/v1.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert answer.headers["etag"] == f'W/"{static_version("embed/v1.js")}"'
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    assert answer.content == SCRIPT.read_bytes()
    assert answer.headers["content-encoding"] == "gzip"  # PageCompression: /embed is a page
    again = client.get("/embed/v1.js", headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304 and not again.content
    assert again.headers["etag"] == answer.headers["etag"]


def test_the_hashed_url_is_cached_for_a_year_and_a_stale_hash_briefly(
    client: TestClient,
) -> None:
    assert script_url() == f"/embed/v1.js?v={static_version('embed/v1.js')}"
    hashed = client.get(script_url())
    assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert hashed.content == SCRIPT.read_bytes()
    stale = client.get("/embed/v1.js?v=0123456789")  # a page rendered before a deploy
    assert stale.headers["cache-control"] == "public, max-age=300"
    assert client.head("/embed/v1.js").status_code == 200


def test_the_script_stays_within_its_size_budget() -> None:
    raw = SCRIPT.read_bytes()
    packed = len(gzip.compress(raw, compresslevel=9))
    assert packed <= BUDGET, f"{packed} bytes gzipped (raw {len(raw)}): over {BUDGET}"


def test_the_scripts_needs_are_the_taxonomys_with_the_pages_names() -> None:
    """The widget carries the needs' names itself (no request for them): the same codes as the
    vocabulary, named as the pages name them in English and in the Spanish catalogue."""
    source = (STATIC_DIR / "embed" / "v1.js").read_text()
    listed = source[
        source.index("const NEEDS = [") : source.index("];", source.index("const NEEDS"))
    ]
    rows = re.findall(r'\["([a-z-]+)",\s*"([^"]+)",\s*"([^"]+)"\]', listed)
    spanish = translations("es")
    assert {code: (en, es) for code, en, es in rows} == {
        code: (name, spanish.gettext(name)) for code, name in vocab.NEEDS.items()
    }


def test_the_script_uses_nothing_a_strict_policy_refuses() -> None:
    """No eval, no HTML parsed from strings, no style attribute or element."""
    code = SCRIPT.read_text()
    for refused in ("eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML"):
        assert refused not in code
    for refused in (".style.", '"style"', "<style", 'setTimeout("', "document.write"):
        assert refused not in code
    assert "adoptedStyleSheets" in code


def test_a_partner_page_may_read_a_429_and_a_dead_key_but_not_another_sites_answer(
    client: TestClient, session: Session
) -> None:
    """What the widget reads needs CORS: its rate's 429 (with Retry-After) and a 401 for a
    dead key. A key used from a site it is not for stays unreadable (403, no CORS)."""
    site = "https://partner.example"
    _, raw = create_key(session, name="Partner", origins=[site], rate_text="1/minute")
    session.commit()
    search = {"q": "counseling", "key": raw}
    for expected in (200, 429):
        answer = client.get("/v1/search", params=search, headers={"Origin": site})
        assert answer.status_code == expected
        assert answer.headers["access-control-allow-origin"] == site
    assert "Retry-After" in answer.headers["access-control-expose-headers"]
    dead = client.get("/v1/search", params={**search, "key": "pk_nope"}, headers={"Origin": site})
    assert dead.status_code == 401 and dead.headers["access-control-allow-origin"] == site
    other = client.get("/v1/search", params=search, headers={"Origin": "https://other.example"})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers


# -- In a partner's page -------------------------------------------------------------------


@dataclass
class Partner:
    """A partner's page in chromium, with what it logged and every URL it requested."""

    page: Page
    site: PartnerSite
    expected: list[str] = field(default_factory=list)  # patterns of console errors allowed
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def widget(self) -> Any:
        return self.page.locator("directory-search")

    def watch(self) -> None:
        """Record console errors (CSP violations are among them), page errors and requests."""

        def console(message: Any) -> None:
            if message.type == "error":
                self.errors.append(message.text)

        self.page.on("console", console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def events(self) -> Any:
        """Start recording the widget's events; what they were, read later with ``evaluate``."""
        self.page.evaluate(
            """() => { window.heard = [];
            for (const name of ["directory-results", "directory-error"])
              document.addEventListener(name, (e) => window.heard.push([e.type, e.detail])); }"""
        )
        return lambda: self.page.evaluate("() => window.heard")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(re.search(p, e) for p in self.expected)]


@pytest.fixture
def site(live_server: LiveServer) -> Iterator[PartnerSite]:
    with partner_site(strict_policy(live_server.base_url)) as made:
        yield made


def new_key(live: LiveServer, origins: list[str], rate: str = "100/minute") -> str:
    with unit_of_work(live.sessions) as session:
        _, raw = create_key(session, name="Partner site", origins=origins, rate_text=rate)
    return raw


def open_partner(
    new_context: ContextFactory,
    live: LiveServer,
    site: PartnerSite,
    attributes: dict[str, str],
    *,
    lang: str = "en",
    viewport: str = "desktop",
) -> Partner:
    """The partner page with the widget, watched: console errors, page errors, requests."""
    page = new_context(viewport).new_page()
    partner = Partner(page, site)
    partner.watch()
    url = site.page(
        "/find-help", widget_page(f"{live.base_url}/embed/v1.js", attributes, lang=lang)
    )
    page.goto(url)
    expect(partner.widget.get_by_role("button", name=re.compile("Search|Buscar"))).to_be_visible()
    return partner


def check_clean(partner: Partner, live: LiveServer) -> None:
    """No error but those expected; no request but to the partner's page and our server."""
    assert partner.unexpected() == []
    origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in partner.requests}
    assert origins == {partner.site.origin, live.base_url}
    ours = [
        url.removeprefix(live.base_url) for url in partner.requests if url.startswith(live.base_url)
    ]
    assert all(re.match(r"/(embed/v1\.js$|v1/search\?|v1/crisis-lines\?)", url) for url in ours), (
        ours
    )


def search_by_keyboard(partner: Partner, typed: str, option: str) -> None:
    box = partner.widget.get_by_role("combobox", name=COMBOBOX)
    box.click()
    box.press_sequentially(typed)
    expect(box).to_have_attribute("aria-expanded", "true")
    listbox = partner.widget.get_by_role("listbox")
    expect(listbox.get_by_role("option", name=option)).to_be_visible()
    wanted = listbox.get_by_role("option").all_inner_texts().index(option)
    for _ in range(wanted + 1):
        box.press("ArrowDown")
    chosen = listbox.get_by_role("option", name=option)
    expect(chosen).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", chosen.get_attribute("id") or "")
    box.press("Enter")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value(option)


def test_a_visitor_searches_by_keyboard_and_sees_results_with_calls_and_distances(
    new_context: ContextFactory, live_server: LiveServer, site: PartnerSite
) -> None:
    key = new_key(live_server, [site.origin])
    partner = open_partner(new_context, live_server, site, {"key": key, "near": NEAR})
    expect(partner.widget.get_by_label("ZIP code")).to_have_value(NEAR)
    heard = partner.events()
    search_by_keyboard(partner, "couns", "Counseling and therapy")
    status = partner.widget.get_by_role("status")
    expect(status).to_have_text(re.compile(r"^\d+ services? found\.$"))
    results = partner.widget.get_by_role("list", name="Services").locator(":scope > li")
    expect(results.first).to_be_visible()
    assert results.count() >= 2
    first = results.first
    expect(first.get_by_role("link").first).to_have_attribute(
        "href", re.compile(rf"^{re.escape(live_server.base_url)}/l/[0-9a-f-]{{36}}$")
    )
    expect(first).to_contain_text(re.compile(r"\d+(\.\d)? km away"))
    listing = first.get_by_role("link").first.get_attribute("href") or ""
    assert partner.page.request.get(listing).status == 200  # the public listing page
    calls = partner.widget.get_by_role("link", name=re.compile(r"^Call "))
    expect(calls.first).to_be_visible()
    assert all(href.startswith("tel:") for href in calls.evaluate_all("a => a.map(l => l.href)"))
    expect(partner.widget.locator("section.crisis")).to_be_hidden()  # counseling: no crisis
    assert "need=counseling" in next(u for u in partner.requests if "/v1/search?" in u)
    [(name, detail)] = heard()
    assert name == "directory-results" and detail["total"] >= 2 and detail["crisis"] is False
    check_clean(partner, live_server)


def test_a_crisis_search_shows_the_crisis_lines_before_any_result(
    new_context: ContextFactory, live_server: LiveServer, site: PartnerSite
) -> None:
    key = new_key(live_server, [site.origin])
    partner = open_partner(
        new_context, live_server, site, {"key": key, "near": NEAR}, viewport="phone"
    )
    box = partner.widget.get_by_role("combobox", name=COMBOBOX)
    box.fill("I want to kill myself")
    box.press("Enter")
    crisis = partner.widget.get_by_role("region", name=re.compile("help is available now"))
    expect(crisis).to_be_visible()
    expect(partner.widget.get_by_role("status")).to_contain_text("Crisis lines are listed first.")
    lines = crisis.get_by_role("link", name=re.compile(r"^Call "))
    expect(lines.first).to_be_visible()
    assert all(h.startswith("tel:") for h in lines.evaluate_all("a => a.map(l => l.href)"))
    expect(crisis).to_contain_text("988")
    each = crisis.locator("ul.lines > li")
    assert each.count() > 3
    expect(each.nth(2)).to_be_visible()
    expect(each.nth(3)).to_be_hidden()  # the best three first; the others a tap away
    more = crisis.get_by_role("button", name=re.compile(r"^\d+ more crisis lines?$"))
    expect(more).to_have_attribute("aria-expanded", "false")
    more.click()
    expect(each.last).to_be_visible()
    fewer = crisis.get_by_role("button", name="Fewer crisis lines")
    expect(fewer).to_have_attribute("aria-expanded", "true")
    before = partner.widget.locator("section.crisis ~ section.found ul.results")
    assert before.count() == 1  # the crisis block comes first in the document's order
    problems = axe_problems(partner.page, "widget with crisis lines (phone)")
    assert problems == []
    check_clean(partner, live_server)


def test_a_need_given_as_an_attribute_searches_at_once(
    new_context: ContextFactory, live_server: LiveServer, site: PartnerSite
) -> None:
    key = new_key(live_server, [site.origin])
    attrs = {"key": key, "need": "crisis", "near": NEAR}
    partner = open_partner(new_context, live_server, site, attrs)
    expect(partner.widget.get_by_role("combobox", name=COMBOBOX)).to_have_value("Crisis")
    expect(partner.widget.locator("section.crisis")).to_be_visible()
    expect(partner.widget.get_by_role("status")).to_have_text(re.compile("found"))
    check_clean(partner, live_server)


def test_axe_finds_nothing_inside_the_shadow_root(
    new_context: ContextFactory, live_server: LiveServer, site: PartnerSite
) -> None:
    """With suggestions open, then with results: axe run on the element reaches inside."""
    from axe_playwright_python.sync_playwright import Axe

    key = new_key(live_server, [site.origin])
    partner = open_partner(new_context, live_server, site, {"key": key, "near": NEAR})
    box = partner.widget.get_by_role("combobox", name=COMBOBOX)
    box.press_sequentially("anx")
    box.press("ArrowDown")
    problems = axe_problems(partner.page, "suggestions open")
    box.press("Enter")
    expect(partner.widget.get_by_role("status")).to_have_text(re.compile("found"))
    problems += axe_problems(partner.page, "results")
    checked = (
        Axe()
        .run(
            partner.page,
            context={"include": [["directory-search"]]},
            options={"resultTypes": ["violations", "passes"]},
        )
        .response
    )
    inside = [
        node["target"]
        for rule in checked["passes"]
        for node in rule["nodes"]
        if isinstance(node["target"][0], list)  # a path through a shadow root
    ]
    assert inside, "axe did not look inside the shadow root"
    assert [v["id"] for v in checked["violations"]] == []
    assert problems == []
    check_clean(partner, live_server)


def test_over_its_rate_the_widget_says_when_to_try_again_and_shows_crisis_lines(
    new_context: ContextFactory, live_server: LiveServer, site: PartnerSite
) -> None:
    key = new_key(live_server, [site.origin], rate="1/minute")
    partner = open_partner(new_context, live_server, site, {"key": key, "near": NEAR})
    partner.expected = [FAILED_LOAD.format(429)]
    heard = partner.events()
    box = partner.widget.get_by_role("combobox", name=COMBOBOX)
    box.fill("counseling")
    box.press("Enter")
    status = partner.widget.get_by_role("status")
    expect(status).to_have_text(re.compile("found"))
    box.fill("peer support")  # another URL: not the browser's cache
    box.press("Enter")
    expect(status).to_have_text(
        re.compile(r"^Too many searches from this site right now; try again in \d+ seconds\.$")
    )
    seconds = int(re.findall(r"\d+", status.inner_text())[0])
    assert 1 <= seconds <= 60
    assert heard()[-1] == ["directory-error", {"kind": "rate", "retryAfter": seconds}]
    expect(partner.widget.get_by_role("list", name="Services")).to_be_hidden()
    expect(partner.widget.locator("section.crisis")).to_be_visible()  # public: still there
    check_clean(partner, live_server)


def test_a_site_the_key_is_not_for_is_told_apart_from_being_offline(
    new_context: ContextFactory, live_server: LiveServer, site: PartnerSite
) -> None:
    key = new_key(live_server, ["https://another-site.example"])
    partner = open_partner(new_context, live_server, site, {"key": key, "near": NEAR})
    partner.expected = [CORS_REFUSED, FAILED_LOAD.format(403)]
    box = partner.widget.get_by_role("combobox", name=COMBOBOX)
    box.fill("counseling")
    box.press("Enter")
    status = partner.widget.get_by_role("status")
    expect(status).to_have_text(re.compile("not set up for this website"))
    expect(partner.widget.locator("section.crisis")).to_be_visible()
    partner.page.context.set_offline(True)
    box.fill("peer support")
    box.press("Enter")
    expect(status).to_have_text("You seem to be offline: check the connection and try again.")
    check_clean(partner, live_server)


def test_a_revoked_key_is_explained(
    new_context: ContextFactory, live_server: LiveServer, site: PartnerSite
) -> None:
    key = new_key(live_server, [site.origin])
    with unit_of_work(live_server.sessions) as session:
        revoke_key(session, key[:10])
    partner = open_partner(new_context, live_server, site, {"key": key, "near": NEAR})
    partner.expected = [FAILED_LOAD.format(401)]
    box = partner.widget.get_by_role("combobox", name=COMBOBOX)
    box.fill("counseling")
    box.press("Enter")
    expect(partner.widget.get_by_role("status")).to_have_text(
        "This search's key is not valid (revoked or unknown): tell the site's owner."
    )
    expect(partner.widget.locator("section.crisis")).to_be_visible()
    check_clean(partner, live_server)


def test_spanish_from_the_attribute_or_from_the_page(
    new_context: ContextFactory, live_server: LiveServer, site: PartnerSite
) -> None:
    key = new_key(live_server, [site.origin])
    partner = open_partner(new_context, live_server, site, {"key": key, "near": NEAR, "lang": "es"})
    box = partner.widget.get_by_role("combobox", name="¿Qué buscas?")
    box.press_sequentially("ansi")
    expect(partner.widget.get_by_role("option", name="Ansiedad")).to_be_visible()
    box.press("ArrowDown")
    box.press("Enter")
    expect(partner.widget.get_by_role("status")).to_have_text(
        re.compile(r"^\d+ servicios? encontrados?\.$")
    )
    expect(partner.widget.get_by_role("link", name=re.compile("^Llamar a ")).first).to_be_visible()
    expect(partner.widget.get_by_role("list", name="Servicios")).to_contain_text(
        re.compile(r"A \d")
    )
    assert axe_problems(partner.page, "widget in Spanish") == []
    check_clean(partner, live_server)
    by_page = open_partner(new_context, live_server, site, {"key": key}, lang="es-US")
    expect(by_page.widget.get_by_role("button", name="Buscar")).to_be_visible()
    expect(by_page.widget.get_by_label("Código postal")).to_be_visible()


def test_custom_properties_theme_the_widget(
    new_context: ContextFactory, live_server: LiveServer, site: PartnerSite
) -> None:
    key = new_key(live_server, [site.origin])
    site.page(
        "/partner.css",
        "directory-search { --directory-accent: rgb(120, 20, 90); --directory-radius: 0px; }",
        CSS,
    )
    partner = open_partner(new_context, live_server, site, {"key": key})
    button = partner.widget.get_by_role("button", name="Search")
    style = button.evaluate(
        "b => { const s = getComputedStyle(b); return [s.backgroundColor, s.borderTopLeftRadius] }"
    )
    assert style == ["rgb(120, 20, 90)", "0px"]
    check_clean(partner, live_server)
