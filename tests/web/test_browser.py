"""The mentor app in a real browser (Debian's chromium through Playwright) against the app served
for real: what a mentor sees and does, on a phone and on a desktop, in English and Spanish, with
a keyboard only and without JavaScript; accessibility (axe) on every page.

Screenshots of the main phone screens: ``DIRECTORY_SCREENSHOTS=docs/screenshots
.venv/bin/pytest tests/web/test_browser.py -k phone_screens``.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.web.browserutil import axe_problems
from tests.web.conftest import PASSWORD, ContextFactory, LiveServer

PHONE_WIDTH = 390
MIN_TARGET = 44  # px: the smallest comfortable touch target (WCAG 2.5.5, Apple's HIG)
TAMPA = "33602"


# -- What a mentor does --------------------------------------------------------------------


def sign_up(page: Page, live: LiveServer) -> str:
    """Open a fresh invitation link and choose a password; the email."""
    email, link = live.invite()
    page.goto(link)
    expect(page.locator("main")).to_contain_text(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/search$"))
    return email


def sign_in(page: Page, email: str) -> None:
    page.goto("/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/search$"))


def refer(page: Page, live: LiveServer, code: str) -> str:
    """Refer mentee ``code`` to a demo listing (English form); the referral page's path."""
    page.goto(f"/listings/{live.demo_listing()}/refer")
    page.get_by_label("Mentee code").fill(code)
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Referral for {code}")
    return page.url.split("?")[0].removeprefix(live.base_url)


def mentee_code() -> str:
    return f"HP-{uuid.uuid4().int % 9000 + 1000}"


def text_of(locator: Locator) -> str:
    return " ".join(locator.inner_text().split())


def assert_tall_enough(*targets: Locator) -> None:
    for target in targets:
        box = target.bounding_box()
        assert box is not None, f"{target} is not on the screen"
        assert box["height"] >= MIN_TARGET, f"{target} is {box['height']} px tall"


# -- The journey ---------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_mentor_journey(
    new_context: ContextFactory, live_server: LiveServer, viewport: str
) -> None:
    """Invitation → password → search (in Spanish) → listing → refer → follow up → connected."""
    page = new_context(viewport).new_page()
    phone = viewport == "phone"
    email, link = live_server.invite()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome")
    expect(page.locator("main")).to_contain_text(f"Choose a password for {email}")
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Save password and sign in").click()
    expect(page).to_have_url(re.compile(r"/search$"))  # signed in, ready to search
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_label("What does the mentee need?")).to_be_visible()

    # The language link in the header; the choice is remembered from page to page.
    switch = page.locator("header").get_by_role("link", name="Español")
    if phone:
        assert_tall_enough(switch)
    switch.click()
    expect(html).to_have_attribute("lang", "es")
    expect(page).to_have_url(re.compile(r"/search$"))

    page.get_by_label("¿Qué necesita el mentorado?").fill("ansiedad")
    page.get_by_label("Código postal").fill(TAMPA)
    search = page.get_by_role("button", name="Buscar", exact=True)
    if phone:
        assert_tall_enough(search)
    search.click()
    expect(page.locator("#results h2")).to_contain_text("servicios encontrados")
    cards = page.locator("#results .cards > li")
    expect(cards.first).to_be_visible()
    first = cards.first
    expect(first.locator(".badge.demo")).to_have_text("Demo")
    expect(first.locator(".address")).to_contain_text("Tampa, FL")
    for i in range(cards.count()):
        expect(cards.nth(i)).to_contain_text("(demo)")
    if phone:
        assert_tall_enough(first.locator(".button.refer"), first.locator(".button.call").first)
    name = first.locator("h3 a").inner_text()

    first.locator("h3 a").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(html).to_have_attribute("lang", "es")  # still Spanish on the next page
    derivar = page.get_by_role("link", name="Derivar", exact=True)
    if phone:
        assert_tall_enough(derivar)
    derivar.click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Derivar a {name}")
    page.get_by_label("Código del mentorado").fill("HP-1042")
    send = page.get_by_role("button", name="Enviar derivación")
    if phone:
        assert_tall_enough(send)
    send.click()

    expect(page).to_have_url(re.compile(r"/referrals/[0-9a-f-]{36}\?made=1$"))
    expect(page.get_by_role("status")).to_contain_text("Derivación enviada")
    expect(page.get_by_role("heading", level=1)).to_have_text("Derivación de HP-1042")
    expect(page.locator("main .badge").first).to_have_text("Solicitada")

    page.get_by_label("Modalidad", exact=True).select_option("phone")
    reached = page.get_by_role("button", name="Contactado", exact=True)
    if phone:
        assert_tall_enough(reached)
    reached.click()
    timeline = page.locator(".timeline > li")
    expect(timeline.first).to_contain_text("Intento de contacto")

    accept = page.get_by_role("button", name="Aceptada", exact=True)
    if phone:
        assert_tall_enough(accept)
    accept.click()
    expect(page.locator("main .badge").first).to_have_text("Aceptada")

    page.get_by_label("Conectado: cómo").select_option("got-help")
    connected = page.get_by_role("button", name="Marcar como conectado")
    if phone:
        assert_tall_enough(connected)
    connected.click()
    expect(page.locator("main .badge").first).to_have_text("Conectado")
    expect(page.get_by_text("Registrar un intento de contacto")).to_have_count(0)  # closed

    events = [text_of(timeline.nth(i)) for i in range(timeline.count())]
    assert len(events) == 4, events
    assert events[0].endswith("Estado: Conectado (Recibió ayuda)"), events
    assert events[1].endswith("Estado: Aceptada"), events
    assert events[2].endswith("Intento de contacto: Teléfono: Contactado"), events
    assert events[3].endswith("Estado: Solicitada"), events
    expect(html).to_have_attribute("lang", "es")


# -- Safety, concurrency, sessions, forms --------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "heading"),
    [
        ("en", "If someone is in danger or thinking about suicide"),
        ("es", "Si alguien está en peligro o piensa en el suicidio"),
    ],
)
def test_crisis_banner_comes_first(
    new_context: ContextFactory, live_server: LiveServer, lang: str, heading: str
) -> None:
    page = new_context("phone", lang=lang).new_page()
    sign_up(page, live_server)
    page.goto("/search")
    page.locator("#q").fill("quiero morir")
    page.locator("form.search button[type=submit]").click()
    banner = page.locator("#results .crisis")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("heading")).to_contain_text(heading)
    expect(banner.get_by_role("heading")).to_be_focused()  # what a screen reader reads first

    lines = banner.locator(".crisis-lines > li")
    expect(lines.first.locator("a[href='tel:988']")).to_be_visible()
    assert "988" in text_of(lines.first)
    assert "(demo)" not in text_of(banner)
    expect(banner.locator(".badge.demo")).to_have_count(0)

    # Above every result, on the screen and in the reading order.
    top = banner.bounding_box()
    assert top is not None
    assert top["y"] < page.viewport_size["height"], "the banner is below the fold"
    cards = page.locator("#results .cards > li")
    if cards.count():
        card = cards.first.bounding_box()
        assert card is not None and top["y"] + top["height"] <= card["y"]
    first_in_results = page.locator("#results > *").first
    expect(first_in_results).to_have_class(re.compile(r"\bcrisis\b"))

    # A full page load (a kept link, or no JavaScript): the banner is on the first screen too.
    page.goto("/search?q=quiero+morir")
    loaded = page.locator("#results .crisis").bounding_box()
    assert loaded is not None
    assert loaded["y"] < page.viewport_size["height"] - 150, "the banner is below the fold"


def test_stale_page_is_told_what_changed(
    new_context: ContextFactory, live_server: LiveServer
) -> None:
    context = new_context()
    first = context.new_page()
    sign_up(first, live_server)
    code = mentee_code()
    path = refer(first, live_server, code)
    second = context.new_page()  # another tab, same person
    second.goto(path)
    first.goto(path)

    first.get_by_role("button", name="Accepted", exact=True).click()
    expect(first.locator("main .badge").first).to_have_text("Accepted")

    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        second.get_by_role("button", name="Reached", exact=True).click()
    assert answer.value.status == 409
    alert = second.get_by_role("alert")
    expect(alert).to_contain_text("This referral changed since you opened it.")
    expect(second.get_by_role("heading", level=1)).to_have_text(f"Referral for {code}")
    expect(second.locator("main .badge").first).to_have_text("Accepted")  # the current state
    expect(second.locator(".timeline")).not_to_contain_text("Contact attempt")  # not applied

    # Now up to date, the same step works.
    second.get_by_role("button", name="Reached", exact=True).click()
    expect(second.get_by_role("alert")).to_have_count(0)
    expect(second.locator(".timeline > li").first).to_contain_text("Contact attempt")


def test_stale_page_in_spanish(new_context: ContextFactory, live_server: LiveServer) -> None:
    context = new_context("phone", lang="es")
    first = context.new_page()
    sign_up(first, live_server)
    first.goto(f"/listings/{live_server.demo_listing()}/refer")
    first.get_by_label("Código del mentorado").fill(mentee_code())
    first.get_by_role("button", name="Enviar derivación").click()
    expect(first).to_have_url(re.compile(r"\?made=1$"))
    second = context.new_page()
    second.goto(first.url)
    first.get_by_role("button", name="Aceptada", exact=True).click()
    expect(first.locator("main .badge").first).to_have_text("Aceptada")
    second.get_by_role("button", name="Contactado", exact=True).click()
    expect(second.get_by_role("alert")).to_contain_text(
        "Esta derivación cambió desde que la abriste."
    )


def test_sign_out(new_context: ContextFactory, live_server: LiveServer) -> None:
    page = new_context("phone").new_page()
    sign_up(page, live_server)
    page.goto("/account")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.goto("/search")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/search$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.goto("/referrals")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/referrals$"))


def test_form_with_altered_token_is_refused(
    new_context: ContextFactory, live_server: LiveServer
) -> None:
    page = new_context().new_page()
    sign_up(page, live_server)
    page.goto(f"/listings/{live_server.demo_listing()}")
    save = page.get_by_role("button", name="Save to my list")
    page.evaluate(
        """() => {
        const field = document.querySelector("form[action$='/save'] input[name=csrf]");
        field.value = field.value.slice(0, -4) + "AAAA";
        }"""
    )
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        save.click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("This form has expired")
    page.goto("/my-list")
    expect(page.locator("main .cards")).to_have_count(0)  # nothing was saved

    # The same form, untouched, is accepted.
    page.goto(f"/listings/{live_server.demo_listing()}")
    page.get_by_role("button", name="Save to my list").click()
    expect(page.get_by_role("button", name="Remove from my list")).to_be_visible()


def test_without_javascript(new_context: ContextFactory, live_server: LiveServer) -> None:
    """Signing up, searching and referring are plain links and forms."""
    page = new_context("phone", java_script_enabled=False).new_page()
    sign_up(page, live_server)
    expect(page.locator("#locate")).to_be_hidden()  # app.js would show it: no script ran
    page.get_by_label("What does the mentee need?").fill("anxiety")
    page.get_by_label("ZIP code").fill(TAMPA)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/search\?.*q=anxiety"))
    cards = page.locator("#results .cards > li")
    expect(cards.first).to_be_visible()
    name = cards.first.locator("h3 a").inner_text()
    cards.first.get_by_role("link", name=f"Refer to {name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Refer to {name}")

    page.get_by_role("button", name="Send referral").click()  # required field empty: the browser
    expect(page).to_have_url(re.compile(r"/refer"))  # stops it
    page.get_by_label("Mentee code").fill("Jane Smith")  # a name: refused by the server
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_role("alert")).to_contain_text("Please fix this:")
    expect(page.get_by_label("Mentee code")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Mentee code").fill("HP-2077")
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral for HP-2077")
    page.get_by_role("button", name="Reached", exact=True).click()
    expect(page.locator(".timeline > li").first).to_contain_text("Contact attempt")


# -- Keyboard only -------------------------------------------------------------------------


def tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element matches ``selector`` (reading focus, no clicks)."""
    page.wait_for_load_state()  # a page just navigated to: its document, not the last one's
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    focused = page.evaluate("document.activeElement?.outerHTML")
    raise AssertionError(f"Tab never reached {selector}; focus is on {focused}")


def test_keyboard_only(new_context: ContextFactory, live_server: LiveServer) -> None:
    email = live_server.account()
    page = new_context().new_page()
    page.goto("/search")  # signed out: the sign-in page, then back here
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/search$"))
    tab_to(page, "#email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search$"))

    tab_to(page, "#q")
    page.keyboard.type("anxiety")
    tab_to(page, "#postcode")
    page.keyboard.type(TAMPA)
    page.keyboard.press("Enter")
    heading = page.locator("#results h2")
    expect(heading).to_contain_text("services found")
    expect(heading).to_be_focused()  # screen readers hear the count

    tab_to(page, "#results .cards h3 a")
    name = page.evaluate("document.activeElement.textContent").strip()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)

    tab_to(page, "main a.button.refer")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Refer to {name}")

    tab_to(page, "#mentee_ref")
    page.keyboard.type("KB-3001")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral for KB-3001")

    tab_to(page, "button[value=reached]")
    page.keyboard.press("Enter")
    expect(page.locator(".timeline > li").first).to_contain_text("Contact attempt")


# -- Accessibility -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def a11y_account(browser: Any, live_server: LiveServer) -> dict[str, str]:
    """A mentor with a referral and a saved listing, for the pages that show them."""
    email = live_server.account()
    context = browser.new_context(base_url=live_server.base_url, locale="en-US")
    try:
        page = context.new_page()
        sign_in(page, email)
        referral = refer(page, live_server, mentee_code())
        page.goto(f"/listings/{live_server.demo_listing()}")
        page.get_by_role("button", name="Save to my list").click()
        expect(page.get_by_role("button", name="Remove from my list")).to_be_visible()
    finally:
        context.close()
    return {"email": email, "referral": referral}


def test_axe_finds_problems(new_context: ContextFactory) -> None:
    """The accessibility check can fail: a field without a label and an image without a text
    alternative, put into a page, are reported."""
    page = new_context().new_page()
    page.goto("/sign-in")
    assert axe_problems(page, "sign-in") == []
    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML(
        "beforeend", '<input name="unlabelled"><img src="/static/none.png">')"""
    )
    found = "\n".join(axe_problems(page, "sign-in, spoiled"))
    assert "label [critical]" in found and "image-alt [critical]" in found, found


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_accessibility(
    new_context: ContextFactory,
    live_server: LiveServer,
    a11y_account: dict[str, str],
    lang: str,
    viewport: str,
) -> None:
    """axe on every page: no serious or critical violation."""
    page = new_context(viewport, lang=lang).new_page()
    problems: list[str] = []

    def check(name: str, path: str | None = None, status: int = 200) -> None:
        if path is not None:
            answer = page.goto(path)
            assert answer is not None and answer.status == status, (path, answer)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        problems.extend(axe_problems(page, name))

    listing = live_server.demo_listing()
    check("sign-in", "/sign-in")
    check("welcome", live_server.invite()[1].removeprefix(live_server.base_url))
    check("crisis lines, signed out", "/crisis")
    check("not found, signed out", "/no-such-page", 404)

    page.goto("/sign-in")
    page.locator("#email").fill(a11y_account["email"])
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/search$"))
    check("search, empty")
    check("search with results", f"/search?q=anxiety&postcode={TAMPA}")
    expect(page.locator("#results .cards > li").first).to_be_visible()
    check("search with the crisis banner", "/search?q=quiero+morir")
    expect(page.locator(".crisis")).to_be_visible()
    check("listing", f"/listings/{listing}")
    crisis_unit = live_server.demo_listing("Adult Crisis Stabilization Unit")
    check("listing with contacts and capacity", f"/listings/{crisis_unit}")
    expect(page.locator(".capacity")).to_be_visible()
    perinatal = live_server.demo_listing("Perinatal")
    check("listing on a waitlist, not verified for months", f"/listings/{perinatal}")
    expect(page.locator(".badge.stale")).to_be_visible()
    check("share", f"/listings/{listing}/share")
    check("refer", f"/listings/{listing}/refer")
    page.locator("#mentee_ref").fill("Jane Smith")
    page.locator("form.stacked button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    check("refer with errors")
    check("referral", a11y_account["referral"])
    check("follow-ups", "/follow-ups")
    expect(page.locator(".cards > li").first).to_be_visible()
    check("my referrals", "/referrals")
    check("my list", "/my-list")
    check("report a problem", f"/listings/{listing}/report")
    check("account", "/account")
    check("crisis lines", "/crisis")
    check("error page", f"/listings/{uuid.uuid4()}", 404)
    check("not found", "/no-such-page", 404)

    assert not problems, "axe found serious or critical problems:\n" + "\n".join(problems)


# -- Phone screens -------------------------------------------------------------------------


def test_phone_screens(
    new_context: ContextFactory, live_server: LiveServer, a11y_account: dict[str, str]
) -> None:
    """At 390 x 844 nothing sticks out sideways or hides past the edge, and every button is a
    comfortable target. With DIRECTORY_SCREENSHOTS set, a PNG of each screen goes there (the
    docs' screenshots), scrolled to what the mentor looks at."""
    folder = os.environ.get("DIRECTORY_SCREENSHOTS")
    shots = Path(folder) if folder else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    page = new_context("phone").new_page()
    sign_in(page, a11y_account["email"])
    listing = live_server.demo_listing()
    screens = {
        "search": (f"/search?q=anxiety&postcode={TAMPA}", "#results h2"),
        "crisis-banner": ("/search?q=quiero+morir", ".crisis"),
        "listing": (f"/listings/{listing}", None),
        "listing-contacts": (
            f"/listings/{live_server.demo_listing('Adult Crisis Stabilization Unit')}",
            ".facts-list",
        ),
        "listing-stale": (f"/listings/{live_server.demo_listing('Perinatal')}", ".verified"),
        "refer": (f"/listings/{listing}/refer", None),
        "referral": (a11y_account["referral"], None),
        "follow-ups": ("/follow-ups", None),
        "share": (f"/listings/{listing}/share", None),
        "my-referrals": ("/referrals", None),
        "crisis-lines": ("/crisis", None),
    }
    problems: list[str] = []
    for name, (path, focus) in screens.items():
        page.goto(path)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > PHONE_WIDTH:
            problems.append(f"{name}: the page is {wide} px wide")
        found = page.evaluate(
            """([min, width]) => {
            const shown = [...document.querySelectorAll(
                "header a, nav a, main a, main button, main input, main select, main textarea")]
              .filter((e) => e.offsetParent !== null && !e.classList.contains("skip"));
            const small = shown.filter((e) => e.matches("button, .button, header a, nav a"))
              .filter((e) => e.getBoundingClientRect().height < min)
              .map((e) => "too small a target: " + e.outerHTML.slice(0, 100));
            const cut = shown.filter((e) => {
                const r = e.getBoundingClientRect(); return r.left < 0 || r.right > width + 0.5;
              }).map((e) => "past the screen's edge: " + e.outerHTML.slice(0, 100));
            return [...small, ...cut];
            }""",
            [MIN_TARGET, PHONE_WIDTH],
        )
        problems.extend(f"{name}: {problem}" for problem in found)
        if shots:
            if focus:
                page.locator(focus).first.evaluate("(e) => e.scrollIntoView({block: 'start'})")
            page.screenshot(path=str(shots / f"{name}-phone.png"))
    assert not problems, "\n".join(problems)
