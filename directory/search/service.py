"""Search entry points: check the needs, place the searcher, search, add the crisis lines."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy.orm import Session

from directory.listings.taxonomy import need_lineage, resolve_needs
from directory.search import postgres
from directory.search.crisis import crisis_block
from directory.search.places import Place, resolve_place
from directory.search.query import CrisisBlock, SearchQuery, SearchResponse
from directory.search.vocabulary import vocabulary

CRISIS_NEEDS = ("crisis", "suicide-prevention")


def search(
    session: Session,
    query: SearchQuery,
    *,
    default_country: str = "US",
    now: dt.datetime | None = None,
) -> SearchResponse:
    """One page of service-at-location results, with facets and, when risk shows, crisis lines."""
    resolve_needs(session, query.need, field="need")  # unknown codes: 422
    place = resolve_place(query.near, query.postcode, query.country)
    response = postgres.search(
        session, query, place, need_codes=query.need, now=now or dt.datetime.now(dt.UTC)
    )
    reason = _crisis_reason(session, query)
    if reason is not None:
        response.crisis = _block(session, reason, place, query, default_country)
    return response


def crisis_lines(
    session: Session,
    *,
    near: tuple[float, float] | None = None,
    postcode: str | None = None,
    country: str | None = None,
    language: str | None = None,
    default_country: str = "US",
) -> CrisisBlock:
    """The crisis lines for a place (or a country) and a language, on their own."""
    query = SearchQuery(near=near, postcode=postcode, country=country)
    place = resolve_place(query.near, query.postcode, query.country)
    if language:
        query.language = SearchQuery(language=[language]).language
    return _block(session, "requested", place, query, default_country)


Reason = Literal["query", "need", "requested"]


def _crisis_reason(session: Session, query: SearchQuery) -> Reason | None:
    if vocabulary().signals_crisis(query.q):
        return "query"
    lineage = need_lineage(session)
    if any(set(lineage.get(code, ())) & set(CRISIS_NEEDS) for code in query.need):
        return "need"
    return None


def _block(
    session: Session, reason: Reason, place: Place | None, query: SearchQuery, default: str
) -> CrisisBlock:
    country = (place.country if place else None) or query.country or default
    return crisis_block(
        session,
        reason=reason,
        country=country,
        region=place.region if place else None,
        language=query.language[0] if query.language else None,
    )
