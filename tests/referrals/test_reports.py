"""The outcome report: figures equal the ones computed by hand on a fixture of 32 referrals (and
some that must not count), small numbers shown as "<5", CSV, who may read it, bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from directory.accounts.models import User
from directory.accounts.service import create_user
from directory.listings.models import Service
from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.suppression import protect
from tests.referrals.conftest import event, refer

URL = "/v1/reports/referrals"
WINDOW = {"from": "2025-01-01", "to": "2025-04-01"}
BASE = dt.datetime(2025, 1, 6, 10, tzinfo=dt.UTC)  # the n-th referral is made n days later
A, AH, D, NO = ("anxiety",), ("anxiety", "housing"), ("depression",), ()

# service (0, 1, 2 by name), status, outcome, days from creation to acceptance, to first
# contact and to closing, needs. Service 0's are mentor 1's, the others mentor 2's.
FIXTURE: list[tuple[int, str, str | None, float | None, float | None, float | None, Any]] = [
    (0, "completed", "got-help", 0.5, 1, 5, A),  # 0: follow-ups on time, then late
    (0, "completed", "enrolled", 0.5, 1, 7, A),
    (0, "completed", "got-help", 0.5, 1, 7.5, A),
    (0, "completed", "got-help", 1, 2, 10, A),
    (0, "completed", "got-help", 1, 2, 14, A),
    (0, "completed", "referred-elsewhere", 1, 2, 20, A),
    (0, "completed", "got-help", 1.5, 2, 30, A),
    (0, "completed", "got-help", 1.5, 3, 40, A),
    (0, "completed", "got-help", 2, 3, 45, A),
    (1, "completed", "got-help", 2, 3, 3, AH),  # 9: a follow-up on time
    (1, "completed", "got-help", 3, 4, 31, A),
    (2, "completed", "got-help", 3, 5, 60, D),
    (0, "failed", "no-capacity", 1, 2, 10, A),  # 12: a follow-up on time, at its due time
    (0, "failed", "no-capacity", 1, 2, 10, A),
    (0, "failed", "could-not-contact", 2, 3, 10, A),
    (0, "failed", "not-eligible", 2, 3, 10, A),
    (1, "failed", "no-capacity", 2, 3, 10, AH),
    (1, "failed", "no-capacity", 4, 4, 10, A),
    (1, "failed", "could-not-contact", 4, 4, 10, A),
    (2, "failed", "no-capacity", 6, 7, 10, D),
    (0, "rejected", None, None, None, 1, A),
    (0, "rejected", None, None, None, 1, A),
    (0, "requested", None, None, None, None, NO),
    (0, "accepted", None, 0.2, None, None, A),
    (0, "accepted", None, 0.3, None, None, A),
    (0, "in-progress", None, 5, 6, None, A),  # 25: two follow-ups without due_at
    (0, "on-hold", None, 7, None, None, A),
    (1, "requested", None, None, None, None, A),  # 27: a follow-up on time
    (1, "cancelled", None, None, None, 2, A),
    (2, "requested", None, None, None, None, D),
    (0, "entered-in-error", None, 100, 100, 1, A),  # 30: a late follow-up, never counted
    (0, "entered-in-error", None, 100, 100, 1, A),
]


def person(session: Session, role: str, program: str | None) -> tuple[User, dict[str, str]]:
    email = f"{role}-{os.urandom(4).hex()}@example.org"
    user, token = create_user(session, email=email, role=role, program=program)
    return user, {"Authorization": f"Bearer {token}"}


def add(
    session: Session,
    mentor: User,
    service: Service,
    created: dt.datetime,
    *,
    status: str = "completed",
    outcome: str | None = "got-help",
    times: tuple[float | None, float | None, float | None] = (1, 1, 1),
    needs: Any = A,
) -> Referral:
    """A referral as it would be after its events, with the times given (days after creation)."""
    accepted, contact, closed = (
        None if d is None else created + dt.timedelta(days=d) for d in times
    )
    assert mentor.program_id is not None
    referral = Referral(
        program_id=mentor.program_id,
        mentor_id=mentor.id,
        mentee_ref="HP-1042",
        service_id=service.id,
        needs=list(needs),
        contact_preference="mentor-will-contact",
        consent={"scope": "share my need", "obtained_at": created.isoformat(), "method": "verbal"},
        status=status,
        outcome=outcome,
        follow_up_at=created + dt.timedelta(days=2),
        last_event_at=created,
        created_at=created,
        accepted_at=accepted,
        first_contact_at=contact,
        closed_at=closed,
    )
    session.add(referral)
    session.flush()
    return referral


def follow_up(
    session: Session, referral: Referral, seq: int, at: float, next_at: float, due: float | None
) -> None:
    """A follow-up event ``at`` days after creation; ``due`` None: logged before due_at was."""
    day = referral.created_at
    data = {"next_at": (day + dt.timedelta(days=next_at)).isoformat()}
    if due is not None:
        data["due_at"] = (day + dt.timedelta(days=due)).isoformat()
    event = ReferralEvent(
        referral_id=referral.id,
        seq=seq,
        type="follow-up",
        at=day + dt.timedelta(days=at),
        actor_id=referral.mentor_id,
        data=data,
    )
    session.add(event)
    session.flush()


def services(session: Session, count: int) -> list[Service]:
    query = select(Service).where(Service.curation_status == "published").order_by(Service.name)
    found = list(session.scalars(query.limit(count)))
    assert len({s.name for s in found}) == count
    return found


@pytest.fixture
def harbor(session: Session) -> dict[str, Any]:
    """The fixture's referrals, their program's coordinator, and referrals that never count."""
    s = services(session, 3)
    m1, _ = person(session, "mentor", "Harbor Peers")
    m2, _ = person(session, "mentor", "Harbor Peers")
    made = []
    for n, (service, status, outcome, *times, needs) in enumerate(FIXTURE):
        created = BASE + dt.timedelta(days=n)
        mentor = m1 if service == 0 else m2
        kind = {"status": status, "outcome": outcome, "times": tuple(times), "needs": needs}
        made.append(add(session, mentor, s[service], created, **kind))
    # referral, seq, logged at, next_at, due_at (days after creation; None: not recorded)
    for n, seq, at, next_at, due in (
        (0, 1, 1, 4, 2), (0, 2, 5, 8, 4), (12, 1, 2, 5, 2), (25, 1, 3, 6, None),
        (25, 2, 5, 9, None), (27, 1, 0.5, 3, 1), (9, 1, 1, 3, 2), (30, 1, 9, 12, 2),
    ):  # fmt: skip
        follow_up(session, made[n], seq, at, next_at, due)
    # Just outside [from, to), and another program's: none of these counts.
    add(session, m1, s[0], dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    add(session, m1, s[0], dt.datetime(2025, 4, 1, tzinfo=dt.UTC))
    other, _ = person(session, "mentor", "Other Program")
    for n in range(3):
        foreign = add(session, other, s[0], BASE + dt.timedelta(days=n))
    follow_up(session, foreign, 1, 9, 12, 2)
    _, coordinator = person(session, "coordinator", "Harbor Peers")
    session.commit()
    return {"services": s, "mentors": (m1, m2), "coordinator": coordinator}


def test_the_program_row_equals_the_hand_computed_figures(
    client: TestClient, harbor: dict[str, Any]
) -> None:
    response = client.get(URL, params=WINDOW, headers=harbor["coordinator"])
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["from"], report["to"], report["group_by"]) == ("2025-01-01", "2025-04-01", None)
    assert report["services_to_check"] == []  # the fixture's failures closed long ago
    assert report["groups"] == [
        {
            "key": None,
            "label": None,
            "referrals": 30,  # 32 made in the window, less the 2 entered in error
            "entered_in_error": "<5",
            "by_status": {
                "requested": "<5",  # 3
                "accepted": "<5",  # 2
                "rejected": "<5",  # 2
                "cancelled": "<5",  # 1
                "in-progress": "<5",  # 1
                "on-hold": "<5",  # 1
                "completed": 12,
                "failed": 8,
            },
            "closed_loop_rate": 0.767,  # (12 + 8 + 2 + 1) / 30 = 23 / 30
            "connection_rate": 0.522,  # 12 / 23
            # 24 accepted: .2 .3 .5 .5 .5 1 1 1 1 1 1.5 [1.5 2] 2 2 2 2 3 3 4 4 5 6 7 -> 1.75
            "median_days_to_acceptance": 1.8,
            # 21 contacted: 1 1 1 2 2 2 2 2 2 3 [3] 3 3 3 3 4 4 4 5 6 7
            "median_days_to_first_contact": 3.0,
            # 12 completed: 3 5 7 7.5 10 [14 20] 30 31 40 45 60
            "median_days_to_connection": 17.0,
            "connected_within_7_days": None,  # 3 / 30: a count under 5 would show
            "connected_within_30_days": 0.267,  # 3 5 7 7.5 10 14 20 30: 8 / 30
            "follow_ups": 7,  # not the entered-in-error one, nor the other program's
            "follow_ups_on_time": None,  # 5 / 7 (late: 2nd of #0, 1st of #25): 2 late is < 5
            "not_connected_reasons": [
                {"outcome": "no-capacity", "count": 5},
                {"outcome": "could-not-contact", "count": "<5"},  # 2
                {"outcome": "not-eligible", "count": "<5"},  # 1
            ],
        }
    ]


def test_by_service_with_a_small_group(client: TestClient, harbor: dict[str, Any]) -> None:
    params = {**WINDOW, "group_by": "service"}
    groups = client.get(URL, params=params, headers=harbor["coordinator"]).json()["groups"]
    s = harbor["services"]
    assert [(g["key"], g["label"]) for g in groups] == [(str(x.id), x.name) for x in s]
    assert groups[0] == {
        "key": str(s[0].id),
        "label": s[0].name,
        "referrals": 20,
        "entered_in_error": "<5",
        "by_status": {
            "requested": "<5",
            "accepted": "<5",
            "rejected": "<5",
            "cancelled": 0,
            "in-progress": "<5",
            "on-hold": "<5",
            "completed": 9,
            "failed": "<5",
        },
        "closed_loop_rate": 0.75,  # (9 + 4 + 2) / 20
        "connection_rate": 0.6,  # 9 / 15
        "median_days_to_acceptance": 1.0,  # .2 .3 .5 .5 .5 1 1 1 [1] 1 1.5 1.5 2 2 2 5 7
        "median_days_to_first_contact": 2.0,  # 1 1 1 2 2 2 [2 2] 2 3 3 3 3 6
        "median_days_to_connection": 14.0,  # 5 7 7.5 10 [14] 20 30 40 45
        "connected_within_7_days": None,  # 2 / 20
        "connected_within_30_days": 0.35,  # 7 / 20
        "follow_ups": 5,
        "follow_ups_on_time": None,  # 3 / 5: 2 late
        "not_connected_reasons": [
            {"outcome": "no-capacity", "count": "<5"},
            {"outcome": "could-not-contact", "count": "<5"},  # a tie with not-eligible: by code
            {"outcome": "not-eligible", "count": "<5"},
        ],
    }
    # Below, keys and labels are the ones checked above.
    assert groups[1] | {"key": None, "label": None} == {
        "key": None,
        "label": None,
        "referrals": 7,
        "entered_in_error": 0,
        "by_status": {
            "requested": "<5",
            "accepted": 0,
            "rejected": 0,
            "cancelled": "<5",
            "in-progress": 0,
            "on-hold": 0,
            "completed": "<5",
            "failed": "<5",
        },
        "closed_loop_rate": None,  # 6 / 7: 1 open
        "connection_rate": None,  # 2 / 6
        "median_days_to_acceptance": 3.0,  # 2 2 [3] 4 4
        "median_days_to_first_contact": 4.0,  # 3 3 [4] 4 4
        "median_days_to_connection": None,  # of 2 completed
        "connected_within_7_days": None,  # 1 / 7
        "connected_within_30_days": None,  # 1 / 7
        "follow_ups": "<5",  # 2
        "follow_ups_on_time": None,
        "not_connected_reasons": [
            {"outcome": "no-capacity", "count": "<5"},
            {"outcome": "could-not-contact", "count": "<5"},
        ],
    }
    assert groups[2] | {"key": None, "label": None} == {
        "key": None,
        "label": None,
        "referrals": "<5",  # 3: no rate, no median
        "entered_in_error": 0,
        "by_status": {
            "requested": "<5",
            "accepted": 0,
            "rejected": 0,
            "cancelled": 0,
            "in-progress": 0,
            "on-hold": 0,
            "completed": "<5",
            "failed": "<5",
        },
        "closed_loop_rate": None,
        "connection_rate": None,
        "median_days_to_acceptance": None,
        "median_days_to_first_contact": None,
        "median_days_to_connection": None,
        "connected_within_7_days": None,
        "connected_within_30_days": None,
        "follow_ups": 0,
        "follow_ups_on_time": None,
        "not_connected_reasons": [{"outcome": "no-capacity", "count": "<5"}],
    }


def test_by_need_and_by_mentor(client: TestClient, harbor: dict[str, Any]) -> None:
    headers = harbor["coordinator"]
    needs = client.get(URL, params={**WINDOW, "group_by": "need"}, headers=headers).json()
    counts = {g["key"]: g["referrals"] for g in needs["groups"]}
    # Two referrals have anxiety and housing: they count in both; one has no need (key null).
    assert counts == {"anxiety": 26, "depression": "<5", "housing": "<5", None: "<5"}
    assert [g["key"] for g in needs["groups"]] == ["anxiety", "depression", "housing", None]
    anxiety = needs["groups"][0]
    assert anxiety["closed_loop_rate"] == 0.808  # 23 terminal, less 2 of depression: 21 / 26
    assert anxiety["follow_ups"] == 7 and anxiety["follow_ups_on_time"] is None  # 2 late
    response = client.get(URL, params={**WINDOW, "group_by": "mentor"}, headers=headers)
    m1, m2 = (str(m.id) for m in harbor["mentors"])
    rows = {g["key"]: g for g in response.json()["groups"]}
    assert list(rows) == sorted([m1, m2]) and "@" not in response.text
    assert rows[m1]["referrals"] == 20 and rows[m1]["closed_loop_rate"] == 0.75
    assert rows[m2]["referrals"] == 10 and rows[m2]["closed_loop_rate"] is None  # 8 / 10
    assert rows[m2]["by_status"]["completed"] == "<5" and rows[m2]["label"] is None


def test_csv(client: TestClient, harbor: dict[str, Any]) -> None:
    headers = {**harbor["coordinator"], "Accept": "text/csv"}
    response = client.get(URL, params={**WINDOW, "group_by": "service"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["key"] for r in rows] == [str(s.id) for s in harbor["services"]]
    first, second, small = rows
    assert first["group_by"] == "service" and first["label"] == harbor["services"][0].name
    assert (first["referrals"], first["completed"], first["cancelled"]) == ("20", "9", "0")
    assert (first["entered_in_error"], first["median_days_to_connection"]) == ("<5", "14.0")
    assert (second["closed_loop_rate"], second["follow_ups"]) == ("", "<5")
    assert (second["reason_1"], second["reason_1_count"], second["reason_3"]) == (
        "no-capacity",
        "<5",
        "",
    )
    assert (small["referrals"], small["closed_loop_rate"], small["follow_ups_on_time"]) == (
        "<5",
        "",
        "",
    )


@pytest.mark.parametrize(
    ("accept", "is_csv"),
    [
        ("text/csv", True),
        ("application/json;q=0.9, text/csv", True),
        ("text/csv, */*", True),
        ("text/csv;q=0.5, application/json", False),
        ("text/csv;q=0", False),
        ("*/*", False),
        ("text/html", False),
    ],
)
def test_accept_chooses_csv_or_json(
    client: TestClient, session: Session, accept: str, is_csv: bool
) -> None:
    _, headers = person(session, "coordinator", "Harbor Peers")
    session.commit()
    response = client.get(URL, headers={**headers, "Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv" if is_csv else "application/")


def test_who_may_read_it_and_every_read_is_audited(
    client: TestClient, session: Session, harbor: dict[str, Any]
) -> None:
    _, mentor = person(session, "mentor", "Harbor Peers")
    _, lone = person(session, "coordinator", None)
    _, admin = person(session, "admin", "Harbor Peers")
    _, foreign = person(session, "coordinator", "Other Program")
    session.commit()
    assert client.get(URL, headers=mentor).status_code == 403
    assert client.get(URL, headers=lone).status_code == 403
    assert client.get(URL, params=WINDOW, headers=admin).json()["groups"][0]["referrals"] == 30
    theirs = client.get(URL, params=WINDOW, headers=foreign).json()["groups"][0]
    assert theirs["referrals"] == "<5" and theirs["follow_ups"] == "<5"  # their own 3, 1
    client.get(URL, params={**WINDOW, "group_by": "need"}, headers=harbor["coordinator"])
    audit = client.get("/v1/audit", headers=harbor["coordinator"]).json()
    reads = [row for row in audit if row["action"] == "report.read"]
    assert [(r["referral_id"], r["detail"]) for r in reads] == [
        (None, {"period": "2025-01-01/2025-04-01", "group_by": "need"}),
        (None, {"period": "2025-01-01/2025-04-01", "group_by": None}),  # the admin's
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2099-01-01"}, "from"),  # after the default to
        ({"from": "2025-02-01", "to": "2025-02-01"}, "to"),
        ({"from": "2025-03-01", "to": "2025-02-01"}, "to"),
        ({"from": "2020-01-01", "to": "2023-01-02"}, "from"),  # three years and a day
        ({"group_by": "city"}, "group_by"),
    ],
)
def test_bad_parameters_are_422(
    client: TestClient, session: Session, params: dict[str, str], field: str
) -> None:
    _, headers = person(session, "coordinator", "Harbor Peers")
    session.commit()
    response = client.get(URL, params=params, headers=headers)
    assert response.status_code == 422 and response.json()["field"] == field, response.text


def test_the_default_period_and_an_empty_one(client: TestClient, session: Session) -> None:
    _, headers = person(session, "coordinator", "Harbor Peers")
    session.commit()
    report = client.get(URL, headers=headers).json()
    end = dt.date.fromisoformat(report["to"])
    assert end == dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    assert end - dt.date.fromisoformat(report["from"]) == dt.timedelta(days=90)
    (empty,) = report["groups"]
    assert empty["referrals"] == 0 and empty["by_status"]["completed"] == 0
    assert empty["closed_loop_rate"] is None and empty["not_connected_reasons"] == []
    grouped = client.get(URL, params={"group_by": "service"}, headers=headers).json()
    assert grouped["groups"] == []
    allowed = client.get(URL, params={"from": "2020-01-01", "to": "2023-01-01"}, headers=headers)
    assert allowed.status_code == 200  # 1,096 days


def test_services_to_check(client: TestClient, session: Session) -> None:
    """Two or more recent no-capacity or could-not-contact failures, whatever the period."""
    s = services(session, 4)
    mentor, _ = person(session, "mentor", "Harbor Peers")
    other, _ = person(session, "mentor", "Other Program")
    now = dt.datetime.now(dt.UTC)

    def failed(service: Service, outcome: str, days_ago: float, by: User = mentor) -> None:
        created = now - dt.timedelta(days=days_ago + 5)  # made long before the report's period
        add(session, by, service, created, status="failed", outcome=outcome, times=(1, 2, 5))

    failed(s[0], "no-capacity", 3)
    failed(s[0], "could-not-contact", 10)
    failed(s[1], "no-capacity", 5)
    failed(s[1], "no-capacity", 40)  # not recent
    failed(s[1], "no-capacity", 1, other)  # another program's
    failed(s[1], "no-capacity", 2, other)
    failed(s[2], "not-eligible", 1)
    failed(s[2], "not-eligible", 2)
    failed(s[2], "no-capacity", 3)
    for day in range(5):
        failed(s[3], "no-capacity", day + 1)
    failed(s[3], "could-not-contact", 29)
    add(session, mentor, s[0], now - dt.timedelta(days=4))  # completed: not a failure
    _, headers = person(session, "coordinator", "Harbor Peers")
    session.commit()
    params = {"from": "2025-01-01", "to": "2025-02-01", "group_by": "mentor"}
    report = client.get(URL, params=params, headers=headers).json()
    assert report["groups"] == []
    assert report["services_to_check"] == [
        {
            "service_id": str(s[3].id),
            "name": s[3].name,
            "no_capacity": 5,
            "could_not_contact": "<5",
        },
        {
            "service_id": str(s[0].id),
            "name": s[0].name,
            "no_capacity": "<5",
            "could_not_contact": "<5",
        },
    ]


def test_follow_ups_logged_through_the_api_are_judged_against_their_due_time(
    client: TestClient,
    session: Session,
    mentor_a: dict[str, str],
    coordinator_a: dict[str, str],
    service_id: str,
) -> None:
    """Five referrals due in two days (the default), five due last January: ten follow-ups
    now, five of them late."""
    made = [refer(client, mentor_a, service_id) for _ in range(10)]
    for late in made[5:]:  # time passed: these five fell due last January
        session.execute(
            text("UPDATE referral SET follow_up_at = '2026-01-05T10:00:00Z' WHERE id = :id"),
            {"id": late["id"]},
        )
    session.commit()
    next_at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
    for referral in made:
        logged = event(client, mentor_a, referral, type="follow-up", next_at=next_at)
        assert logged.status_code == 200, logged.text
    history = client.get(f"/v1/referrals/{made[5]['id']}", headers=mentor_a).json()["history"]
    due_at = dt.datetime.fromisoformat(history[-1]["data"]["due_at"])
    assert due_at == dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)
    (program,) = client.get(URL, headers=coordinator_a).json()["groups"]
    assert (program["referrals"], program["follow_ups"]) == (10, 10)
    assert program["follow_ups_on_time"] == 0.5  # 5 / 10


def test_dates_out_of_range_are_422_not_500(
    client: TestClient, coordinator_a: dict[str, str]
) -> None:
    for params, field in (({"to": "0001-01-05"}, "to"), ({"from": "9999-12-01"}, "from")):
        response = client.get(URL, params=params, headers=coordinator_a)
        assert response.status_code == 422 and response.json()["field"] == field, response.text


@pytest.mark.parametrize(
    ("counts", "cells", "safe"),
    [
        # nothing small: all shown
        (
            {"completed": 9, "failed": 6, "on-hold": 0},
            {"completed": 9, "failed": 6, "on-hold": 0},
            True,
        ),
        # one small count beside a total of 12 would be 12 - 9: the 9 is withheld too
        ({"completed": 9, "failed": 3}, {"completed": None, "failed": "<5"}, True),
        # two small ones whose sum (2) leaves one possibility (1 + 1): the next is withheld
        ({"a": 1, "b": 1, "c": 10, "d": 30}, {"a": "<5", "b": "<5", "c": None, "d": 30}, True),
        ({"a": 4, "b": 4, "c": 20}, {"a": "<5", "b": "<5", "c": None}, True),  # 8 = 4 + 4 only
        # a sum of 5 over two small counts leaves four possibilities: nothing more withheld
        ({"a": 2, "b": 3, "c": 20}, {"a": "<5", "b": "<5", "c": 20}, True),
        # 6 = 5 + 1 exactly, whatever is withheld: the total must go too
        ({"a": 5, "b": 1}, {"a": None, "b": "<5"}, False),
        # a total shown as "<5": 1 to 4 over two counts leaves them open
        ({"a": 1, "b": 2}, {"a": "<5", "b": "<5"}, True),
        # ... but over four counts, each is 1
        ({"a": 1, "b": 1, "c": 1, "d": 1}, dict.fromkeys("abcd", "<5"), False),
        # the fewest withheld: 100 alone does it (5 would not, 1 + 5 = 6 leaves one way)
        ({"a": 1, "b": 5, "c": 100}, {"a": "<5", "b": 5, "c": None}, True),
    ],
)
def test_small_counts_cannot_be_worked_out_from_the_total(
    counts: dict[str, int], cells: dict[str, Any], safe: bool
) -> None:
    assert protect(counts, sum(counts.values())) == (cells, safe)


def test_a_status_count_beside_the_total_is_protected_in_the_report(
    client: TestClient, session: Session
) -> None:
    # 9 completed and 3 failed: "referrals": 12 and "completed": 9 would give the 3 away.
    [service] = services(session, 1)
    mentor, _ = person(session, "mentor", "Small Program")
    for n in range(12):
        kind = {"status": "failed", "outcome": "no-show"} if n < 3 else {}
        add(session, mentor, service, BASE + dt.timedelta(days=n), **kind)
    _, coordinator = person(session, "coordinator", "Small Program")
    session.commit()
    [row] = client.get(URL, params=WINDOW, headers=coordinator).json()["groups"]
    assert row["referrals"] == 12
    assert row["by_status"]["failed"] == "<5" and row["by_status"]["completed"] is None
    assert row["not_connected_reasons"] == [{"outcome": "no-show", "count": "<5"}]
    csv_text = client.get(URL, params=WINDOW, headers={**coordinator, "Accept": "text/csv"}).text
    [line] = list(csv.DictReader(io.StringIO(csv_text)))
    assert line["completed"] == "" and line["failed"] == "<5"


def program_row(
    client: TestClient, session: Session, name: str, made: list[tuple[str, str | None, int]]
) -> Any:
    """The report row of a new program with ``count`` referrals of each (status, outcome)."""
    [service] = services(session, 1)
    mentor, _ = person(session, "mentor", name)
    day = 0
    for status, outcome, count in made:
        for _ in range(count):
            add(session, mentor, service, BASE + dt.timedelta(hours=day), status=status,
                outcome=outcome)  # fmt: skip
            day += 1
    _, coordinator = person(session, "coordinator", name)
    session.commit()
    [row] = client.get(URL, params=WINDOW, headers=coordinator).json()["groups"]
    return row


def test_a_shown_rate_does_not_undo_the_withholding(client: TestClient, session: Session) -> None:
    # 32 of 78 ended: the closed-loop rate tells it, and then 30 completed would give the 2
    # failed away: completed is withheld (and the connection rate with it).
    row = program_row(
        client,
        session,
        "Rate Program",
        [("requested", None, 6), ("accepted", None, 40), ("completed", "got-help", 30),
         ("failed", "no-show", 2)],
    )  # fmt: skip
    assert row["referrals"] == 78 and row["closed_loop_rate"] == 0.41
    assert row["by_status"]["failed"] == "<5" and row["by_status"]["completed"] is None
    assert row["by_status"]["requested"] == 6 and row["by_status"]["accepted"] == 40
    assert row["connection_rate"] is None and row["connected_within_30_days"] is None


def test_reasons_do_not_give_a_withheld_failed_count_away(
    client: TestClient, session: Session
) -> None:
    # 2 requested beside 64 and 50 completed: the 12 failed are withheld, so their reasons'
    # counts (7 and 5, which add up to 12) are withheld too.
    row = program_row(
        client,
        session,
        "Reasons Program",
        [("requested", None, 2), ("completed", "got-help", 50), ("failed", "no-show", 7),
         ("failed", "other", 5)],
    )  # fmt: skip
    assert row["referrals"] == 64 and row["by_status"]["requested"] == "<5"
    assert row["by_status"]["failed"] is None and row["by_status"]["completed"] == 50
    assert row["not_connected_reasons"] == [
        {"outcome": "no-show", "count": None},
        {"outcome": "other", "count": None},
    ]
    assert row["closed_loop_rate"] is None and row["connection_rate"] is None


def test_four_statuses_under_a_small_total_are_all_withheld(
    client: TestClient, session: Session
) -> None:
    # A total of 1-4 and four statuses of "<5" each: each would be exactly 1.
    row = program_row(
        client,
        session,
        "Tiny Program",
        [("requested", None, 1), ("accepted", None, 1), ("completed", "got-help", 1),
         ("failed", "no-show", 1)],
    )  # fmt: skip
    assert row["referrals"] == "<5"
    assert set(row["by_status"].values()) == {None}
    assert row["not_connected_reasons"] == [{"outcome": "no-show", "count": None}]
