"""The SQL behind the outcome reports: a group's exact figures, and the services whose recent
referrals failed. Nothing here applies the small-number rules (``suppression`` does)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Executable,
    Float,
    Numeric,
    Row,
    Subquery,
    Text,
    case,
    cast,
    func,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from directory.listings.models import Service
from directory.referrals.lifecycle import STATUSES
from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.report_schemas import (
    CHECK_OUTCOMES,
    ERROR,
    RECENT,
    FailingService,
    GroupFigures,
)
from directory.referrals.service import DEFAULT_FOLLOW_UP


def group_figures(
    session: Session,
    program_id: uuid.UUID,
    *,
    start: dt.date,
    end: dt.date,
    group_by: str | None,
) -> list[GroupFigures]:
    """The exact figures of each group of the program's referrals created in ``[start, end)``;
    without grouping, one row (even for no referral)."""
    found = _referrals(program_id, start, end, group_by)
    follow_ups = _follow_ups(session, found)
    reasons = _reasons(session, found)
    return [
        _as_figures(row, follow_ups.get(row.key, (0, 0)), reasons.get(row.key, {}))
        for row in session.execute(_figures(found, grouped=group_by is not None))
    ]


def _as_figures(
    row: Row[Any], follow_ups: tuple[int, int], reasons: dict[str, int]
) -> GroupFigures:
    """One row of ``_figures``, whose columns are named after the statuses, as figures."""
    figures = row._mapping
    return GroupFigures(
        key=row.key,
        label=row.label,
        statuses={s: figures[s] for s in STATUSES},
        to_acceptance=figures["to_acceptance"],
        to_first_contact=figures["to_first_contact"],
        to_connection=figures["to_connection"],
        within_7=figures["within_7"],
        within_30=figures["within_30"],
        follow_ups=follow_ups[0],
        follow_ups_on_time=follow_ups[1],
        reasons=reasons,
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _referrals(
    program_id: uuid.UUID, start: dt.date, end: dt.date, group_by: str | None
) -> Subquery:
    """The set, one row per referral and group (a referral with two needs: two rows)."""
    key: ColumnElement[Any] = cast(null(), Text)
    label: ColumnElement[Any] = cast(null(), Text)
    if group_by == "need":
        needs = case(
            (func.cardinality(Referral.needs) > 0, Referral.needs),
            else_=array([cast(null(), Text)]),
        )
        key = func.unnest(needs)
    elif group_by == "service":
        key, label = cast(Referral.service_id, Text), Service.name.expression
    elif group_by == "mentor":
        key = cast(Referral.mentor_id, Text)
    query = select(
        Referral.id,
        Referral.status,
        Referral.outcome,
        Referral.created_at,
        Referral.accepted_at,
        Referral.first_contact_at,
        Referral.closed_at,
        key.label("key"),
        label.label("label"),
    ).where(
        Referral.program_id == program_id,
        Referral.created_at >= _midnight(start),
        Referral.created_at < _midnight(end),
    )
    if group_by == "service":
        query = query.join(Service, Service.id == Referral.service_id)
    return query.subquery("found")


def _figures(found: Subquery, *, grouped: bool) -> Executable:
    """Counts and medians per group, in one aggregate query."""
    c = found.c
    live = c.status != ERROR
    completed = c.status == "completed"
    took = c.closed_at - c.created_at
    query = select(
        # Without grouping: one row even for an empty set (max() of the null key is null).
        func.max(c.key).label("key"),
        func.max(c.label).label("label"),
        *(func.count().filter(c.status == s).label(s) for s in STATUSES),
        _median(c.accepted_at, c.created_at, live).label("to_acceptance"),
        _median(c.first_contact_at, c.created_at, live).label("to_first_contact"),
        _median(c.closed_at, c.created_at, completed).label("to_connection"),
        func.count().filter(completed, took <= dt.timedelta(days=7)).label("within_7"),
        func.count().filter(completed, took <= dt.timedelta(days=30)).label("within_30"),
    )
    return query.group_by(c.key, c.label) if grouped else query


def _median(later: Any, earlier: Any, where: ColumnElement[bool]) -> ColumnElement[Any]:
    """The median of ``later - earlier`` in days with one decimal, over the rows ``where``."""
    days = cast(func.extract("epoch", later - earlier) / 86400, Float)
    value = func.percentile_cont(0.5).within_group(case((where, days)))  # nulls are skipped
    return func.round(cast(value, Numeric), 1)


def _follow_ups(session: Session, found: Subquery) -> dict[str | None, tuple[int, int]]:
    """Per group: (follow-up events logged, of which on time)."""
    event = ReferralEvent
    previous = func.lag(func.jsonb_extract_path_text(event.data, "next_at")).over(
        partition_by=event.referral_id, order_by=event.seq
    )
    recorded = func.jsonb_extract_path_text(event.data, "due_at")
    logged = (
        select(
            event.referral_id,
            event.at,
            cast(func.coalesce(recorded, previous), DateTime(timezone=True)).label("due"),
        )
        .where(event.type == "follow-up", event.referral_id.in_(select(found.c.id)))
        .subquery("logged")
    )
    due = func.coalesce(logged.c.due, found.c.created_at + DEFAULT_FOLLOW_UP)
    query = (
        select(found.c.key, func.count(), func.count().filter(logged.c.at <= due))
        .join_from(found, logged, logged.c.referral_id == found.c.id)
        .where(found.c.status != ERROR)
        .group_by(found.c.key)
    )
    return {key: (count, on_time) for key, count, on_time in session.execute(query)}


def _reasons(session: Session, found: Subquery) -> dict[str | None, dict[str, int]]:
    """Per group: the outcomes of failed referrals and their counts, most frequent first."""
    query = (
        select(found.c.key, found.c.outcome, func.count().label("n"))
        .where(found.c.status == "failed")
        .group_by(found.c.key, found.c.outcome)
        .order_by(found.c.key, func.count().desc(), found.c.outcome)
    )
    reasons: dict[str | None, dict[str, int]] = defaultdict(dict)
    for key, outcome, count in session.execute(query):
        reasons[key][outcome] = count
    return reasons


def failing_services(session: Session, program_id: uuid.UUID) -> list[FailingService]:
    """Services with 2 or more of the program's referrals that failed in the last 30 days for
    no capacity or no contact."""
    since = dt.datetime.now(dt.UTC) - RECENT
    no_capacity = func.count().filter(Referral.outcome == "no-capacity")
    no_contact = func.count().filter(Referral.outcome == "could-not-contact")
    query = (
        select(Service.id, Service.name, no_capacity, no_contact)
        .join(Referral, Referral.service_id == Service.id)
        .where(
            Referral.program_id == program_id,
            Referral.status == "failed",
            Referral.outcome.in_(CHECK_OUTCOMES),
            Referral.closed_at >= since,
        )
        .group_by(Service.id, Service.name)
        .having(func.count() >= 2)
    )  # in no order: the report's is that of the shown counts (suppression.shown_services)
    return [FailingService(*row) for row in session.execute(query)]
