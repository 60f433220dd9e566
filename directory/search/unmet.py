"""Unmet needs: searches that found nothing, counted by day, need and area, so a coordinator
sees where the directory has gaps. The words a searcher typed are never stored: only the needs
they named (through the needs vocabulary) or chose, and the state (else country) searched in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from directory.search.intent import intent
from directory.search.models import UnmetSearch
from directory.search.places import Place
from directory.search.query import SearchQuery

NONE = "-"


def record(session: Session, query: SearchQuery, place: Place | None) -> None:
    """Count one search that found nothing, under each need it asked for."""
    needs = sorted({*query.need, *intent(query.q).need_codes}) or [NONE]
    area = (place.region or place.country) if place else None
    rows = [
        {"day": dt.date.today(), "need": need[:64], "area": (area or NONE)[:16], "searches": 1}
        for need in needs
    ]
    statement = insert(UnmetSearch).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["day", "need", "area"],
            set_={"searches": UnmetSearch.searches + statement.excluded.searches},
        )
    )


@dataclass(frozen=True)
class Unmet:
    need: str
    area: str
    searches: int
    last_day: dt.date


def unmet_needs(session: Session, *, days: int = 30, limit: int = 200) -> list[Unmet]:
    """Needs and areas whose searches found nothing in the last ``days`` days, most first."""
    since = dt.date.today() - dt.timedelta(days=days)
    total = func.sum(UnmetSearch.searches)
    query = (
        select(UnmetSearch.need, UnmetSearch.area, total, func.max(UnmetSearch.day))
        .where(UnmetSearch.day > since)
        .group_by(UnmetSearch.need, UnmetSearch.area)
        .order_by(total.desc(), UnmetSearch.need, UnmetSearch.area)
        .limit(limit)
    )
    return [Unmet(need, area, int(n), last) for need, area, n, last in session.execute(query)]
