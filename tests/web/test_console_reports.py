"""The console's numbers (page tests, TestClient): outcomes with their charts and the
small-number rules, unmet needs without the words typed, and the audit log with names."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.accounts import audit
from directory.accounts.models import User
from directory.accounts.service import create_user
from directory.db import unit_of_work
from directory.listings.models import Service
from directory.referrals.models import Referral
from tests.web.browserutil import axe_problems, sign_in_staff
from tests.web.conftest import ContextFactory, LiveServer
from tests.web.webutil import sign_up

PROGRAM = "Page tests"  # the program of webutil.sign_up's people
PERIOD = {"start": "2025-02-01", "end": "2025-02-28"}
DAY = dt.datetime(2025, 2, 3, 9, tzinfo=dt.UTC)


def person(session: Session, role: str = "mentor", program: str | None = PROGRAM) -> User:
    user, _ = create_user(
        session, email=f"{role}-{os.urandom(4).hex()}@example.org", role=role, program=program
    )
    return user


def token(session: Session, role: str = "coordinator") -> dict[str, str]:
    _, secret = create_user(
        session, email=f"{role}-{os.urandom(4).hex()}@example.org", role=role, program=PROGRAM
    )
    return {"Authorization": f"Bearer {secret}"}


def referral(
    session: Session,
    mentor: User,
    service: Service,
    n: int,
    *,
    status: str,
    needs: tuple[str, ...],
    days: float = 4,
    first_day: dt.datetime = DAY,
) -> Referral:
    """A referral made ``n`` days after ``first_day``, ended ``days`` after it was made."""
    made = first_day + dt.timedelta(days=n)
    assert mentor.program_id is not None
    ended = made + dt.timedelta(days=days)
    found = Referral(
        program_id=mentor.program_id,
        mentor_id=mentor.id,
        mentee_ref="PT-1042",
        service_id=service.id,
        needs=list(needs),
        contact_preference="mentor-will-contact",
        consent={"scope": "share my need", "obtained_at": made.isoformat(), "method": "verbal"},
        status=status,
        outcome="got-help" if status == "completed" else "no-capacity",
        follow_up_at=made + dt.timedelta(days=2),
        last_event_at=made,
        created_at=made,
        accepted_at=made + dt.timedelta(days=1),
        first_contact_at=made + dt.timedelta(days=2),
        closed_at=ended,
    )
    session.add(found)
    session.flush()
    return found


@pytest.fixture
def program(client: TestClient, session: Session) -> dict[str, Any]:
    """A signed-in coordinator; 12 anxiety referrals (6 connected in 2 to 7 days, 6 not) by
    one mentor to one service, and 3 housing referrals (connected) by another to another."""
    email = sign_up(client, session, role="coordinator")
    listings = list(
        session.scalars(
            select(Service)
            .where(Service.curation_status == "published")
            .order_by(Service.name)
            .limit(2)
        )
    )
    first, second = person(session), person(session)
    for n in range(6):
        referral(session, first, listings[0], n, status="completed", needs=("anxiety",), days=n + 2)
        referral(session, first, listings[0], n, status="failed", needs=("anxiety",))
    for n in range(3):
        referral(session, second, listings[1], n, status="completed", needs=("housing",))
    session.commit()
    return {"email": email, "listings": listings, "mentors": (first, second)}


def bar_rows(page: str, title: str) -> dict[str, str]:
    """The rows of the chart with that title: label -> the row's HTML."""
    figure = page.split(f"<strong>{title}</strong>", 1)[1].split("</figure>", 1)[0]
    rows = re.findall(r"<li>(.*?)</li>", figure, flags=re.S)
    return {re.search(r'class="name">([^<]*)<', row).group(1): row for row in rows}  # type: ignore[union-attr]


def table_row(page: str, label: str) -> list[str]:
    """The cells of the first table row headed ``label``."""
    row = page.split(f'<th scope="row">{label}</th>', 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)


def test_outcomes_by_need_with_figures_tables_and_charts(
    client: TestClient, program: dict[str, Any]
) -> None:
    page = client.get("/console/outcomes", params={**PERIOD, "by": "need"})
    assert page.status_code == 200, page.text
    text = page.text
    assert 'aria-current="page">Outcomes' in text
    # Headline: 15 referrals, all ended (100%), 9 of 15 connected (60%), median 4 days
    # (2 3 4 4 4 [4] 5 6 7: the anxiety ones in 2-7 days, the housing ones in 4).
    figures = re.findall(r'<span class="figure">([^<]*)</span>', text)
    assert figures == ["15", "100.0%", "60.0%", "4.0"]
    assert table_row(text, "Anxiety") == ["12", "6", "6", "100.0%", "50.0%", "2.0", "4.5"]
    # Housing: 3 referrals, so every figure that would show it is held back.
    housing = table_row(text, "Housing")
    assert housing == ["fewer than 5"] * 2 + ["0"] + ["not shown"] * 4
    referrals = bar_rows(text, "Referrals")
    assert 'width="100.0%"' in referrals["Anxiety"] and "12" in referrals["Anxiety"]
    assert 'class="hidden"' in referrals["Housing"] and 'class="shown"' not in referrals["Housing"]
    assert "fewer than 5" in referrals["Housing"]
    connected = bar_rows(text, "Connection rate")
    assert 'width="50.0%"' in connected["Anxiety"]
    assert "not shown" in connected["Housing"]
    # A hidden bar carries no number of its own: only the hatch's fixed drawing.
    for row in (referrals["Housing"], connected["Housing"]):
        assert not re.search(r"\b[1-4]\b", re.sub(r"<[^>]*>", "", row))
        assert set(re.findall(r'width="([^"]*)"', row)) <= {"8", "4", "100%"}
    assert 'role="img" aria-label="Referrals: 2 bars; the longest is Anxiety (12).' in text
    assert "Hatched bars are not drawn to scale (fewer than 5, or not shown): Housing." in text
    assert 'style="' not in text  # the CSP forbids inline styles


def test_outcomes_by_service_and_by_mentor_name_their_groups(
    client: TestClient, program: dict[str, Any]
) -> None:
    anxiety, housing = program["listings"]
    page = client.get("/console/outcomes", params={**PERIOD, "by": "service"}).text
    assert table_row(page, anxiety.name)[0] == "12"
    assert table_row(page, housing.name)[0] == "fewer than 5"
    first, _ = program["mentors"]
    page = client.get("/console/outcomes", params={**PERIOD, "by": "mentor"}).text
    assert table_row(page, first.email)[:3] == ["12", "6", "6"]
    assert str(first.id) not in page  # an email, never an id


def test_the_program_alone_with_statuses_and_reasons(
    client: TestClient, program: dict[str, Any]
) -> None:
    page = client.get("/console/outcomes", params={**PERIOD, "by": ""}).text
    assert table_row(page, "Connected") == ["9"]
    assert table_row(page, "Not connected") == ["6"]
    assert table_row(page, "No capacity") == ["6"]
    assert "By need" not in page


def test_outcomes_csv_is_the_apis(
    client: TestClient, session: Session, program: dict[str, Any]
) -> None:
    headers = token(session)
    session.commit()
    answer = client.get("/console/outcomes", params={**PERIOD, "by": "need", "format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == (
        'attachment; filename="outcomes-2025-02-01-2025-02-28-need.csv"'
    )
    api = client.get(
        "/v1/reports/referrals",
        params={"from": "2025-02-01", "to": "2025-03-01", "group_by": "need"},
        headers={**headers, "Accept": "text/csv"},
    )
    assert answer.text == api.text
    rows = {row["key"]: row for row in csv.DictReader(io.StringIO(answer.text))}
    assert rows["anxiety"]["referrals"] == "12" and rows["housing"]["referrals"] == "<5"
    link = 'href="/console/outcomes?start=2025-02-01&amp;end=2025-02-28&amp;by=need&amp;format=csv"'
    assert link in client.get("/console/outcomes", params={**PERIOD, "by": "need"}).text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2025-13-01"}, "Give a date as year-month-day"),
        ({"end": "yesterday"}, "Give a date as year-month-day"),
        ({"by": "colour"}, "Choose a grouping from the list."),
        ({"start": "2025-03-01", "end": "2025-02-01"}, "must be before"),
        ({"start": "2019-01-01", "end": "2025-02-01"}, "at most three years"),
    ],
)
def test_bad_periods_are_messages(
    client: TestClient, session: Session, params: dict[str, str], message: str
) -> None:
    sign_up(client, session, role="coordinator")
    page = client.get("/console/outcomes", params=params)
    assert page.status_code == 422
    assert message in page.text and 'aria-invalid="true"' in page.text


def test_quick_periods_and_the_default(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    page = client.get("/console/outcomes")
    assert page.status_code == 200
    today = dt.datetime.now(dt.UTC).date()
    last_30 = f"start={today - dt.timedelta(days=29)}&amp;end={today}&amp;by=need"
    assert f'href="/console/outcomes?{last_30}">Last 30 days' in page.text
    assert "Last quarter" in page.text
    assert f'value="{today - dt.timedelta(days=89)}"' in page.text  # 90 days up to today


def test_unmet_needs_count_the_need_never_the_words(client: TestClient, session: Session) -> None:
    headers = token(session, "mentor")
    session.commit()
    query = {"q": "zorblaxquux", "need": ["housing"], "postcode": "99950", "radius_km": 1}
    for _ in range(3):
        found = client.post("/v1/search", json=query, headers=headers)
        assert found.status_code == 200 and found.json()["total"] == 0
    sign_up(client, session, role="coordinator")
    page = client.get("/console/unmet", params={"days": 90})
    assert page.status_code == 200, page.text
    assert "zorblaxquux" not in page.text
    assert "words people typed are never stored" in page.text
    assert table_row(page.text, "Housing")[:2] == ["US-AK", "3"]
    assert "Housing · US-AK" in page.text  # the chart's bar
    assert 'href="/console/unmet?days=90&amp;format=csv"' in page.text
    download = client.get("/console/unmet", params={"days": 90, "format": "csv"})
    assert download.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert {"need": "housing", "area": "US-AK", "searches": "3"}.items() <= rows[0].items()
    assert "zorblaxquux" not in download.text
    assert client.get("/console/unmet", params={"days": 7}).status_code == 422


def audited(session: Session, coordinator: User) -> dict[str, Any]:
    """60 reads of a referral by a mentor, and a decision on a listing by the coordinator."""
    mentor = person(session)
    service = session.scalars(select(Service).order_by(Service.name).limit(1)).one()
    made = referral(session, mentor, service, 0, status="completed", needs=("anxiety",))
    for _ in range(60):
        audit.record(session, mentor, "referral.read", made)
    audit.record(
        session, coordinator, "problem.resolved", None, service_id=str(service.id),
        report_id="00000000-0000-0000-0000-000000000000",
    )  # fmt: skip
    session.commit()
    return {"mentor": mentor, "referral": made, "service": service}


def staff(session: Session, email: str) -> User:
    return session.scalars(select(User).where(User.email == email)).one()


def test_audit_with_names_filters_and_pages(client: TestClient, session: Session) -> None:
    email = sign_up(client, session, role="coordinator")
    found = audited(session, staff(session, email))
    page = client.get("/console/audit")
    assert page.status_code == 200, page.text
    assert page.text.count("<code>referral.read</code>") == 49  # and the decision: 50 a page
    assert found["mentor"].email in page.text and str(found["mentor"].id) not in page.text
    listing = found["service"]
    assert f'<a href="/console/listings/{listing.id}">{listing.name}</a>' in page.text
    assert 'rel="next"' in page.text and 'rel="prev"' not in page.text
    second = client.get("/console/audit", params={"page": 2}).text
    assert second.count("<code>referral.read</code>") == 11 and 'rel="next"' not in second
    only = client.get("/console/audit", params={"action": "problem.", "actor": email}).text
    assert only.count("<tr>") == 2  # the header and the decision
    assert 'href="/console/audit?action=problem.&amp;actor=' in only  # the CSV keeps them
    assert '<option value="problem." selected>' in only
    today = dt.datetime.now(dt.UTC).date()
    before = client.get("/console/audit", params={"until": str(today - dt.timedelta(days=2))})
    assert "No entry matches these filters." in before.text


def test_audit_csv_keeps_the_filters(client: TestClient, session: Session) -> None:
    email = sign_up(client, session, role="coordinator")
    found = audited(session, staff(session, email))
    download = client.get("/console/audit", params={"action": "referral.", "format": "csv"})
    assert download.headers["content-disposition"] == 'attachment; filename="audit.csv"'
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 60
    assert {r["actor"] for r in rows} == {found["mentor"].email}
    assert {r["referral_id"] for r in rows} == {str(found["referral"].id)}
    decision = client.get("/console/audit", params={"action": "problem.", "format": "csv"})
    (row,) = csv.DictReader(io.StringIO(decision.text))
    assert row["listing"] == found["service"].name and row["actor"] == email


@pytest.mark.parametrize(
    "params",
    [{"since": "2025-02-30"}, {"actor": "not an email"}, {"action": "DROP"}, {"page": "0"}],
)
def test_bad_audit_filters_are_messages(
    client: TestClient, session: Session, params: dict[str, str]
) -> None:
    sign_up(client, session, role="coordinator")
    page = client.get("/console/audit", params=params)
    assert page.status_code == 422
    assert "The log could not be filtered:" in page.text


def test_an_admin_reads_every_programs_log(client: TestClient, session: Session) -> None:
    coordinator = person(session, "coordinator")
    found = audited(session, coordinator)
    sign_up(client, session, role="admin")
    page = client.get("/console/audit", params={"action": "referral."}).text
    assert found["mentor"].email in page


@pytest.mark.parametrize("path", ["/console/outcomes", "/console/unmet", "/console/audit"])
def test_a_mentor_gets_403(client: TestClient, session: Session, path: str) -> None:
    sign_up(client, session, role="mentor")
    assert client.get(path).status_code == 403
    assert client.get(path + "?format=csv").status_code == 403


# -- In a browser --------------------------------------------------------------------------

BROWSER_MONTH = {"start": "2023-05-01", "end": "2023-05-31"}  # no other test uses this month


@pytest.fixture(scope="module")
def browser_referrals(live_server: LiveServer) -> dict[str, Any]:
    """In the browser program, May 2023: 7 anxiety referrals to one listing (connected), and 2
    housing referrals to another: a group of fewer than 5."""
    with unit_of_work(live_server.sessions) as session:
        mentor = staff(session, live_server.account())
        listings = list(
            session.scalars(
                select(Service)
                .where(Service.name.contains("(demo)"))
                .order_by(Service.name)
                .limit(2)
            )
        )
        day = dt.datetime(2023, 5, 2, 9, tzinfo=dt.UTC)
        for n in range(7):
            kind = {"status": "completed", "needs": ("anxiety",), "first_day": day}
            made = referral(session, mentor, listings[0], n, **kind)
        for n in range(2):
            kind = {"status": "completed", "needs": ("housing",), "first_day": day}
            made = referral(session, mentor, listings[1], n, **kind)
        audit.record(session, mentor, "referral.read", made)
        return {"mentor": mentor.email, "listings": [s.name for s in listings]}


def shoot(page: Page, name: str) -> None:
    """With DIRECTORY_SCREENSHOTS set, a full-page PNG of the screen goes there."""
    folder = os.environ.get("DIRECTORY_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_reports_in_a_browser(
    new_context: ContextFactory,
    live_server: LiveServer,
    browser_referrals: dict[str, Any],
    lang: str,
    viewport: str,
) -> None:
    page = new_context(viewport, lang=lang).new_page()
    sign_in_staff(page, live_server)
    problems: list[str] = []
    page.goto("/console/outcomes")
    page.locator("#start").fill(BROWSER_MONTH["start"])
    page.locator("#end").fill(BROWSER_MONTH["end"])
    page.locator("#by").select_option("service")
    page.locator("form.filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"start=2023-05-01&end=2023-05-31&by=service$"))
    first, second = browser_referrals["listings"]
    expect(page.locator("tr", has=page.locator(f"th:text-is('{first}')")).first).to_contain_text(
        "7"
    )
    hidden = page.locator("ul.bars li", has_text=second).first
    expect(hidden.locator("rect.hidden")).to_have_count(1)
    problems += axe_problems(page, f"outcomes ({lang}, {viewport})")
    shoot(page, f"console-outcomes-{lang}-{viewport}")
    with page.expect_download() as download:
        page.locator("a[href*='format=csv']").click()
    assert download.value.suggested_filename == "outcomes-2023-05-01-2023-05-31-service.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sorted(row["referrals"] for row in rows) == ["7", "<5"]
    page.goto("/console/unmet?days=365")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    problems += axe_problems(page, f"unmet ({lang}, {viewport})")
    shoot(page, f"console-unmet-{lang}-{viewport}")
    page.goto("/console/audit")
    page.locator("#actor").fill(browser_referrals["mentor"])
    page.locator("#action").select_option("referral.")
    page.locator("form.filters button[type=submit]").click()
    expect(page.locator("table.data tbody tr")).to_have_count(1)
    expect(page.locator("table.data tbody")).to_contain_text(browser_referrals["mentor"])
    problems += axe_problems(page, f"audit ({lang}, {viewport})")
    shoot(page, f"console-audit-{lang}-{viewport}")
    page.goto("/console/audit?since=someday")
    expect(page.locator("#since")).to_have_attribute("aria-invalid", "true")
    problems += axe_problems(page, f"audit with a bad filter ({lang}, {viewport})")
    assert not problems, "\n".join(problems)


def test_audit_by_a_whole_action(client: TestClient, session: Session) -> None:
    email = sign_up(client, session, role="coordinator")
    audited(session, staff(session, email))
    page = client.get("/console/audit", params={"action": "problem.resolved"}).text
    assert page.count("<code>problem.resolved</code>") == 1 and "referral.read</code>" not in page
    assert '<option value="problem.resolved" selected>' in page
