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
import time
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, literal
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import replacement_traverse

from directory.listings.taxonomy import need_lineage
from directory.search.intent import intent
from directory.search.places import Place
from directory.search.postgres_index import clear, replace
from directory.search.postgres_statement import (
    FIELD_WEIGHTS,
    FILTERS,
    D,
    Group,
    Shape,
    statement,
)
from directory.search.postgres_statement import word_condition as condition_of
from directory.search.postgres_words import (
    CACHE_TTL_S,
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

__all__ = ["D", "clear", "replace", "search", "word_condition"]
NAME = "postgres"
NAMING_BOOST = 2.0  # a word that names a need says what is wanted: it weighs twice its rarity
Words = tuple[dict[str, Any], dict[str, Any]]  # the shape's fields of a query's words, values


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
    shape, values = _shape(session, query, place, need_codes)
    values |= {"now": now, "limit": query.per_page, "offset": (query.page - 1) * query.per_page}
    row = session.execute(statement(shape), values).one()
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


def _shape(
    session: Session, query: SearchQuery, place: Place | None, need_codes: list[str]
) -> tuple[Shape, dict[str, Any]]:
    """A search's shape and the values of its parameters."""
    fields, values = _words(session, query.q) if query.q else ({}, {})
    codes = (need_codes, query.language, query.accessibility, query.cost)
    wanted = dict(zip(FILTERS, codes, strict=True))
    filters = tuple(name for name, codes in wanted.items() if codes)
    values |= {name: list(wanted[name]) for name in filters}
    if query.age is not None:
        values["age"] = query.age
    if query.accepting:
        values["not_taking"] = list(NOT_TAKING_CLIENTS)
    if place is not None:
        values |= {"lng": place.longitude, "lat": place.latitude, "regions": place.regions}
        values["radius_m"] = query.radius_km * 1000
    shape = Shape(
        **fields,
        filters=filters,
        age=query.age is not None,
        mode=query.mode,
        open_now=query.open_now,
        accepting=bool(query.accepting),
        place=place is not None,
        sort=query.sort,
    )
    return shape, values


def word_condition(session: Session, q: str, place: Place | None) -> ColumnElement[bool] | None:
    """The condition a query's words put on a document, values bound (None: none)."""
    fields, values = _words(session, q)
    if place is not None:
        fields["place"] = True
    condition = condition_of(Shape(**fields))

    def bound(element: Any, **_: Any) -> Any:
        if isinstance(element, BindParameter) and element.key in values:
            return literal(values[element.key], element.type)
        return None

    return None if condition is None else replacement_traverse(condition, {}, bound)


def _words(session: Session, q: str) -> Words:
    """What a query's words make of the shape (its groups, its conditions), and their values."""
    if not intent(q).terms:
        return {"nothing": intent(q).worded}, {}  # only stop words: nothing
    groups, corrections = word_groups(session, intent(q).terms)
    meant = intent(q, corrections)
    frequencies, total = count_matches(session, [tsquery(g) for g in groups.values()])
    lineage = _lineage(session)
    kept: list[Group] = []
    values: dict[str, Any] = {}
    broader: set[str] = set()
    for term, alternatives in groups.items():
        found = frequencies[tsquery(alternatives)]
        named = meant.needs_of(term)
        if not found and not named:
            continue  # matches nothing: it cannot tell listings apart
        k = len(kept)
        above = sorted({a for code in named for a in lineage.get(code, ())[1:]} - set(named))
        broader.update(above)
        kept.append(Group(named=bool(named), above=bool(above)))
        values |= {f"w{k}": idf(found, total) * (NAMING_BOOST if named else 1.0)}
        values |= {f"t{k}": tsquery(alternatives), f"n{k}": named, f"b{k}": above}
        values |= {f"t{k}{w}": tsquery(alternatives, w) for w, _ in FIELD_WEIGHTS[:-1]}
    if not kept:
        return {"nothing": True}, {}
    values["weights"] = sum(values[f"w{k}"] for k in range(len(kept)))
    values["words"] = " | ".join(f"({tsquery(g)})" for g in groups.values())
    if meant.needs:
        values["named"] = sorted({*meant.need_codes, *broader})
    return {"groups": tuple(kept), "words": True, "named": bool(meant.needs)}, values


_LINEAGE: list[tuple[float, dict[str, tuple[str, ...]]]] = []


def _lineage(session: Session) -> dict[str, tuple[str, ...]]:
    """Each need with the needs above it (read at most every few minutes)."""
    now = time.monotonic()
    if not _LINEAGE or now - _LINEAGE[0][0] > CACHE_TTL_S:
        _LINEAGE[:] = [(now, need_lineage(session))]
    return _LINEAGE[0][1]


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
