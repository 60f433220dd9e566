"""The postgres backend: the ``search_document`` table, full-text search and PostGIS.

Text: a weighted tsvector (name A, needs and their keywords B, description C, place D) in the
English, Spanish and ``simple`` configurations over unaccented text; each query word must match
in one of them, or a synonym of it, or (misspelt) the nearest indexed word by trigrams. Places:
``ST_DWithin`` on a GiST index for sites, array overlap on regions for remote services.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from directory.search.documents import Document
from directory.search.models import SearchDocument, SearchWord
from directory.search.places import Place
from directory.search.query import Facets, SearchQuery, SearchResponse, SearchResult
from directory.search.vocabulary import vocabulary, words

NAME = "postgres"
TIE_BAND_M = 1500.0  # distance breaks relevance near-ties in bands this wide
RANK_BANDS = 20  # relevance (0..1) in this many bands: a "near-tie" shares a band

INSERT = text(
    """
    INSERT INTO search_document (
        id, service_id, location_id, kind, name, needs, languages, accessibility, costs, regions,
        minimum_age, maximum_age, point, open_minutes, timezone, body, last_verified_at, tsv)
    SELECT d.id, d.service_id, d.location_id, d.kind, d.name, d.needs, d.languages,
        d.accessibility, d.costs, d.regions, d.minimum_age, d.maximum_age,
        CASE WHEN d.latitude IS NOT NULL
            THEN ST_SetSRID(ST_MakePoint(d.longitude, d.latitude), 4326)::geography END,
        d.open_minutes::int4multirange, d.timezone, d.body, d.last_verified_at,
        setweight(to_tsvector('english', unaccent(d.a)), 'A')
        || setweight(to_tsvector('simple', unaccent(d.a)), 'A')
        || setweight(to_tsvector('english', unaccent(d.b)), 'B')
        || setweight(to_tsvector('spanish', unaccent(d.b)), 'B')
        || setweight(to_tsvector('english', unaccent(d.c)), 'C')
        || setweight(to_tsvector('spanish', unaccent(d.c)), 'C')
        || setweight(to_tsvector('simple', unaccent(d.d)), 'D')
    FROM jsonb_to_recordset(CAST(:docs AS jsonb)) AS d(
        id uuid, service_id uuid, location_id uuid, kind text, name text, needs text[],
        languages text[], accessibility text[], costs text[], regions text[], minimum_age int,
        maximum_age int, latitude float8, longitude float8, open_minutes text, timezone text,
        body jsonb, last_verified_at timestamptz, a text, b text, c text, d text)
    """
)


def replace(session: Session, service_ids: Sequence[uuid.UUID], docs: list[Document]) -> None:
    """Make the index hold exactly ``docs`` for these services (in the caller's transaction)."""
    if service_ids:
        session.execute(delete(SearchDocument).where(SearchDocument.service_id.in_(service_ids)))
    if not docs:
        return
    session.execute(INSERT, {"docs": json.dumps([_row(d) for d in docs], default=str)})
    vocabulary_words = sorted({w for d in docs for t in d.text.values() for w in words(t)})
    fresh = [{"word": w} for w in vocabulary_words if 3 <= len(w) <= 64 and not w.isdigit()]
    if fresh:
        session.execute(pg_insert(SearchWord).on_conflict_do_nothing(), fresh)


def clear(session: Session) -> None:
    """Empty the index (a rebuild refills it in the same transaction)."""
    session.execute(delete(SearchDocument))
    session.execute(delete(SearchWord))


def _row(doc: Document) -> dict[str, Any]:
    row = {f.name: getattr(doc, f.name) for f in fields(doc)}  # asdict() deep-copies: slow
    spans = row.pop("open_minutes")
    row["open_minutes"] = "{" + ",".join(f"[{a},{b})" for a, b in spans) + "}" if spans else None
    row.update({k.lower(): v for k, v in row.pop("text").items()})
    return row


# --- searching ----------------------------------------------------------------------------------


def search(
    session: Session,
    query: SearchQuery,
    place: Place | None,
    *,
    need_codes: list[str],
    now: dt.datetime,
) -> SearchResponse:
    """One page of results with the facets of the whole match set, in one round trip."""
    started = time.perf_counter()
    params: dict[str, Any] = {"now": now, "limit": query.per_page}
    params["offset"] = (query.page - 1) * query.per_page
    where, ts = _filters(session, query, place, need_codes, params)
    rank = f"ts_rank(d.tsv, {ts}, 32)" if ts else "0.0"  # ts_rank_cd: 3x the cost
    distance = "ST_Distance(d.point, CAST(:origin AS geography))" if place else "NULL::float8"
    order = _order(query)
    statement = text(
        f"""
        WITH matched AS MATERIALIZED (
            SELECT d.id, d.kind, d.needs, d.languages, d.accessibility, d.last_verified_at,
                {rank} AS rank, {distance} AS distance_m
            FROM search_document d
            WHERE {" AND ".join(where) or "TRUE"}
        ),
        page AS (
            SELECT id, kind, last_verified_at, rank, distance_m FROM matched
            ORDER BY {order}
            LIMIT :limit OFFSET :offset
        )
        SELECT
            (SELECT count(*) FROM matched) AS total,
            (SELECT coalesce(json_agg(json_build_object(
                    'kind', p.kind, 'body', d.body, 'distance_m', p.distance_m,
                    'last_verified_at', p.last_verified_at,
                    'open_now', d.open_minutes @> week_minute(:now, d.timezone)
                ) ORDER BY p.position), '[]')
             FROM (SELECT page.*, row_number() OVER (ORDER BY {order}) AS position FROM page) p
             JOIN search_document d ON d.id = p.id) AS items,
            (SELECT coalesce(json_object_agg(code, n), '{{}}') FROM (
                SELECT unnest(needs) AS code, count(*) AS n FROM matched GROUP BY 1) f) AS needs,
            (SELECT coalesce(json_object_agg(code, n), '{{}}') FROM (
                SELECT unnest(languages) AS code, count(*) AS n FROM matched GROUP BY 1) f)
                AS languages,
            (SELECT coalesce(json_object_agg(code, n), '{{}}') FROM (
                SELECT unnest(accessibility) AS code, count(*) AS n FROM matched GROUP BY 1) f)
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


def _filters(
    session: Session,
    query: SearchQuery,
    place: Place | None,
    need_codes: list[str],
    params: dict[str, Any],
) -> tuple[list[str], str | None]:
    where: list[str] = []
    ts = _tsquery(session, query.q, params) if query.q else None
    if ts:
        where.append(f"d.tsv @@ {ts}")
    elif query.q and words(query.q):
        where.append("FALSE")  # only words that match nothing indexed
    for name, values in (
        ("needs", need_codes),
        ("languages", query.language),
        ("accessibility", query.accessibility),
        ("costs", query.cost),
    ):
        if values:
            params[name] = values
            operator = "@>" if name in ("languages", "accessibility") else "&&"  # every / any
            # Near a place, the GiST index finds the few candidates and these filter them: left
            # an indexable array, the planner ANDs a need's whole GIN posting list (a third of
            # the index) with the place, measured 10x slower. coalesce() keeps it off the index.
            column = f"d.{name}" if place is None else f"coalesce(d.{name}, '{{}}')"
            where.append(f"{column} {operator} CAST(:{name} AS text[])")
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
    if place is not None:
        params["origin"] = f"SRID=4326;POINT({place.longitude} {place.latitude})"
        params["radius_m"] = query.radius_km * 1000
        params["regions"] = place.regions
        where.append(
            "((d.kind = 'site' AND ST_DWithin(d.point, CAST(:origin AS geography), :radius_m))"
            " OR (d.kind = 'area' AND d.regions && CAST(:regions AS text[])))"
        )
    return where, ts


def _tsquery(session: Session, q: str, params: dict[str, Any]) -> str | None:
    """The query's words as a tsquery expression: each word (or a synonym, or its correction)."""
    groups: list[str] = []
    for i, (word, (stop, known, nearest)) in enumerate(_analysed(session, q).items()):
        if stop:
            continue
        options = [word, *vocabulary().synonyms_of(word)]
        if not known and nearest:
            options += [nearest, *vocabulary().synonyms_of(nearest)]
        parts: list[str] = []
        for j, option in enumerate(dict.fromkeys(options)):
            key = f"w{i}_{j}"
            params[key] = option
            parts.extend(
                f"plainto_tsquery('{config}', CAST(:{key} AS text))"
                for config in ("english", "spanish", "simple")
            )
        groups.append("(" + " || ".join(parts) + ")")
    return "(" + " && ".join(groups) + ")" if groups else None


# word -> (read at, stop word?, indexed?, nearest indexed word): the same words come back all
# day, and a stale answer only widens or narrows a typo's correction for a few minutes.
_ANALYSED: dict[str, tuple[float, bool, bool, str | None]] = {}
ANALYSED_TTL_S = 300.0


def _analysed(session: Session, q: str) -> dict[str, tuple[bool, bool, str | None]]:
    """Each query word: whether it is a stop word, whether the index has it, its nearest word."""
    wanted = list(dict.fromkeys(words(q)))[:32]
    now = time.monotonic()
    fresh = {w: hit for w in wanted if (hit := _ANALYSED.get(w)) and now - hit[0] < ANALYSED_TTL_S}
    missing = [w for w in wanted if w not in fresh]
    if missing:
        if len(_ANALYSED) > 50_000:
            _ANALYSED.clear()
        for word, stop, known, nearest in _analyse(session, missing):
            fresh[word] = _ANALYSED[word] = (now, stop, known, nearest)
    return {w: fresh[w][1:] for w in wanted if w in fresh}


def _analyse(session: Session, wanted: list[str]) -> Sequence[Any]:
    return session.execute(
        text(
            """
            SELECT w.q,
                numnode(plainto_tsquery('english', w.q)) = 0
                    OR numnode(plainto_tsquery('spanish', w.q)) = 0 AS stop,
                k.known,
                CASE WHEN NOT k.known AND length(w.q) >= 4 THEN (
                    SELECT s.word FROM search_word s WHERE s.word % w.q
                    ORDER BY similarity(s.word, w.q) DESC, s.word LIMIT 1) END AS nearest
            FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS w(q, n)
            CROSS JOIN LATERAL (
                SELECT EXISTS (SELECT 1 FROM search_word s WHERE s.word = w.q) AS known) k
            ORDER BY w.n
            """
        ),
        {"words": wanted},
    ).all()


def _order(query: SearchQuery) -> str:
    if query.sort == "distance":
        return "distance_m ASC NULLS LAST, rank DESC, id"
    return (
        f"floor(rank * {RANK_BANDS}) DESC, floor(distance_m / {TIE_BAND_M}) ASC NULLS LAST,"
        " rank DESC, distance_m ASC NULLS LAST, last_verified_at DESC NULLS LAST, id"
    )


def _result(item: dict[str, Any], place: Place | None) -> SearchResult:
    body = item["body"]
    distance = item["distance_m"]
    remote = item["kind"] == "area"
    return SearchResult.model_validate(
        {
            **body,
            "needs": body["needs"],
            "distance_km": None if remote or distance is None else round(distance / 1000, 3),
            "match": None if place is None else ("serves_area" if remote else "near"),
            "open_now": item["open_now"],
            "last_verified_at": item["last_verified_at"],
        }
    )
