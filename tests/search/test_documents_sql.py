"""The index sync's set-based documents equal those of whole listings, field by field.

The sync reads listings with a few statements per batch (``documents_sql``); the API reads whole
listings (``read_services``). Both feed the one document builder, so any part the two readers
read differently (a field left out, another order) shows here, on the seed and on real files.
"""

from __future__ import annotations

import uuid
from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from directory.listings.models import CrisisChannel, Provenance, Service
from directory.listings.queries import read_services
from directory.listings.taxonomy import need_lineage
from directory.search import postgres
from directory.search.documents import Document, documents
from directory.search.documents_sql import _among
from directory.search.meili_documents import meili_document
from directory.search.sync import documents_of
from tests.ingest.test_datasets import _subset_directory, _subset_locator, load

FILES = [
    "crisis-lines-wikipedia/suicide-hotlines.json",
    "hsds1-ilao",
    "hsds1-sample-package",
    "hsds3-spec-examples/csv",
    "hsds3-spec-examples/json/service_full.json",
    "hsds3-spec-examples/json/service_at_location_full.json",
]


def assert_same_documents(session: Session, service_ids: list[uuid.UUID]) -> int:
    """The documents both ways are equal, field by field; how many there are."""
    lineage = need_lineage(session)
    whole = [
        doc for read in read_services(session, service_ids) for doc in documents(read, lineage)
    ]
    expected = {doc.id: doc for doc in whole}
    found = {doc.id: doc for doc in documents_of(session, service_ids)}
    assert sorted(map(str, found)) == sorted(map(str, expected))
    for key, doc in expected.items():
        for field in fields(Document):
            ours, theirs = getattr(found[key], field.name), getattr(doc, field.name)
            assert ours == theirs, f"{key} {field.name}: {ours!r} != {theirs!r}"
        assert meili_document(found[key]) == meili_document(doc)
    return len(expected)


def _ids(session: Session, source: str | None = None) -> list[uuid.UUID]:
    query = select(Service.id).order_by(Service.id)
    if source is not None:
        query = query.where(
            Service.id.in_(select(Provenance.service_id).where(Provenance.source == source))
        )
    return list(session.scalars(query))


def _published(session: Session, source: str) -> list[uuid.UUID]:
    """The listings of a source, all made searchable (an import may leave some hidden)."""
    ids = _ids(session, source)
    session.execute(
        update(Service)
        .where(Service.id.in_(ids))
        .values(curation_status="published", status="active")
        .execution_options(synchronize_session=False)
    )
    return ids


def test_the_seed_listings_documents_are_the_same_both_ways(session: Session) -> None:
    ids = _ids(session)
    session.execute(  # a hidden listing has none either way
        update(Service)
        .where(Service.id == ids[0])
        .values(curation_status="draft")
        .execution_options(synchronize_session=False)
    )
    assert assert_same_documents(session, ids) > 20


@pytest.mark.parametrize("name", FILES)
def test_a_real_files_documents_are_the_same_both_ways(
    session: Session, datasets_dir: Path, name: str
) -> None:
    load(session, datasets_dir / name, f"test:{name}")
    assert assert_same_documents(session, _published(session, f"test:{name}")) >= 1


def test_samhsas_merged_listings_documents_are_the_same_both_ways(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    load(session, _subset_locator(datasets_dir, tmp_path, "VT"), "test:locator")
    load(session, _subset_directory(datasets_dir, tmp_path, "VT"), "test:directory")
    ids = sorted({*_published(session, "test:locator"), *_published(session, "test:directory")})
    assert assert_same_documents(session, ids) > 50


WEIGHTED = text(
    """
    SELECT setweight(to_tsvector('english', unaccent(:a)), 'A')
        || setweight(to_tsvector('simple', unaccent(:a)), 'A')
        || setweight(to_tsvector('english', unaccent(:b)), 'B')
        || setweight(to_tsvector('spanish', unaccent(:b)), 'B')
        || setweight(to_tsvector('english', unaccent(:c)), 'C')
        || setweight(to_tsvector('spanish', unaccent(:c)), 'C')
        || setweight(to_tsvector('simple', unaccent(:d)), 'D') = tsv
    FROM search_document WHERE id = :id
    """
)


def test_the_index_holds_each_documents_weighted_words(session: Session) -> None:
    """Each distinct text of a batch is made a vector once: still each document's own words, at
    the positions one vector of its texts in a row gives them."""
    ids = _ids(session)
    docs = documents_of(session, ids)
    postgres.replace(session, ids, docs)
    for doc in docs:
        texts = {key.lower(): doc.text[key] for key in "ABCD"}
        assert session.scalar(WEIGHTED, {"id": doc.id, **texts}) is True, doc.name


def test_a_batchs_ids_are_read_into_an_array_once(session: Session) -> None:
    """Even where a small table is read by a sequential scan: each row reading the ids' text
    anew cost 80 ms a batch of 2,000 listings on a table of 35 rows."""
    ids = _ids(session)
    query = select(CrisisChannel.id).where(_among(CrisisChannel.service_id, ids))
    session.execute(text("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off"))
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))
    assert "Seq Scan on crisis_channel" in plan
    assert "InitPlan" in plan  # the ids' array, made once for every row's test
