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
- **not_connected_reasons**: the outcomes of failed referrals, the top 5, most frequent first
  as far as their counts are shown: exact counts (most first), then withheld ones, then
  ``"<5"`` ones (an order by the hidden counts would give them away); ties in a fixed order,
  no-capacity and could-not-contact first (what a listing is checked for), then by code.
- **Small numbers**: a count of 1 to 4 (a status, a reason, a group's size, ...) is shown as
  ``"<5"``; 0 stays 0. A rate is shown only when its numerator, its denominator and their
  difference are each 0 or at least 5 (else it would give a small count away), a median only
  over at least 5 referrals; else null. Rates have three decimals.
- **Complementary suppression**: a group's status counts add up to its referrals, and the
  reasons to its failed count. Where that sum would let a ``"<5"`` be worked out by
  subtraction, the smallest other counts are withheld too (null), and the group's total when
  even that is not enough (see ``protect``). Under a failed count of ``"<5"``, k reasons tell
  "k or more failed": when that would give a status away, no reason is listed. Differencing
  two reports (two groupings, or periods a day apart) can still narrow a small count: say so
  to readers.
- **services_to_check**: whatever the set and grouping, the services with at least 2 of the
  program's referrals that failed (closed_at) in the last 30 days as no-capacity or
  could-not-contact; their counts follow the same small-number rule, and so does their order:
  most first by what is shown (the sum of the exact counts, then how many are ``"<5"``), then
  by name.

This module is the service; the report's schemas are in ``report_schemas``, its SQL in
``report_queries``, the small-number rules in ``suppression`` and its CSV form in
``report_csv``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from directory.accounts.audit import record
from directory.accounts.models import User
from directory.accounts.roles import require
from directory.errors import Forbidden, InvalidInput
from directory.referrals import report_queries
from directory.referrals.report_csv import to_csv as to_csv  # the routes' CSV form
from directory.referrals.report_schemas import GROUP_BY, GroupBy, ReferralReport, ServiceToCheck
from directory.referrals.report_schemas import SHOWN_STATUSES as SHOWN_STATUSES  # the console's
from directory.referrals.suppression import shown_group, shown_services

DEFAULT_PERIOD = dt.timedelta(days=90)
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 1, 1)  # no date arithmetic overflows
MAX_PERIOD = dt.timedelta(days=3 * 365 + 1)  # three years, one of them a leap year


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
    figures = report_queries.group_figures(
        session, user.program_id, start=start, end=end, group_by=group_by
    )
    groups = [shown_group(group) for group in figures]
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


def services_to_check(session: Session, program_id: uuid.UUID) -> list[ServiceToCheck]:
    """Services with 2 or more of the program's referrals that failed in the last 30 days for
    no capacity or no contact: most first."""
    return shown_services(report_queries.failing_services(session, program_id))
