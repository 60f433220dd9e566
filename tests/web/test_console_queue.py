"""The review queue page (TestClient): each kind of item shown, each decision made through its
form and checked in the database (the item's decision, the listing, its history, the audit),
and refusals shown as notices, never a server error."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.accounts.models import AuditEntry, User
from directory.accounts.service import create_user
from directory.curation import queue
from directory.curation.models import ChangeSuggestion, ProblemReport
from directory.curation.service import report_problem
from directory.db import unit_of_work
from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.listings.models import ListingChange, Provenance, Service
from directory.listings.queries import read_service
from directory.listings.schemas import ServiceCreate, ServiceUpdate
from directory.listings.service import create_service, update_service
from directory.referrals.models import Referral
from tests.web.browserutil import axe_problems, sign_in_staff
from tests.web.conftest import PASSWORD, ContextFactory, LiveServer
from tests.web.webutil import post_form, sign_up

PROGRAM = "Page tests"  # webutil's sign_up puts people in it


def listing(session: Session, name: str) -> uuid.UUID:
    service_id = listing_in(session, name)
    session.commit()
    return service_id


def person(session: Session, role: str = "mentor") -> User:
    user, _ = create_user(
        session, email=f"{role}-{uuid.uuid4().hex[:8]}@example.org", role=role, program=PROGRAM
    )
    session.commit()
    return user


def fail(session: Session, mentor: User, service_id: uuid.UUID, outcome: str, days: float) -> None:
    """A referral of the program closed as failed ``days`` ago."""
    referral = failed_referral(mentor, service_id, days)
    referral.outcome = outcome
    session.add(referral)
    session.commit()


def coordinator(client: TestClient, session: Session) -> User:
    email = sign_up(client, session, role="coordinator")
    return session.scalars(select(User).where(User.email == email)).one()


def decide(client: TestClient, path: str, data: dict[str, object]) -> object:
    return post_form(client, path, data, form_page="/account")  # a page with a form always


def history(session: Session, service_id: uuid.UUID) -> dict[str, tuple[str | None, str]]:
    rows = session.scalars(
        select(ListingChange).where(
            ListingChange.service_id == service_id, ListingChange.last_action_type != "create"
        )
    )
    return {row.field_name: (row.replacement_value, row.updated_by) for row in rows}


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.at)))


def item(page: str, key: str) -> str:
    """The card of one queue item, by its id (up to the next card)."""
    start = page.find(f'<li class="card" id="{key}">')
    assert start >= 0, f"no item {key}"
    end = page.find('<li class="card"', start + 1)
    return page[start : end if end > 0 else len(page)]


def test_the_queue_shows_each_kind_with_counts_and_a_filter(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session, "Queue Warmline")
    mentor = person(session)
    report = report_problem(session, mentor, service_id, kind="wrong-number", detail="Rings out")
    suggestion = queue.suggest(
        session, mentor, service_id, {"description": "Talk to a peer, 24/7."}, note="They said"
    )
    fail(session, mentor, service_id, "no-capacity", 3)
    fail(session, mentor, service_id, "could-not-contact", 8)
    session.commit()
    coordinator(client, session)

    page = client.get("/console/queue")
    assert page.status_code == 200
    assert 'aria-current="page">Review queue' in page.text
    problem = item(page.text, f"problem-{report.id}")
    assert "Wrong phone number" in problem and "Rings out" in problem
    assert mentor.email in problem
    assert f'href="/console/listings/{service_id}"' in problem
    assert f'href="/listings/{service_id}"' in problem
    diff = item(page.text, f"suggestion-{suggestion.id}")
    assert "<del>Talk to a peer.</del>" in diff and "<ins>Talk to a peer, 24/7.</ins>" in diff
    assert "They said" in diff
    assert 'name="edit.description"' in diff and "Talk to a peer, 24/7.</textarea>" in diff
    warning = item(page.text, f"referrals-{service_id}")
    assert "No capacity: &lt;5" in warning and "Could not contact: &lt;5" in warning
    # urgent first: the wrong number and the failed referrals before the suggestion
    assert page.text.index(f"suggestion-{suggestion.id}") > page.text.index(f"problem-{report.id}")
    counts = {k: int(n) for n, k in re.findall(r'"figure">(\d+)</span> ([^<]+)</a>', page.text)}
    assert counts == {"All open items": 3, "Problem reports": 1, "Referral warnings": 1,
                      "Suggestions": 1}  # fmt: skip

    only = client.get("/console/queue?kind=problem").text
    assert f"problem-{report.id}" in only and f"suggestion-{suggestion.id}" not in only
    assert "referrals-" not in only


def test_a_mentor_cannot_open_the_queue_and_problems_moved_there(
    client: TestClient, session: Session
) -> None:
    sign_up(client, session)
    assert client.get("/console/queue").status_code == 403
    moved = client.get("/problems", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"].startswith("/console/queue")


def test_approving_a_suggestion_changes_the_listing_once(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session, "Approve Warmline")
    suggestion = queue.suggest(session, person(session), service_id, {"alert": "Closed Friday"})
    session.commit()
    staff = coordinator(client, session)
    url = f"/console/queue/suggestions/{suggestion.id}"

    done = decide(client, url, {"decision": "approve", "version": "1", "kind": "suggestion"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"] == "/console/queue?kind=suggestion&done=approved#queue"  # type: ignore[attr-defined]
    assert "Approved: the listing is changed." in client.get(done.headers["location"]).text  # type: ignore[attr-defined]
    session.expire_all()
    stored = session.get(ChangeSuggestion, suggestion.id)
    assert stored is not None and stored.status == "approved"
    assert stored.decided_by == staff.id and stored.decided_at is not None
    assert read_service(session, service_id, published_only=False).alert == "Closed Friday"
    assert history(session, service_id)["alert"] == ("Closed Friday", staff.email)
    assert "suggestion.approved" in actions(session)

    again = decide(client, url, {"decision": "reject"})
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "Someone decided this item already" in again.text  # type: ignore[attr-defined]


def test_rejecting_a_suggestion_keeps_the_listing_and_the_note(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session, "Reject Warmline")
    suggestion = queue.suggest(session, person(session), service_id, {"name": "Renamed"})
    session.commit()
    staff = coordinator(client, session)
    url = f"/console/queue/suggestions/{suggestion.id}"
    assert decide(client, url, {"note": "no button pressed"}).status_code == 422  # type: ignore[attr-defined]
    done = decide(client, url, {"decision": "reject", "note": "  the old   name is right "})
    assert done.headers["location"] == "/console/queue?done=rejected#queue"  # type: ignore[attr-defined]
    session.expire_all()
    stored = session.get(ChangeSuggestion, suggestion.id)
    assert stored is not None
    assert (stored.status, stored.decision_note) == ("rejected", "the old name is right")
    assert stored.decided_by == staff.id
    assert read_service(session, service_id, published_only=False).name == "Reject Warmline"
    assert history(session, service_id) == {}
    assert "suggestion.rejected" in actions(session)


def test_edit_then_approve_with_a_bad_value_then_a_good_one(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session, "Edit Warmline")
    changes = {"description": "Peers, 24/7.", "phones": [{"number": "813-555-0199"}]}
    suggestion = queue.suggest(session, person(session), service_id, changes)
    session.commit()
    staff = coordinator(client, session)
    url = f"/console/queue/suggestions/{suggestion.id}"
    page = client.get("/console/queue").text
    assert "813-555-0199" in item(page, f"suggestion-{suggestion.id}")  # phones by number

    bad = decide(client, url, {"decision": "edit", "edit.description": "Peers.",
                               "edit.phones": "[{"})  # fmt: skip
    assert bad.status_code == 422  # type: ignore[attr-defined]
    card = item(bad.text, f"suggestion-{suggestion.id}")  # type: ignore[attr-defined]
    assert "This is not valid JSON." in card
    assert re.search(r'name="edit.phones" rows="5" aria-invalid="true"', card)
    assert '<details class="refine" open>' in card  # the edit form open again,
    assert ">Peers.</textarea>" in card  # with what was typed

    stale = decide(client, url, {"decision": "edit", "version": "7", "edit.description": "X"})
    assert stale.status_code == 412  # type: ignore[attr-defined]
    assert "The listing changed since this page was shown" in stale.text  # type: ignore[attr-defined]

    edits = {"decision": "edit", "version": "1", "edit.description": "Peers, any hour.",
             "edit.phones": '[{"number": "813-555-0142"}]'}  # fmt: skip
    assert decide(client, url, edits).status_code == 303  # type: ignore[attr-defined]
    session.expire_all()
    now = read_service(session, service_id, published_only=False)
    assert now.description == "Peers, any hour."
    assert [p.number for p in now.phones] == ["813-555-0142"]
    changed = history(session, service_id)
    assert changed["description"] == ("Peers, any hour.", staff.email)
    assert changed["phones"][1] == staff.email
    stored = session.get(ChangeSuggestion, suggestion.id)
    assert stored is not None and stored.status == "approved"


def test_resolving_a_wrong_number_with_the_corrected_number(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session, "Fix Warmline")
    report = report_problem(session, person(session), service_id, kind="wrong-number", detail=None)
    session.commit()
    staff = coordinator(client, session)
    phone = read_service(session, service_id, published_only=False).phones[0]
    url = f"/console/queue/problems/{report.id}"
    form = {"decision": "resolve", "version": "1", "phone_id": str(phone.id),
            "phone": "813-555-0177", "capacity_status": "waitlist",
            "description": "Talk to a peer.\r\n", "description_was": "Talk to a peer.",
            "note": "called them"}  # fmt: skip
    stale = decide(client, url, {**form, "version": "9"})
    assert stale.status_code == 412  # type: ignore[attr-defined]
    assert "The listing changed since this page was shown" in stale.text  # type: ignore[attr-defined]
    session.expire_all()
    assert session.get(ProblemReport, report.id).status == "open"  # type: ignore[union-attr]
    done = decide(client, url, form)
    assert done.headers["location"] == "/console/queue?done=fixed#queue"  # type: ignore[attr-defined]
    session.expire_all()
    stored = session.get(ProblemReport, report.id)
    assert stored is not None
    assert (stored.status, stored.decision_note, stored.decided_by) == (
        "resolved", "called them", staff.id,
    )  # fmt: skip
    now = read_service(session, service_id, published_only=False)
    assert [(p.number, p.description) for p in now.phones] == [("813-555-0177", "Front desk")]
    assert now.capacity_status == "waitlist" and now.description == "Talk to a peer."
    changed = history(session, service_id)
    assert set(changed) == {"phones", "capacity_status", "capacity_updated_at"}
    assert changed["capacity_status"] == ("waitlist", staff.email)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "problem.resolved"))
    assert audit.one().detail["fixed"] == ["capacity_status", "phones"]


def test_a_closed_service_is_archived_and_a_report_dismissed_with_a_note(
    client: TestClient, session: Session
) -> None:
    closed_id, other_id = listing(session, "Closed Warmline"), listing(session, "Open Warmline")
    mentor = person(session)
    closed = report_problem(session, mentor, closed_id, kind="closed", detail="Shut down")
    wrong = report_problem(session, mentor, other_id, kind="other", detail="Seems odd")
    session.commit()
    coordinator(client, session)

    archive = {"decision": "resolve", "archive": "1", "version": "1"}
    assert decide(client, f"/console/queue/problems/{closed.id}", archive).status_code == 303  # type: ignore[attr-defined]
    session.expire_all()
    assert session.get(Service, closed_id).curation_status == "archived"  # type: ignore[union-attr]

    url = f"/console/queue/problems/{wrong.id}"
    refused = decide(client, url, {"decision": "dismiss", "phone": "813-555-0101"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "a fix goes with resolving the report" in refused.text  # type: ignore[attr-defined]
    dismissed = decide(client, url, {"decision": "dismiss", "note": "It is right"})
    assert dismissed.headers["location"] == "/console/queue?done=dismissed#queue"  # type: ignore[attr-defined]
    session.expire_all()
    stored = session.get(ProblemReport, wrong.id)
    assert stored is not None and (stored.status, stored.decision_note) == (
        "dismissed", "It is right",
    )  # fmt: skip
    assert [p.number for p in read_service(session, other_id, published_only=False).phones] == [
        "813-555-0100"
    ]
    assert {"problem.resolved", "problem.dismissed"} <= set(actions(session))


def test_a_referral_warning_takes_a_capacity_and_goes_when_checked_until_a_new_failure(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session, "Busy Warmline")
    mentor = person(session)
    fail(session, mentor, service_id, "no-capacity", 2)
    fail(session, mentor, service_id, "no-capacity", 1)
    staff = coordinator(client, session)
    key = f"referrals-{service_id}"
    url = f"/console/queue/referrals/{service_id}"
    assert key in client.get("/console/queue?kind=referrals").text

    done = decide(client, url, {"action": "capacity", "capacity_status": "full"})
    assert done.headers["location"] == "/console/queue?done=capacity#queue"  # type: ignore[attr-defined]
    session.expire_all()
    assert read_service(session, service_id, published_only=False).capacity_status == "full"
    assert history(session, service_id)["capacity_status"] == ("full", staff.email)
    assert key in client.get("/console/queue").text  # a capacity alone does not clear it

    checked = decide(client, url, {"action": "checked", "method": "phone", "note": "full"})
    assert checked.headers["location"] == "/console/queue?done=checked#queue"  # type: ignore[attr-defined]
    session.expire_all()
    verified = session.get(Service, service_id)
    assert verified is not None and verified.verified_by == staff.email
    assert verified.verification_method == "phone"
    assert key not in client.get("/console/queue").text
    assert {"referrals.capacity", "referrals.checked"} <= set(actions(session))

    fail(session, mentor, service_id, "could-not-contact", 0)  # a failure after the check
    assert key in client.get("/console/queue").text


def test_a_bad_capacity_is_refused_by_its_field(client: TestClient, session: Session) -> None:
    service_id = listing(session, "Odd Warmline")
    mentor = person(session)
    fail(session, mentor, service_id, "no-capacity", 2)
    fail(session, mentor, service_id, "no-capacity", 1)
    coordinator(client, session)
    url = f"/console/queue/referrals/{service_id}"
    refused = decide(client, url, {"action": "capacity", "capacity_status": "overflowing"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    card = item(refused.text, f"referrals-{service_id}")  # type: ignore[attr-defined]
    assert 'name="capacity_status" aria-invalid="true"' in card
    session.expire_all()
    assert read_service(session, service_id, published_only=False).capacity_status is None


# -- In a browser, against the live server -------------------------------------------------


def sign_in_mentor(page: Page, live: LiveServer) -> str:
    email = live.account()
    page.goto("/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/search$"))
    return email


def live_listing(live: LiveServer, name: str) -> uuid.UUID:
    with unit_of_work(live.sessions) as session:
        return listing_in(session, name)


def listing_in(session: Session, name: str) -> uuid.UUID:
    doc = {
        "name": name,
        "description": "Talk to a peer.",
        "organization": {"name": f"{name} Org"},
        "phones": [{"number": "813-555-0100", "description": "Front desk"}],
    }
    return create_service(session, ServiceCreate.model_validate(doc))


def test_a_wrong_number_reported_by_a_mentor_is_fixed_from_the_queue(
    new_context: ContextFactory, live_server: LiveServer
) -> None:
    service_id = live_listing(live_server, f"Wrong Number Line {uuid.uuid4().hex[:6]}")
    mentor = new_context().new_page()
    sign_in_mentor(mentor, live_server)
    mentor.goto(f"/listings/{service_id}/report")
    mentor.get_by_label("Wrong phone number").check()
    mentor.locator("#detail").fill("The number rings out")
    mentor.get_by_role("button", name="Send to the coordinators").click()
    expect(mentor.locator("main")).to_contain_text("is with the coordinators")
    with live_server.sessions() as session:
        report_id = session.scalars(
            select(ProblemReport.id).where(ProblemReport.service_id == service_id)
        ).one()

    staff = new_context().new_page()
    email = sign_in_staff(staff, live_server)
    staff.goto("/console/queue?kind=problem")
    card = staff.locator(f"#problem-{report_id}")
    expect(card).to_contain_text("The number rings out")
    card.get_by_label("Correct phone number").fill("813-555-0188")
    card.get_by_role("button", name="Resolve").click()
    expect(staff.locator(".notice")).to_have_text("Resolved, and the listing is changed.")
    expect(staff.locator(f"#problem-{report_id}")).to_have_count(0)

    with live_server.sessions() as session:
        report = session.get(ProblemReport, report_id)
        assert report is not None and report.status == "resolved"
        decider = session.get(User, report.decided_by)
        assert decider is not None and decider.email == email
        assert history(session, service_id)["phones"][1] == email
    mentor.goto(f"/listings/{service_id}")
    expect(mentor.locator("main")).to_contain_text("555-0188")
    expect(mentor.locator("main")).not_to_contain_text("555-0100")


def hsds_package(folder: Path, description: str) -> Path:
    """A small HSDS CSV package (organizations and services) with one service."""
    folder.mkdir(exist_ok=True)
    (folder / "organizations.csv").write_text("id,name\no1,Queue Peers\n")
    services = f"id,organization_id,name,description\ns1,o1,Queue Import Line,{description}\n"
    (folder / "services.csv").write_text(services)
    return folder


def test_a_reimport_conflict_becomes_a_suggestion_approved_in_the_queue(
    new_context: ContextFactory, live_server: LiveServer, tmp_path: Path
) -> None:
    page = new_context().new_page()
    email = sign_in_staff(page, live_server)
    source = f"test:queue-{uuid.uuid4().hex[:8]}"
    folder = hsds_package(tmp_path / "hsds", "Peers on the phone.")
    with unit_of_work(live_server.sessions) as session:
        run_import(session, resolve("hsds", folder), folder, source=source)
    with unit_of_work(live_server.sessions) as session:
        service_id = session.scalars(
            select(Provenance.service_id).where(Provenance.source == source)
        ).one()
        update_service(
            session, service_id, ServiceUpdate(description="Peers by hand."),
            expected_version=None, by=email,
        )  # fmt: skip
    hsds_package(folder, "Peers on the phone and online.")
    with unit_of_work(live_server.sessions) as session:
        run_import(session, resolve("hsds", folder), folder, source=source)
        suggestion = session.scalars(
            select(ChangeSuggestion).where(ChangeSuggestion.service_id == service_id)
        ).one()
        assert (suggestion.source, suggestion.status) == ("import", "open")

    page.goto("/console/queue?kind=suggestion")
    card = page.locator(f"#suggestion-{suggestion.id}")
    expect(card.locator("table.diff del")).to_have_text("Peers by hand.")
    expect(card.locator("table.diff ins")).to_have_text("Peers on the phone and online.")
    expect(card).to_contain_text("From a re-import")
    card.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator(".notice")).to_have_text("Approved: the listing is changed.")

    with live_server.sessions() as session:
        decided = session.get(ChangeSuggestion, suggestion.id)
        assert decided is not None and decided.status == "approved"
        assert decided.decided_at is not None
        listing_now = read_service(session, service_id, published_only=False)
        assert listing_now.description == "Peers on the phone and online."
        assert history(session, service_id)["description"] == (
            "Peers on the phone and online.", email,
        )  # fmt: skip


def queue_of_every_kind(live: LiveServer) -> None:
    """A problem report, a suggestion and a referral warning in the browser program's queue."""
    mentor_email = live.account()
    with unit_of_work(live.sessions) as session:
        mentor = session.scalars(select(User).where(User.email == mentor_email)).one()
        service_id = listing_in(session, f"Axe Line {uuid.uuid4().hex[:6]}")
        report_problem(session, mentor, service_id, kind="wrong-number", detail="Rings out")
        queue.suggest(session, mentor, service_id, {"description": "Peers, any hour."})
        for days in (1, 2):
            session.add(failed_referral(mentor, service_id, days))


def failed_referral(mentor: User, service_id: uuid.UUID, days: float) -> Referral:
    closed = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return Referral(
        program_id=mentor.program_id, mentor_id=mentor.id, mentee_ref="HP-1042",
        service_id=service_id, needs=["anxiety"], contact_preference="mentor-will-contact",
        consent={"scope": "share my need", "obtained_at": closed.isoformat(), "method": "verbal"},
        status="failed", outcome="no-capacity", follow_up_at=closed, last_event_at=closed,
        created_at=closed - dt.timedelta(days=3), closed_at=closed,
    )  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_queue_passes_axe(
    new_context: ContextFactory, live_server: LiveServer, lang: str, viewport: str
) -> None:
    queue_of_every_kind(live_server)
    page = new_context(viewport=viewport, lang=lang).new_page()
    sign_in_staff(page, live_server)
    page.goto("/console/queue")
    for kind in ("problem", "referrals", "suggestion"):
        expect(page.locator(f"li.card[id^='{kind}-']").first).to_be_visible()
    page.locator("li.card details:not([open]) > summary").first.click()  # an edit form open
    assert axe_problems(page, f"queue {lang} {viewport}") == []
    if folder := os.environ.get("DIRECTORY_SCREENSHOTS"):  # for the docs: DIRECTORY_SCREENSHOTS=dir
        page.screenshot(path=f"{folder}/console-queue-{viewport}-{lang}.png", full_page=True)
