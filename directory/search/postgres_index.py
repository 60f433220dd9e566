"""The postgres backend's index: the ``search_document`` table, what its results show
(``search_result``) and its words (see :mod:`directory.search.postgres` for what the columns
and weights mean to a search, :mod:`directory.search.models` for why the bodies are apart)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from directory.search.documents import Document
from directory.search.models import SearchDocument, SearchResult, SearchWord
from directory.search.vocabulary import words

INSERT = text(
    """
    WITH d AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(CAST(:docs AS jsonb)) AS d(
            id uuid, service_id uuid, location_id uuid, kind text, name text, needs text[],
            languages text[], accessibility text[], costs text[], regions text[],
            minimum_age int, maximum_age int, latitude float8, longitude float8,
            open_minutes text, timezone text, capacity_status text, body jsonb,
            last_verified_at timestamptz, a text, b text, c text, d text)
    ), documents AS (
    INSERT INTO search_document (
        id, service_id, location_id, kind, name, needs, languages, accessibility, costs, regions,
        minimum_age, maximum_age, point, open_minutes, timezone, capacity_status,
        last_verified_at, tsv)
    SELECT d.id, d.service_id, d.location_id, d.kind, d.name, d.needs, d.languages,
        d.accessibility, d.costs, d.regions, d.minimum_age, d.maximum_age,
        CASE WHEN d.latitude IS NOT NULL
            THEN ST_SetSRID(ST_MakePoint(d.longitude, d.latitude), 4326)::geography END,
        d.open_minutes::int4multirange, d.timezone, d.capacity_status, d.last_verified_at,
        setweight(to_tsvector('english', unaccent(d.a)), 'A')
        || setweight(to_tsvector('simple', unaccent(d.a)), 'A')
        || setweight(to_tsvector('english', unaccent(d.b)), 'B')
        || setweight(to_tsvector('spanish', unaccent(d.b)), 'B')
        || setweight(to_tsvector('english', unaccent(d.c)), 'C')
        || setweight(to_tsvector('spanish', unaccent(d.c)), 'C')
        || setweight(to_tsvector('simple', unaccent(d.d)), 'D')
    FROM d
    )
    INSERT INTO search_result (id, body) SELECT d.id, d.body FROM d
    """
)


@dataclass(frozen=True)
class Batch:
    """Documents as the index's statements take them: made in Python (``prepare``), written by
    the database (``write``), so that a rebuild makes one batch while the database writes the
    one before."""

    service_ids: Sequence[uuid.UUID]  # whose documents are replaced
    docs: str | None  # the documents, one JSON array (None: none)
    words: list[dict[str, str]]  # every word of their texts, for typos


def replace(session: Session, service_ids: Sequence[uuid.UUID], docs: list[Document]) -> None:
    """Make the index hold exactly ``docs`` for these services (in the caller's transaction)."""
    write(session, prepare(service_ids, docs))


def prepare(service_ids: Sequence[uuid.UUID], docs: list[Document]) -> Batch:
    """A batch of documents made ready to write (no database work)."""
    if not docs:
        return Batch(service_ids, None, [])
    texts = {t for d in docs for t in d.text.values()}  # many repeat (needs' keywords, places)
    vocabulary_words = sorted(set(words(" ".join(texts))))
    fresh = [{"word": w} for w in vocabulary_words if 3 <= len(w) <= 64 and not w.isdigit()]
    return Batch(service_ids, json.dumps([_row(d) for d in docs], default=str), fresh)


def write(session: Session, batch: Batch) -> None:
    """Replace the batch's services' documents by its own (in the caller's transaction)."""
    if batch.service_ids:  # their results go with them (ON DELETE CASCADE)
        found = SearchDocument.service_id.in_(batch.service_ids)
        session.execute(delete(SearchDocument).where(found))
    if batch.docs is not None:
        session.execute(INSERT, {"docs": batch.docs})
    if batch.words:
        session.execute(pg_insert(SearchWord).on_conflict_do_nothing(), batch.words)


def clear(session: Session) -> None:
    """Empty the index (a rebuild refills it in the same transaction)."""
    session.execute(delete(SearchResult))  # first: the cascade would find each one by one
    session.execute(delete(SearchDocument))
    session.execute(delete(SearchWord))


def _row(doc: Document) -> dict[str, Any]:
    row = {f.name: getattr(doc, f.name) for f in fields(doc)}  # asdict() deep-copies: slow
    spans = row.pop("open_minutes")
    row["open_minutes"] = "{" + ",".join(f"[{a},{b})" for a, b in spans) + "}" if spans else None
    row.update({k.lower(): v for k, v in row.pop("text").items()})
    return row
