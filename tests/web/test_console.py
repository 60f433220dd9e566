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


def test_odd_numbers_in_addresses_and_forms_are_refused_not_errors(
    client: TestClient, session: Session
) -> None:
    """ "²" passes ``str.isdigit`` but not ``int``: pages fall back, forms are refused (412)."""
    from directory.curation.service import report_problem
    from directory.listings.models import Service
    from tests.web.test_console_queue import decide, listing, person
    from tests.web.webutil import post_form

    service_id = listing(session, "Odd Numbers Warmline")
    mentor = person(session)
    report = report_problem(session, mentor, service_id, kind="wrong-number", detail="Rings out")
    session.commit()
    sign_up(client, session, role="coordinator")
    for address in (
        "/console/listings?verified=%C2%B2",
        f"/console/listings/{service_id}?page=%C2%B2",
        "/console/audit?page=%C2%B2",
        "/console/listings?page=" + "9" * 5000,
    ):
        assert client.get(address).status_code in (200, 422), address
    page = f"/console/listings/{service_id}"
    for version in ("²", "9" * 5000, ""):
        answer = post_form(client, f"{page}/verify", {"version": version}, form_page=page)
        assert answer.status_code == 409 and "changed since you opened" in answer.text, version
    # resolving with a fix but no version would overwrite unseen edits: refused, nothing done
    fix = {"decision": "resolve", "phone": "813-555-0199"}
    assert decide(client, f"/console/queue/problems/{report.id}", fix).status_code == 412  # type: ignore[attr-defined]
    session.expire_all()
    assert session.get_one(Service, service_id).last_verified_at is None
    assert report.status == "open"
