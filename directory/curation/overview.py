"""The console's first page: how many listings need a look, and what waits for a decision."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from directory.accounts.models import User
from directory.accounts.roles import require
from directory.curation.queue import review_queue
from directory.listings.models import Service
from directory.search.models import UnmetSearch

UNMET_DAYS = 30


@dataclass(frozen=True)
class Overview:
    by_status: dict[str, int]  # listings by curation status (draft, published, archived)
    stale: int  # published listings never verified, or verified longer ago than allowed
    waiting: int  # review-queue items
    unmet: int  # searches that found nothing in the last UNMET_DAYS days


def overview(session: Session, reader: User, *, stale_after_days: int) -> Overview:
    """The counts on the console's first page (coordinators and admins)."""
    require(reader, "curate")
    by_status = dict(
        session.execute(
            select(Service.curation_status, func.count()).group_by(Service.curation_status)
        ).all()
    )
    limit = dt.datetime.now(dt.UTC) - dt.timedelta(days=stale_after_days)
    stale = session.scalar(
        select(func.count())
        .select_from(Service)
        .where(Service.curation_status == "published")
        .where(or_(Service.last_verified_at.is_(None), Service.last_verified_at < limit))
    )
    since = dt.date.today() - dt.timedelta(days=UNMET_DAYS)
    unmet = session.scalar(
        select(func.coalesce(func.sum(UnmetSearch.searches), 0)).where(UnmetSearch.day >= since)
    )
    return Overview(
        by_status={str(k): int(v) for k, v in by_status.items()},
        stale=int(stale or 0),
        waiting=len(review_queue(session, reader)),
        unmet=int(unmet or 0),
    )
