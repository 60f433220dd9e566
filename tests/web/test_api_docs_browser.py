"""The API's docs in a browser with no other host to reach: every request to another host is
aborted and recorded (any is a failure), and every refusal of the page's policy is recorded.
``/docs`` signs in through "Authorize" (a bearer token, then a partner key) and tries a search;
``/redoc`` renders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from directory.accounts.keys import create_key
from directory.accounts.service import create_user
from directory.db import unit_of_work
from tests.web.browserutil import axe_problems
from tests.web.conftest import PROGRAM, ContextFactory, LiveServer

SEARCH = "#operations-search-search_get_v1_search_get"
# ReDoc's side menu names its maker's logo on cdn.redoc.ly: the policy refuses it (so the
# browser never asks that host) and ReDoc hides the image.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@dataclass
class Offline:
    page: Page
    elsewhere: list[str] = field(default_factory=list)  # requests to another host, aborted
    refused: list[str] = field(default_factory=list)  # the policy's refusals, as logged
    errors: list[str] = field(default_factory=list)  # uncaught script errors


@pytest.fixture
def offline(new_context: ContextFactory, live_server: LiveServer) -> Iterator[Offline]:
    """A page whose requests to any host but the live server's are aborted and recorded."""
    context = new_context()
    page = context.new_page()
    seen = Offline(page)
    ours = live_server.base_url + "/"

    def only_ours(route: Any) -> None:
        if route.request.url.startswith(ours):
            route.continue_()
        else:
            seen.elsewhere.append(route.request.url)
            route.abort()

    context.route(re.compile(".*"), only_ours)
    page.on("console", lambda m: _policy(seen, m.text))
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    yield seen
    assert not seen.elsewhere, f"requests to other hosts: {seen.elsewhere}"
    assert not seen.errors, seen.errors


def _policy(seen: Offline, text: str) -> None:
    if "Content Security Policy" in text:
        seen.refused.append(text)


def _token(live: LiveServer) -> str:
    with unit_of_work(live.sessions) as session:
        _, token = create_user(
            session, email=f"docs-{id(session)}@example.org", role="mentor", program=PROGRAM
        )
    return token


def _key(live: LiveServer) -> str:
    with unit_of_work(live.sessions) as session:
        _, key = create_key(session, name="Docs", origins=[live.base_url], rate_text="60/minute")
    return key


def _authorize(page: Page, scheme: str, value: str) -> None:
    """Swagger UI's "Authorize": the value for one scheme, then close the dialog."""
    page.locator("button.authorize").first.click()
    name = page.locator("h4 code").get_by_text(scheme, exact=True)
    box = page.locator(".auth-container").filter(has=name)
    box.locator("input").fill(value)
    box.locator("button.authorize").click()
    expect(box.locator("h6")).to_have_text("Authorized")
    box.locator("button.btn-done").click()


def _only_q(operation: Locator, q: str) -> None:
    """Swagger UI fills each parameter with its example: keep q alone, as a searcher would."""
    for row in operation.locator("tr[data-param-name]").all():
        name = row.get_attribute("data-param-name")
        while row.locator("button.json-schema-form-item-remove").count():
            row.locator("button.json-schema-form-item-remove").first.click()
        if row.locator("input[type=text]").count():
            row.locator("input[type=text]").fill(q if name == "q" else "")


def _try_search(page: Page, q: str) -> Locator:
    operation = page.locator(SEARCH)
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    _only_q(operation, q)
    operation.locator("button.execute").click()
    answer = operation.locator(".live-responses-table .response").first
    expect(answer.locator(".response-col_status")).to_have_text("200")
    return operation


SENT = {
    "bearer": "Authorization: Bearer",
    "partnerKey": "X-Api-Key: pk_",
    "partnerKeyQuery": "key=pk_",
}


@pytest.mark.parametrize("scheme", list(SENT))
def test_docs_sign_in_and_search_offline(
    offline: Offline, live_server: LiveServer, scheme: str
) -> None:
    page = offline.page
    page.goto("/docs")
    expect(page.locator(".information-container")).to_contain_text("Getting started")
    value = _token(live_server) if scheme == "bearer" else _key(live_server)
    _authorize(page, scheme, value)
    operation = _try_search(page, "counseling")
    body = operation.locator(".live-responses-table .response-col_description pre").first
    expect(body).to_contain_text('"total"')
    expect(body).to_contain_text("(demo)")  # a result: the demo region's counseling listings
    expect(body).not_to_contain_text('"total": 0')
    expect(operation.locator(".curl-command")).to_contain_text(SENT[scheme])
    assert not offline.refused, offline.refused


def test_redoc_renders_offline(offline: Offline) -> None:
    page = offline.page
    page.goto("/redoc")
    title = page.locator("h1").first  # ReDoc lays out the whole document first: seconds
    expect(title).to_contain_text("Peer-mentoring resource directory", timeout=30_000)
    expect(page.get_by_text("AUTHORIZATIONS:").first).to_be_visible()
    expect(page.locator("img[alt='redocly logo']")).to_have_count(0)
    assert all(REDOC_LOGO in refusal for refusal in offline.refused), offline.refused


def test_docs_pass_axe_but_for_swagger_uis_own_nesting(offline: Offline) -> None:
    """Our page and our colour fixes leave one serious problem, in Swagger UI's own markup
    (each operation's summary is a button holding buttons), which a stylesheet cannot mend."""
    page = offline.page
    page.goto("/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    problems = axe_problems(page, "/docs")
    assert [p for p in problems if "nested-interactive" not in p] == []
