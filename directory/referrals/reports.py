"""Outcome reports for coordinators: how a program's referrals ended, and how fast.

Definitions (the route's documentation repeats them for readers of the API):
- **The set**: the reader's program's referrals created in ``[from, to)`` (dates, UTC midnight;
  by default ``to`` is tomorrow and ``from`` 90 days before it, so "the last 90 days to now").
  Grouped by need (a referral with two needs counts in both; one with none under the key null),
  by service (with its name), by mentor (the mentor's id, never an email), or one row for the
  program.
- **Entered-in-error** referrals are left out of every figure and reported only as their count.
- **Terminal** = completed, failed, rejected or cancelled; **connected** = completed.
- **closed_loop_rate** = terminal / all; **connection_rate** = completed / terminal (null when
  none is terminal).
- **median_days_to_acceptance** = accepted_at - created_at, **to_first_contact** =
  first_contact_at - created_at (the first logged contact attempt), **to_connection** =
  closed_at - created_at of completed ones: days, one decimal (halves away from zero), null when
  there is none.
- **connected_within_7_days / 30_days** = completed with closed_at - created_at <= 7 (30) days,
  over all the referrals of the group.
- **follow_ups / follow_ups_on_time**: the follow-up events logged on the set's referrals, and
  the share logged at or before the follow-up time due then. The due time is the ``due_at`` the
  event recorded; for an event logged before events recorded it, the previous follow-up's
  ``next_at``, and for a referral's first, created_at + 2 days (the default).
- **not_connected_reasons**: the outcomes of failed referrals, most frequent first (ties by
  code), the top 5.
- **Small numbers**: a count of 1 to 4 (a status, a reason, a group's size, ...) is shown as
  ``"<5"``; 0 stays 0. A rate is shown only when its numerator, its denominator and their
  difference are each 0 or at least 5 (else it would give a small count away), a median only
  over at least 5 referrals; else null. Rates have three decimals.
- **Complementary suppression**: a group's status counts add up to its referrals, and the
  reasons to its failed count. Where that sum would let a ``"<5"`` be worked out by
  subtraction, the smallest other counts are withheld too (null), and the group's total when
  even that is not enough (see ``protect``). Differencing two reports (two groupings, or
  periods a day apart) can still narrow a small count: say so to readers.
- **services_to_check**: whatever the set and grouping, the services with at least 2 of the
  program's referrals that failed (closed_at) in the last 30 days as no-capacity or
  could-not-contact, most first; their counts follow the same small-number rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import uuid
from collections import defaultdict
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
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

from directory.accounts.audit import record
from directory.accounts.models import User
from directory.accounts.roles import require
from directory.errors import Forbidden, InvalidInput
from directory.listings.models import Service
from directory.referrals.lifecycle import STATUSES, TERMINAL
from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.service import DEFAULT_FOLLOW_UP

GroupBy = Literal["need", "service", "mentor"]
GROUP_BY = get_args(GroupBy)
SMALL = 5
Count = int | Literal["<5"]
DEFAULT_PERIOD = dt.timedelta(days=90)
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 1, 1)  # no date arithmetic overflows
MAX_PERIOD = dt.timedelta(days=3 * 365 + 1)  # three years, one of them a leap year
RECENT = dt.timedelta(days=30)
CHECK_OUTCOMES = ("no-capacity", "could-not-contact")
ERROR = "entered-in-error"
SHOWN_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s != ERROR)
COUNTED_TERMINAL = TERMINAL - {ERROR}  # completed, failed, rejected, cancelled
TOP_REASONS = 5


class ReasonCount(BaseModel):
    outcome: str
    count: Count | None  # None: withheld (see protect)


class ReportGroup(BaseModel):
    key: str | None  # need code, service id or mentor id; null for the program row
    label: str | None  # the service's name
    referrals: Count | None
    entered_in_error: Count
    by_status: dict[str, Count | None]
    closed_loop_rate: float | None
    connection_rate: float | None
    median_days_to_acceptance: float | None
    median_days_to_first_contact: float | None
    median_days_to_connection: float | None
    connected_within_7_days: float | None
    connected_within_30_days: float | None
    follow_ups: Count
    follow_ups_on_time: float | None
    not_connected_reasons: list[ReasonCount]


class ServiceToCheck(BaseModel):
    service_id: uuid.UUID
    name: str
    no_capacity: Count
    could_not_contact: Count


class ReferralReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    program_id: uuid.UUID
    from_: dt.date = Field(alias="from")
    to: dt.date
    group_by: GroupBy | None
    groups: list[ReportGroup]
    services_to_check: list[ServiceToCheck]


def shown(count: int) -> Count:
    """A count as a report shows it: 1 to 4 become ``"<5"``."""
    return "<5" if 0 < count < SMALL else count


def protect(counts: dict[str, int], total: int) -> tuple[dict[str, Count | None], bool]:
    """The counts of a breakdown whose total the reader knows (shown as it is, or as ``"<5"``):
    1 to 4 become ``"<5"``, and where the total would then let one of them be worked out by
    subtraction (one small count alone, or small counts whose sum leaves one possibility),
    other counts are withheld as well (None), the fewest and smallest that suffice:
    complementary suppression. Also whether that sufficed: when not, the caller withholds the
    total (or, under a total of 1 to 4, every cell)."""
    small = {key for key, n in counts.items() if 0 < n < SMALL}
    hidden = set(small)
    others = sorted((n, key) for key, n in counts.items() if n >= SMALL)
    while others and _exposed(counts, hidden, small, total):
        enough = [k for _, k in others if not _exposed(counts, hidden | {k}, small, total)]
        chosen = enough[0] if enough else others[0][1]
        hidden.add(chosen)
        others = [(n, k) for n, k in others if k != chosen]
    safe = not _exposed(counts, hidden, small, total)
    return {key: None if key in hidden - small else shown(n) for key, n in counts.items()}, safe


def _exposed(counts: dict[str, int], hidden: set[str], small: set[str], total: int) -> bool:
    """Whether a reader who knows the rules (a ``"<5"`` is 1 to 4, a withheld count 5 or
    more, a total shown as ``"<5"`` 1 to 4) can tell one hidden count exactly."""
    rest = sum(n for key, n in counts.items() if key not in hidden)
    if total == 0 or total >= SMALL:
        least = most = total - rest
    else:
        least, most = 1 - rest, SMALL - 1 - rest
    bounds = {key: (1.0, SMALL - 1.0) if key in small else (SMALL, math.inf) for key in hidden}
    for key in hidden:
        low = sum(bounds[k][0] for k in hidden if k != key)
        high = sum(bounds[k][1] for k in hidden if k != key)
        if max(bounds[key][0], least - high) == min(bounds[key][1], most - low):
            return True
    return False


def referral_report(
    session: Session,
    user: User,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    group_by: GroupBy | None = None,
) -> ReferralReport:
    """The outcome report of the reader's program (coordinators and admins; audited)."""
    require(user, "read-reports")
    if user.program_id is None:
        raise Forbidden("reports are per program: ask an admin to add you to one")
    if group_by is not None and group_by not in GROUP_BY:
        raise InvalidInput(f"group_by must be one of {', '.join(GROUP_BY)}", field="group_by")
    start, end = period(start, end)
    found = _referrals(user.program_id, start, end, group_by)
    follow_ups = _follow_ups(session, found)
    reasons = _reasons(session, found)
    groups = [
        _group(row, follow_ups.get(row.key, (0, 0)), reasons.get(row.key, {}))
        for row in session.execute(_figures(found, grouped=group_by is not None))
    ]
    groups.sort(key=lambda g: (g.key is None, g.label or "", g.key or ""))
    record(session, user, "report.read", None, period=f"{start}/{end}", group_by=group_by)
    return ReferralReport(
        program_id=user.program_id,
        from_=start,
        to=end,
        group_by=group_by,
        groups=groups,
        services_to_check=services_to_check(session, user.program_id),
    )


def period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The report's ``[from, to)``: ``to`` by default tomorrow (so up to now), ``from`` 90 days
    before ``to``; at most three years."""
    for value, name in ((start, "from"), (end, "to")):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise InvalidInput(f"{name} must be between {EARLIEST} and {LATEST}", field=name)
    last = end or dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    first = start or last - DEFAULT_PERIOD
    if first >= last:
        field = "to" if end else "from"
        raise InvalidInput(f"from ({first}) must be before to ({last})", field=field)
    if last - first > MAX_PERIOD:
        raise InvalidInput("a report covers at most three years (1,096 days)", field="from")
    return first, last


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
        func.count().filter(live).label("total"),
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


def _group(row: Row[Any], follow_ups: tuple[int, int], reasons: dict[str, int]) -> ReportGroup:
    """One row of the report, with the small-number rules applied."""
    figures = row._mapping
    total = figures["total"]
    terminal = sum(figures[s] for s in COUNTED_TERMINAL)

    def rate(part: int, whole: int) -> float | None:
        # A rate would give away a count of 1-4 (its own, or its complement's): not shown.
        small = any(0 < n < SMALL for n in (part, whole - part, whole))
        return round(part / whole, 3) if whole and not small else None

    def median(name: str, of: int) -> float | None:
        value = figures[name]
        return float(value) if of >= SMALL and value is not None else None

    by_status, closed_loop, safe = _statuses(figures, total, terminal, rate(terminal, total))
    completed = by_status["completed"]
    exact = isinstance(completed, int)  # rates built on a withheld count would give it away
    return ReportGroup(
        key=row.key,
        label=row.label,
        referrals=shown(total) if safe else None,
        entered_in_error=shown(figures[ERROR]),
        by_status=by_status,
        closed_loop_rate=closed_loop,
        connection_rate=rate(figures["completed"], terminal) if closed_loop and exact else None,
        median_days_to_acceptance=median("to_acceptance", total),
        median_days_to_first_contact=median("to_first_contact", total),
        median_days_to_connection=median("to_connection", figures["completed"]),
        connected_within_7_days=rate(figures["within_7"], total) if exact else None,
        connected_within_30_days=rate(figures["within_30"], total) if exact else None,
        follow_ups=shown(follow_ups[0]),
        follow_ups_on_time=rate(follow_ups[1], follow_ups[0]),
        not_connected_reasons=_reason_cells(reasons, figures["failed"], by_status["failed"]),
    )


def _statuses(
    figures: Any, total: int, terminal: int, closed_loop: float | None
) -> tuple[dict[str, Count | None], float | None, bool]:
    """The status counts as shown, the closed-loop rate (None when it would undo them) and
    whether the total may be shown. A shown closed-loop rate tells the reader how many ended
    and how many are open, so each part is protected with its own sum."""
    counts = {s: figures[s] for s in SHOWN_STATUSES}
    if closed_loop is not None:
        ended, ended_safe = protect({s: counts[s] for s in COUNTED_TERMINAL}, terminal)
        opened = {s: n for s, n in counts.items() if s not in COUNTED_TERMINAL}
        still, still_safe = protect(opened, total - terminal)
        if ended_safe and still_safe:
            return {s: {**ended, **still}[s] for s in SHOWN_STATUSES}, closed_loop, True
    cells, safe = protect(counts, total)
    if not safe and 0 < total < SMALL:  # e.g. four statuses under a total of 1-4: 1 each
        return dict.fromkeys(SHOWN_STATUSES), None, True
    return cells, None, safe


def _reason_cells(reasons: dict[str, int], failed: int, cell: Count | None) -> list[ReasonCount]:
    """The top reasons for not connecting; they add up to the failed count, so they are
    protected with it, and withheld when it is."""
    if cell is None:
        counts: dict[str, Count | None] = dict.fromkeys(reasons)
    else:
        counts, safe = protect(reasons, failed)
        if not safe and failed < SMALL:
            return []  # four reasons under a failed count of 1-4: one each
        if not safe:
            counts = dict.fromkeys(reasons)
    return [ReasonCount(outcome=o, count=counts[o]) for o in list(reasons)[:TOP_REASONS]]


def services_to_check(session: Session, program_id: uuid.UUID) -> list[ServiceToCheck]:
    """Services with 2 or more of the program's referrals that failed in the last 30 days for
    no capacity or no contact: most first."""
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
        .order_by(func.count().desc(), Service.name, Service.id)
    )
    return [
        ServiceToCheck(
            service_id=id_, name=name, no_capacity=shown(nc), could_not_contact=shown(cnc)
        )
        for id_, name, nc, cnc in session.execute(query)
    ]


CSV_FIGURES = (
    "closed_loop_rate",
    "connection_rate",
    "median_days_to_acceptance",
    "median_days_to_first_contact",
    "median_days_to_connection",
    "connected_within_7_days",
    "connected_within_30_days",
    "follow_ups",
    "follow_ups_on_time",
)
CSV_REASONS = tuple(
    name for n in range(1, TOP_REASONS + 1) for name in (f"reason_{n}", f"reason_{n}_count")
)
CSV_COLUMNS = (
    "group_by",
    "key",
    "label",
    "referrals",
    "entered_in_error",
    *SHOWN_STATUSES,
    *CSV_FIGURES,
    *CSV_REASONS,
)


def to_csv(report: ReferralReport) -> str:
    """The report's groups as CSV: one line per group, statuses and reasons as columns."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for group in report.groups:
        reasons = [v for r in group.not_connected_reasons for v in (r.outcome, r.count)]
        cells = (
            report.group_by,
            group.key,
            spreadsheet_cell(group.label),
            group.referrals,
            group.entered_in_error,
            *(group.by_status[s] for s in SHOWN_STATUSES),
            *(getattr(group, name) for name in CSV_FIGURES),
            *reasons,
            *[None] * (len(CSV_REASONS) - len(reasons)),
        )
        writer.writerow(["" if value is None else value for value in cells])
    return out.getvalue()


def spreadsheet_cell(text: str | None) -> str | None:
    """A CSV cell a spreadsheet will not run as a formula (listing names, emails and anything
    else that comes from outside)."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text
