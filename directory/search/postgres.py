"""The postgres backend: the ``search_document`` table, full-text search and PostGIS.

Text: a weighted tsvector over unaccented text, in the English, Spanish and ``simple``
configurations: name A, needs and their keywords (and the words for its languages, costs and
accessibility) B, description and organization C, place D.

A query is read by :mod:`directory.search.intent`: its words without stop and filler words
("need", "help", "ayuda", "cerca"), the needs they name, a crisis phrase. Each word becomes a
group: the word, its synonyms (English and Spanish), and, when the index does not know it, the
nearest indexed word by trigrams. A document matches when it matches any group, or has a need
the words name. Its relevance (0..1) is how much of the question it covers: each group counts
with its rarity (BM25's IDF from the number of documents having it: counted up to ``DF_CAP``, the
planner's estimate beyond, kept a few minutes), twice that for a word that names a need, times
the weight of the best field it matched (needs and their keywords 1.0, name 0.9, description 0.6,
place 0.5); a word that names a need the listing has counts as a match in its needs, and one that
names a need under one of the listing's as half that (a general mental health clinic answers
"depression", below a depression service). Words that match nothing do not count; a misspelt
word names the need its correction names.

Places: ``ST_DWithin`` on a GiST index for sites, array overlap on regions for remote services.
Each service is one result: near a place its nearest site in range, else its ``area`` document
(a telehealth service with a clinic nearby keeps its distance); without a place, its most
relevant document. Near a place, relevance loses up to ``DISTANCE_WEIGHT`` of itself with
distance, and ``REMOTE_WEIGHT`` for a service that only serves the area: a closer service wins a
near-tie, a better match wins over a closer one, a service to go to wins over one reached remotely
alike.
"""

from __future__ import annotations

import datetime as dt
import operator
import time
from functools import reduce
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    ColumnElement,
    Float,
    ScalarSelect,
    Subquery,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, TSVECTOR, aggregate_order_by, distinct_on
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import replacement_traverse

from directory.listings.taxonomy import need_lineage
from directory.search.intent import intent
from directory.search.models import SearchDocument
from directory.search.places import Place
from directory.search.postgres_index import clear, replace
from directory.search.postgres_words import (
    CACHE_TTL_S,
    Alternatives,
    count_matches,
    idf,
    tsquery,
    word_groups,
)
from directory.search.query import (
    NOT_TAKING_CLIENTS,
    Facets,
    SearchQuery,
    SearchResponse,
    SearchResult,
)

__all__ = ["clear", "replace", "search", "word_condition"]
NAME = "postgres"
DISTANCE_WEIGHT = 0.25  # near a place, relevance loses up to this share with distance
REMOTE_WEIGHT = 0.5  # and a service that only serves the area (telehealth, lines) this share
# Where a word matched, best first: needs and their keywords, name, description, place.
FIELD_WEIGHTS = (("B", 1.0), ("A", 0.9), ("C", 0.6), ("D", 0.5))
NEED_WEIGHT = 1.0  # a word naming a need the listing has counts as a match in its needs
BROADER_WEIGHT = 0.5  # a listing with a need above the one named ("mental health": depression)
NAMING_BOOST = 2.0  # a word that names a need says what is wanted: it weighs twice its rarity


D = SearchDocument.__table__.alias("d")  # the documents searched
SHOWN = SearchDocument.__table__.alias("shown")  # the page's documents, for what they show
TEXTS = ARRAY(Text)
GEOGRAPHY = Geography("POINT", srid=4326)


def search(
    session: Session,
    query: SearchQuery,
    place: Place | None,
    *,
    need_codes: list[str],
    now: dt.datetime,
) -> SearchResponse:
    """One page of results (one per service) with the facets of the whole match set, in one
    round trip (and, for words not seen for a few minutes, one or two more to analyse them)."""
    started = time.perf_counter()
    where, rank = _filters(session, query, place, need_codes, now)
    matched = _matched(where, rank, _origin(place))
    best = (
        select(matched)
        .ext(distinct_on(matched.c.service_id))
        .order_by(matched.c.service_id, *_pick(matched.c, place))
        .cte("best")
        .prefix_with("MATERIALIZED")
    )
    order = _order(best.c, query, place)
    page = (
        select(best.c.id, best.c.kind, best.c.last_verified_at, best.c.rank, best.c.distance_m)
        .add_columns(func.row_number().over(order_by=order).label("position"))
        .order_by(*order)
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
        .subquery("page")
    )
    statement = select(
        select(func.count()).select_from(best).scalar_subquery().label("total"),
        _items(page, now).label("items"),
        *(_facet(best.c[name]).label(name) for name in ("needs", "languages", "accessibility")),
    )
    row = session.execute(statement).one()
    return SearchResponse(
        items=[_result(item, place) for item in row.items],
        total=row.total,
        page=query.page,
        per_page=query.per_page,
        facets=Facets(needs=row.needs, languages=row.languages, accessibility=row.accessibility),
        crisis=None,
        backend=NAME,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
    )


def _matched(where: list[ColumnElement[bool]], rank: ColumnElement[float], origin: Any) -> Subquery:
    """The matching documents, with their relevance and distance. A document's tsvector is read
    once (into ``found``), and the relevance's tests use that copy: each test of the stored one
    fetched it from TOAST again (about 5 fetches per document, measured 25,000 buffers for
    3,000 documents)."""
    distance = func.ST_Distance(D.c.point, origin) if origin is not None else null()
    words = (
        [D.c.tsv.op("||")(cast(literal(""), TSVECTOR)).label("tsv")] if rank is not _ZERO else []
    )
    found = (
        select(
            D.c.id,
            D.c.service_id,
            D.c.kind,
            D.c.needs,
            D.c.languages,
            D.c.accessibility,
            D.c.last_verified_at,
            type_coerce(distance, Float).label("distance_m"),
            *words,
        )
        .where(*where)
        .cte("found")
        .prefix_with("MATERIALIZED")
    )

    def swap(element: Any, **_: Any) -> Any:  # D's columns -> found's
        return found.c[element.key] if getattr(element, "table", None) is D else None

    relevance: Any = replacement_traverse(rank, {}, swap)
    columns = [c for c in found.c if c.key != "tsv"]
    return select(*columns, relevance.label("rank")).subquery("matched")


def _items(page: Subquery, now: dt.datetime) -> ScalarSelect[Any]:
    """The page's results in order, as one JSON array."""
    item = func.json_build_object(
        "kind",
        page.c.kind,
        "body",
        SHOWN.c.body,
        "distance_m",
        page.c.distance_m,
        "last_verified_at",
        page.c.last_verified_at,
        "open_now",
        SHOWN.c.open_minutes.bool_op("@>")(func.week_minute(now, SHOWN.c.timezone)),
    )
    listed = func.json_agg(aggregate_order_by(item, page.c.position))
    return (
        select(func.coalesce(listed, func.json_build_array()))
        .select_from(page.join(SHOWN, SHOWN.c.id == page.c.id))
        .scalar_subquery()
    )


def _facet(codes: Any) -> ScalarSelect[Any]:
    """How many of the matched services have each code of an array column."""
    code = func.unnest(codes).label("code")
    counted = select(code, func.count().label("n")).group_by(literal_column("1")).subquery()
    counts = func.json_object_agg(counted.c.code, counted.c.n)
    return select(func.coalesce(counts, func.json_build_object())).scalar_subquery()


def _origin(place: Place | None) -> ColumnElement[Any] | None:
    if place is None:
        return None
    point = func.ST_SetSRID(func.ST_MakePoint(place.longitude, place.latitude), 4326)
    return cast(point, GEOGRAPHY)


def _pick(c: Any, place: Place | None) -> list[ColumnElement[Any]]:
    """Which of a service's matching documents is its result: near a place its nearest site in
    range, else its area document; without a place, the most relevant."""
    if place is None:
        return [c.rank.desc(), c.kind == "area", c.id]
    return [c.kind == "area", c.distance_m.asc().nulls_last(), c.rank.desc(), c.id]


def _filters(
    session: Session,
    query: SearchQuery,
    place: Place | None,
    need_codes: list[str],
    now: dt.datetime,
) -> tuple[list[ColumnElement[bool]], ColumnElement[float]]:
    """The WHERE conditions and the relevance expression of a search."""
    where: list[ColumnElement[bool]] = []
    matches, rank = word_condition(session, query.q, place) if query.q else (None, _ZERO)
    if matches is not None:
        where.append(matches)
    for name, values in (
        ("needs", need_codes),
        ("languages", query.language),
        ("accessibility", query.accessibility),
        ("costs", query.cost),
    ):
        if values:
            wanted = literal(list(values), TEXTS)
            column = _column(name, place)
            every = name in ("languages", "accessibility")  # else any
            where.append(column.contains(wanted) if every else column.overlap(wanted))
    if query.age is not None:
        where.append(func.coalesce(D.c.minimum_age, 0) <= query.age)
        where.append(func.coalesce(D.c.maximum_age, 200) >= query.age)
    if query.mode != "any":
        where.append(D.c.kind == ("site" if query.mode == "in_person" else "area"))
    if query.open_now is not None:
        open_now = D.c.open_minutes.bool_op("@>")(func.week_minute(now, D.c.timezone))
        where.append(
            func.coalesce(open_now, False) if query.open_now else ~func.coalesce(open_now, True)
        )
    if query.accepting:  # a listing without a status stays: nobody has asked yet
        status = func.coalesce(D.c.body["capacity_status"].astext, "")
        where.append(status.not_in(NOT_TAKING_CLIENTS))
    if (origin := _origin(place)) is not None and place is not None:
        radius = query.radius_km * 1000
        near = and_(D.c.kind == "site", func.ST_DWithin(D.c.point, origin, radius))
        serves = and_(D.c.kind == "area", D.c.regions.overlap(literal(place.regions, TEXTS)))
        where.append(or_(near, serves))
    return where, rank


_ZERO: ColumnElement[float] = literal(0.0, Float)


def _column(name: str, place: Place | None) -> Any:
    # Near a place, the GiST index finds the few candidates and array conditions filter them:
    # left an indexable array, the planner ANDs a need's whole GIN posting list (a third of the
    # index) with the place, measured 10x slower. coalesce() keeps it off the index.
    column = D.c[name]
    if place is None:
        return column
    return type_coerce(func.coalesce(column, literal([], TEXTS)), TEXTS)


def _matches(query: str) -> ColumnElement[bool]:
    matches: ColumnElement[bool] = D.c.tsv.bool_op("@@")(cast(literal(query, Text), TSQUERY))
    return matches


def word_condition(
    session: Session, q: str, place: Place | None
) -> tuple[ColumnElement[bool] | None, ColumnElement[float]]:
    """The condition a query's words put on a document (None: none), and its relevance."""
    if not intent(q).terms:
        return (false() if intent(q).worded else None), _ZERO  # only stop words: nothing
    groups, corrections = word_groups(session, intent(q).terms)
    meant = intent(q, corrections)
    frequencies, total = count_matches(session, [tsquery(g) for g in groups.values()])
    lineage = _lineage(session)
    parts: list[ColumnElement[float]] = []
    weights = 0.0
    broader: set[str] = set()
    for term, alternatives in groups.items():
        found = frequencies[tsquery(alternatives)]
        named = meant.needs_of(term)
        if not found and not named:
            continue  # matches nothing: it cannot tell listings apart
        weight = idf(found, total) * (NAMING_BOOST if named else 1.0)
        above = sorted({a for code in named for a in lineage.get(code, ())[1:]} - set(named))
        broader.update(above)
        parts.append(literal(weight, Float) * _group_rank(alternatives, named, above))
        weights += weight
    if not parts:
        return false(), _ZERO
    conditions = []
    if groups:
        conditions.append(_matches(" | ".join(f"({tsquery(g)})" for g in groups.values())))
    if meant.needs:
        named_codes = literal(sorted({*meant.need_codes, *broader}), TEXTS)
        conditions.append(_column("needs", place).overlap(named_codes))
    rank = reduce(operator.add, parts) / literal(weights, Float)
    return or_(*conditions), type_coerce(rank, Float)


def _group_rank(
    alternatives: Alternatives, named: list[str], above: list[str]
) -> ColumnElement[float]:
    """How well a document answers one group of words (0..1): where it matched best."""
    whens: list[tuple[ColumnElement[bool], float]] = []
    if named:
        whens.append((D.c.needs.overlap(literal(named, TEXTS)), NEED_WEIGHT))
    outside = ~_matches(tsquery(alternatives))
    if above:  # a general service answers a narrower need, below the services for it
        broader = D.c.needs.overlap(literal(above, TEXTS))
        whens.append((and_(outside, broader), BROADER_WEIGHT))
    whens.append((outside, 0.0))
    for letter, field_weight in FIELD_WEIGHTS[:-1]:
        whens.append((_matches(tsquery(alternatives, letter)), field_weight))
    last = FIELD_WEIGHTS[-1][1]
    if above:
        whens.append((D.c.needs.overlap(literal(above, TEXTS)), max(BROADER_WEIGHT, last)))
    return case(*((w, literal(v, Float)) for w, v in whens), else_=literal(last, Float))


_LINEAGE: list[tuple[float, dict[str, tuple[str, ...]]]] = []


def _lineage(session: Session) -> dict[str, tuple[str, ...]]:
    """Each need with the needs above it (read at most every few minutes)."""
    now = time.monotonic()
    if not _LINEAGE or now - _LINEAGE[0][0] > CACHE_TTL_S:
        _LINEAGE[:] = [(now, need_lineage(session))]
    return _LINEAGE[0][1]


def _order(c: Any, query: SearchQuery, place: Place | None) -> list[ColumnElement[Any]]:
    if query.sort == "distance":
        return [c.distance_m.asc().nulls_last(), c.rank.desc(), c.id]
    if place is None:
        return [c.rank.desc(), c.last_verified_at.desc().nulls_last(), c.id]
    # Relevance, less up to DISTANCE_WEIGHT of it at the edge of the radius, less REMOTE_WEIGHT
    # for a service that only serves the area: a closer service wins a near-tie, a better
    # match wins over a closer one, and one to go to over one reached remotely alike.
    edge = literal(query.radius_km * 1000, Float)
    share = case(
        (c.distance_m.is_(None), literal(1 - REMOTE_WEIGHT, Float)),
        else_=1 - literal(DISTANCE_WEIGHT, Float) * func.least(c.distance_m / edge, 1),
    )
    return [
        (c.rank * share).desc(),
        c.distance_m.asc().nulls_last(),
        c.last_verified_at.desc().nulls_last(),
        c.id,
    ]


def _result(item: dict[str, Any], place: Place | None) -> SearchResult:
    body = item["body"]
    distance = item["distance_m"]
    remote = item["kind"] == "area"
    distance_km = None if remote or distance is None else round(distance / 1000, 3)
    return SearchResult.model_validate(
        {
            **body,
            "needs": body["needs"],
            "distance_km": distance_km,
            "distance_approximate": distance_km is not None
            and bool(body.get("coordinates_approximate")),
            "match": None if place is None else ("serves_area" if remote else "near"),
            "open_now": item["open_now"],
            "last_verified_at": item["last_verified_at"],
        }
    )
