"""The console's first page and who may open the console (page tests, TestClient)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.web.webutil import sign_up


def test_console_home_counts_what_needs_a_look(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    page = client.get("/console")
    assert page.status_code == 200
    assert "waiting in the review queue" in page.text
    assert 'href="/console/listings?stale=1"' in page.text
    assert 'aria-current="page">Overview' in page.text


def test_a_mentor_cannot_open_the_console(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="mentor")
    page = client.get("/console")
    assert page.status_code == 403
    assert "coordinators" in page.text
    assert 'href="/console"' not in client.get("/search").text  # no menu entry either


def test_the_console_asks_to_sign_in_first(client: TestClient) -> None:
    answer = client.get("/console", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=/console")
