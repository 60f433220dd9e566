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

from sqlalchemy import text
from sqlalchemy.orm import Session

from directory.listings.taxonomy import need_lineage
from directory.search.intent import intent
from directory.search.places import Place
from directory.search.postgres_index import clear, replace
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

__all__ = ["clear", "replace", "search", "word_condition"]
NAME = "postgres"
DISTANCE_WEIGHT = 0.25  # near a place, relevance loses up to this share with distance
REMOTE_WEIGHT = 0.5  # and a service that only serves the area (telehealth, lines) this share
# Where a word matched, best first: needs and their keywords, name, description, place.
FIELD_WEIGHTS = (("B", 1.0), ("A", 0.9), ("C", 0.6), ("D", 0.5))
NEED_WEIGHT = 1.0  # a word naming a need the listing has counts as a match in its needs
BROADER_WEIGHT = 0.5  # a listing with a need above the one named ("mental health": depression)
NAMING_BOOST = 2.0  # a word that names a need says what is wanted: it weighs twice its rarity


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
    params: dict[str, Any] = {"now": now, "limit": query.per_page}
    params["offset"] = (query.page - 1) * query.per_page
    where, rank = _filters(session, query, place, need_codes, params)
    distance = "ST_Distance(d.point, CAST(:origin AS geography))" if place else "NULL::float8"
    order = _order(query, place)
    statement = text(
        f"""
        WITH matched AS MATERIALIZED (
            SELECT d.id, d.service_id, d.kind, d.needs, d.languages, d.accessibility,
                d.last_verified_at, {rank} AS rank, {distance} AS distance_m
            FROM search_document d
            WHERE {" AND ".join(where) or "TRUE"}
        ),
        best AS MATERIALIZED (
            SELECT DISTINCT ON (service_id) * FROM matched
            ORDER BY service_id, {_pick(place)}
        ),
        page AS (
            SELECT id, kind, last_verified_at, rank, distance_m FROM best
            ORDER BY {order}
            LIMIT :limit OFFSET :offset
        )
        SELECT
            (SELECT count(*) FROM best) AS total,
            (SELECT coalesce(json_agg(json_build_object(
                    'kind', p.kind, 'body', d.body, 'distance_m', p.distance_m,
                    'last_verified_at', p.last_verified_at,
                    'open_now', d.open_minutes @> week_minute(:now, d.timezone)
                ) ORDER BY p.position), '[]')
             FROM (SELECT page.*, row_number() OVER (ORDER BY {order}) AS position FROM page) p
             JOIN search_document d ON d.id = p.id) AS items,
            (SELECT coalesce(json_object_agg(code, n), '{{}}') FROM (
                SELECT unnest(needs) AS code, count(*) AS n FROM best GROUP BY 1) f) AS needs,
            (SELECT coalesce(json_object_agg(code, n), '{{}}') FROM (
                SELECT unnest(languages) AS code, count(*) AS n FROM best GROUP BY 1) f)
                AS languages,
            (SELECT coalesce(json_object_agg(code, n), '{{}}') FROM (
                SELECT unnest(accessibility) AS code, count(*) AS n FROM best GROUP BY 1) f)
                AS accessibility
        """
    )
    row = session.execute(statement, params).one()
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


def _pick(place: Place | None) -> str:
    """Which of a service's matching documents is its result: near a place its nearest site in
    range, else its area document; without a place, the most relevant."""
    if place is None:
        return "rank DESC, kind = 'area', id"
    return "kind = 'area', distance_m ASC NULLS LAST, rank DESC, id"


def _filters(
    session: Session,
    query: SearchQuery,
    place: Place | None,
    need_codes: list[str],
    params: dict[str, Any],
) -> tuple[list[str], str]:
    """The WHERE conditions and the relevance expression of a search."""
    where: list[str] = []
    matches, rank = word_condition(session, query.q, place, params) if query.q else (None, "0.0")
    if matches:
        where.append(matches)
    for name, values in (
        ("needs", need_codes),
        ("languages", query.language),
        ("accessibility", query.accessibility),
        ("costs", query.cost),
    ):
        if values:
            params[name] = values
            operator = "@>" if name in ("languages", "accessibility") else "&&"  # every / any
            where.append(f"{_column(name, place)} {operator} CAST(:{name} AS text[])")
    if query.age is not None:
        params["age"] = query.age
        where.append("coalesce(d.minimum_age, 0) <= :age AND :age <= coalesce(d.maximum_age, 200)")
    if query.mode != "any":
        where.append("d.kind = 'site'" if query.mode == "in_person" else "d.kind = 'area'")
    if query.open_now is not None:
        test = "d.open_minutes @> week_minute(:now, d.timezone)"
        where.append(
            f"coalesce({test}, FALSE)" if query.open_now else f"NOT coalesce({test}, TRUE)"
        )
    if query.accepting:  # a listing without a status stays: nobody has asked yet
        params["not_taking"] = list(NOT_TAKING_CLIENTS)
        where.append("coalesce(d.body->>'capacity_status', '') <> ALL(CAST(:not_taking AS text[]))")
    if place is not None:
        params["origin"] = f"SRID=4326;POINT({place.longitude} {place.latitude})"
        params["radius_m"] = query.radius_km * 1000
        params["regions"] = place.regions
        where.append(
            "((d.kind = 'site' AND ST_DWithin(d.point, CAST(:origin AS geography), :radius_m))"
            " OR (d.kind = 'area' AND d.regions && CAST(:regions AS text[])))"
        )
    return where, rank


def _column(name: str, place: Place | None) -> str:
    # Near a place, the GiST index finds the few candidates and array conditions filter them:
    # left an indexable array, the planner ANDs a need's whole GIN posting list (a third of the
    # index) with the place, measured 10x slower. coalesce() keeps it off the index.
    return f"d.{name}" if place is None else f"coalesce(d.{name}, '{{}}')"


def word_condition(
    session: Session, q: str, place: Place | None, params: dict[str, Any]
) -> tuple[str | None, str]:
    """The condition a query's words put on a document (None: none), and its relevance."""
    if not intent(q).terms:
        return ("FALSE" if intent(q).worded else None), "0.0"  # only stop words: nothing
    groups, corrections = word_groups(session, intent(q).terms)
    meant = intent(q, corrections)
    frequencies, total = count_matches(session, [tsquery(g) for g in groups.values()])
    lineage = _lineage(session)
    parts: list[str] = []
    weights = 0.0
    broader: set[str] = set()
    for k, (term, alternatives) in enumerate(groups.items()):
        found = frequencies[tsquery(alternatives)]
        named = meant.needs_of(term)
        if not found and not named:
            continue  # matches nothing: it cannot tell listings apart
        weight = idf(found, total) * (NAMING_BOOST if named else 1.0)
        params[f"t{k}"] = tsquery(alternatives)
        above = sorted({a for code in named for a in lineage.get(code, ())[1:]} - set(named))
        broader.update(above)
        case = ["CASE"]
        if named:
            params[f"n{k}"] = named
            case.append(f"WHEN d.needs && CAST(:n{k} AS text[]) THEN {NEED_WEIGHT}")
        if above:  # a general service answers a narrower need, below the services for it
            params[f"b{k}"] = above
            outside = f"NOT d.tsv @@ CAST(:t{k} AS tsquery)"
            case.append(
                f"WHEN {outside} AND d.needs && CAST(:b{k} AS text[]) THEN {BROADER_WEIGHT}"
            )
        case.append(f"WHEN NOT d.tsv @@ CAST(:t{k} AS tsquery) THEN 0.0")
        for letter, field_weight in FIELD_WEIGHTS[:-1]:
            params[f"t{k}{letter}"] = tsquery(alternatives, letter)
            case.append(f"WHEN d.tsv @@ CAST(:t{k}{letter} AS tsquery) THEN {field_weight}")
        last = FIELD_WEIGHTS[-1][1]
        if above:
            case.append(f"WHEN d.needs && CAST(:b{k} AS text[]) THEN {max(BROADER_WEIGHT, last)}")
        case.append(f"ELSE {last} END")
        parts.append(f"{weight:.6f} * {' '.join(case)}")
        weights += weight
    if not parts:
        return "FALSE", "0.0"
    conditions = []
    if groups:
        params["words"] = " | ".join(f"({tsquery(g)})" for g in groups.values())
        conditions.append("d.tsv @@ CAST(:words AS tsquery)")
    if meant.needs:
        params["named"] = sorted({*meant.need_codes, *broader})
        conditions.append(f"{_column('needs', place)} && CAST(:named AS text[])")
    rank = f"(({' + '.join(parts)}) / {weights:.6f})"
    return "(" + " OR ".join(conditions) + ")", rank


_LINEAGE: list[tuple[float, dict[str, tuple[str, ...]]]] = []


def _lineage(session: Session) -> dict[str, tuple[str, ...]]:
    """Each need with the needs above it (read at most every few minutes)."""
    now = time.monotonic()
    if not _LINEAGE or now - _LINEAGE[0][0] > CACHE_TTL_S:
        _LINEAGE[:] = [(now, need_lineage(session))]
    return _LINEAGE[0][1]


def _order(query: SearchQuery, place: Place | None) -> str:
    if query.sort == "distance":
        return "distance_m ASC NULLS LAST, rank DESC, id"
    if place is None:
        return "rank DESC, last_verified_at DESC NULLS LAST, id"
    # Relevance, less up to DISTANCE_WEIGHT of it at the edge of the radius, less REMOTE_WEIGHT
    # for a service that only serves the area: a closer service wins a near-tie, a better
    # match wins over a closer one, and one to go to over one reached remotely alike.
    edge = "CAST(:radius_m AS float8)"
    score = (
        f"rank * CASE WHEN distance_m IS NULL THEN {1 - REMOTE_WEIGHT}"
        f" ELSE 1 - {DISTANCE_WEIGHT} * least(distance_m / {edge}, 1) END"
    )
    return f"{score} DESC, distance_m ASC NULLS LAST, last_verified_at DESC NULLS LAST, id"


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
