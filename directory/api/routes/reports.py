"""Outcome reports for coordinators (JSON, or CSV for ``Accept: text/csv``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, Field

from directory.accounts.roles import require
from directory.api.deps import CurrentUser, SessionDep
from directory.api.openapi import errors
from directory.referrals import reports
from directory.referrals.report_schemas import GroupBy, ReferralReport
from directory.search import unmet

router = APIRouter(tags=["reports"])
CSV = "text/csv"


@router.get(
    "/v1/reports/referrals",
    response_model=ReferralReport,
    responses={200: {"content": {CSV: {}}}, **errors(403)},
)
def referral_report(
    session: SessionDep,
    user: CurrentUser,
    from_: Annotated[dt.date | None, Query(alias="from")] = None,
    to: Annotated[dt.date | None, Query()] = None,
    group_by: GroupBy | None = None,
    # Accept is content negotiation, not a parameter (OpenAPI ignores one named Accept): the
    # 200 lists both media types
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ReferralReport | Response:
    """How the program's referrals created in ``[from, to)`` ended (coordinators and admins).

    - The set: the program's referrals created from ``from`` (a date, included) to ``to``
      (excluded); by default ``to`` is tomorrow (UTC) and ``from`` 90 days before it; at most
      three years. ``group_by=need`` (a referral with two needs counts in both), ``service``
      (with its name) or ``mentor`` (the mentor's id); without it, one row for the program.
    - Entered-in-error referrals count in no figure, only in ``entered_in_error``.
    - ``closed_loop_rate``: completed, failed, rejected or cancelled / all.
      ``connection_rate``: completed / those four (null when there are none).
    - ``median_days_to_acceptance``, ``_to_first_contact`` (first contact attempt) and
      ``_to_connection`` (completed ones' closing), from creation, in days with one decimal.
    - ``connected_within_7_days`` / ``30_days``: completed within 7 (30) days / all.
    - ``follow_ups``: follow-up events logged; ``follow_ups_on_time``: the share logged at or
      before the follow-up time due then (for a referral's first: created + 2 days by default).
    - ``not_connected_reasons``: the outcomes of failed referrals, top 5, ordered by what
      their cells show (exact counts first, then withheld, then ``"<5"``), never by hidden
      counts; listed only when they give no status away.
    - Small numbers: a count of 1 to 4 is shown as ``"<5"`` (0 stays 0); a rate (three
      decimals) only when neither it nor its complement rests on a count of 1 to 4, a median
      only over 5 or more referrals; else null. Where a group's total (or its failed count)
      would let a ``"<5"`` be worked out by subtraction, the smallest other counts are null
      (withheld) too, and the total itself when even that is not enough.
    - ``services_to_check``: services with 2 or more of the program's referrals that failed in
      the last 30 days as no-capacity or could-not-contact, whatever the period.

    With ``Accept: text/csv``: one CSV line per group, statuses and reasons as columns.
    """
    report = reports.referral_report(session, user, start=from_, end=to, group_by=group_by)
    if prefers(accept, CSV):
        return Response(reports.to_csv(report), media_type=CSV)
    return report


def prefers(accept: str | None, offer: str, default: str = "application/json") -> bool:
    """Whether the Accept header ranks ``offer`` above ``default``: by q, then the more
    specific range, then the first listed."""
    return _rank(accept or "*/*", offer) > _rank(accept or "*/*", default)


def _rank(accept: str, offer: str) -> tuple[float, int, int]:
    """(q, specificity, -position) of the range that matches ``offer`` most specifically."""
    ranges = {offer: 2, offer.split("/")[0] + "/*": 1, "*/*": 0}
    best: tuple[int, int, float] | None = None  # (specificity, -position, q)
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        specificity = ranges.get(media.lower())
        if specificity is None:
            continue
        q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            found = (specificity, -position, min(max(float(q), 0.0), 1.0))
        except ValueError:
            continue
        best = found if best is None or found[:2] > best[:2] else best
    if best is None or best[2] == 0:
        return (0.0, -1, 0)
    return (best[2], best[0], best[1])


class UnmetNeed(BaseModel):
    need: str = Field(description='A need code; "-" when the search named none')
    area: str = Field(description='A US state (US-FL), else a country; "-" when no place')
    searches: int
    last_day: dt.date


@router.get("/v1/reports/unmet-needs", response_model=list[UnmetNeed], responses=errors(403))
def unmet_needs(
    session: SessionDep,
    user: CurrentUser,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> list[UnmetNeed]:
    """Searches that found nothing in the last ``days`` days, by need and area, most first
    (coordinators and admins): where the directory has gaps. The words typed are never kept."""
    require(user, "read-reports")
    return [
        UnmetNeed.model_validate(row, from_attributes=True)
        for row in unmet.unmet_needs(session, days=days)
    ]
