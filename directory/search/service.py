"""Search entry points: check the needs, place the searcher, search, add the crisis lines."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Literal

from sqlalchemy.orm import Session

from directory.listings.queries import check_costs
from directory.listings.taxonomy import need_lineage, resolve_needs
from directory.search import postgres, unmet
from directory.search.backends import Backends
from directory.search.crisis_cache import CrisisCache, read_through
from directory.search.intent import CRISIS_NEEDS
from directory.search.meilisearch import SearchBackendError
from directory.search.places import Place, resolve_place
from directory.search.query import CrisisBlock, SearchQuery, SearchResponse
from directory.search.vocabulary import vocabulary

log = logging.getLogger(__name__)


def search(
    session: Session,
    query: SearchQuery,
    *,
    backends: Backends | None = None,
    default_country: str = "US",
    now: dt.datetime | None = None,
    crisis_cache: CrisisCache | None = None,
) -> SearchResponse:
    """One page of service-at-location results, with facets and, when risk shows, crisis lines."""
    resolve_needs(session, query.need, field="need")  # unknown codes: 422
    check_costs(session, query.cost)  # unknown options too (the API's and the pages' searches)
    place = resolve_place(session, query.near, query.postcode, query.country)
    at = now or dt.datetime.now(dt.UTC)
    meili = backends.meili if backends else None
    if meili is None:
        response = postgres.search(session, query, place, need_codes=query.need, now=at)
    else:
        try:
            response = meili.search(query, place, need_codes=query.need, now=at)
        except SearchBackendError as error:  # unreachable or refusing: answer from postgres
            log.warning("Meilisearch search failed, answering from postgres: %s", error)
            response = postgres.search(session, query, place, need_codes=query.need, now=at)
            response.degraded = True
    reason = _crisis_reason(session, query)
    if reason is not None:
        response.crisis = _block(session, reason, place, query, default_country, crisis_cache)
    if response.total == 0 and query.page == 1:
        unmet.record(session, query, place)  # a gap in the directory: needs and area only
    return response


def crisis_lines(
    session: Session,
    *,
    near: tuple[float, float] | None = None,
    postcode: str | None = None,
    country: str | None = None,
    language: str | None = None,
    default_country: str = "US",
    cache: CrisisCache | None = None,
) -> CrisisBlock:
    """The crisis lines for a place (or a country) and a language, on their own (from the
    cache, if given, when the database cannot answer)."""
    query = SearchQuery(near=near, postcode=postcode, country=country)
    place = resolve_place(session, query.near, query.postcode, query.country)
    if language:
        query.language = SearchQuery(language=[language]).language
    return _block(session, "requested", place, query, default_country, cache)


Reason = Literal["query", "need", "requested"]


def _crisis_reason(session: Session, query: SearchQuery) -> Reason | None:
    if vocabulary().signals_crisis(query.q):
        return "query"
    if not query.need:
        return None
    lineage = need_lineage(session)
    if any(set(lineage.get(code, ())) & set(CRISIS_NEEDS) for code in query.need):
        return "need"
    return None


def _block(
    session: Session,
    reason: Reason,
    place: Place | None,
    query: SearchQuery,
    default: str,
    cache: CrisisCache | None,
) -> CrisisBlock:
    country = (place.country if place else None) or query.country or default
    return read_through(
        session,
        cache,
        reason=reason,
        country=country,
        region=place.region if place else None,
        language=query.language[0] if query.language else None,
    )


def warm_up() -> None:
    """Load what the first search would otherwise load (the vocabulary)."""
    vocabulary()


WARM_UP_SQL = (
    "SELECT ST_DWithin('SRID=4326;POINT(0 0)'::geography, 'SRID=4326;POINT(0 1)'::geography, 1)"
)


def prepare_connection(dbapi_connection: Any, _record: Any) -> None:
    """Set up a new pooled connection for searching.

    psycopg prepares a statement run five times on a connection, and PostgreSQL may then plan
    it once for any parameters: a generic plan cannot fold the search words into a constant
    tsquery, and measured 5x slower. Custom plans cost about a millisecond of planning.
    PostGIS's first call on a connection costs some 30 ms of set-up: paid here, not in a search.
    """
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
        cursor.execute(WARM_UP_SQL)
    dbapi_connection.commit()
