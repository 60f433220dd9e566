"""``directory ingest remap``: re-apply changed mapping tables to stored raw records."""

from __future__ import annotations

import uuid
from collections import Counter

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.ingest import mappings
from directory.ingest.compose import composed_documents
from directory.ingest.formats import formats
from directory.ingest.keep_ids import KeptIds
from directory.ingest.prepare import approximate_places
from directory.ingest.records import RowRejected
from directory.listings.models import Provenance
from directory.listings.schemas import ServiceCreate
from directory.listings.service import content_hash, rewrite_services


def remap(session: Session, *, source: str | None = None) -> Counter[str]:
    """Re-normalise every stored raw record (of one source, or all); rewrite what changed."""
    mappings.reload()
    known = formats()
    query = select(Provenance).where(Provenance.raw.is_not(None), Provenance.format.is_not(None))
    if source:
        query = query.where(Provenance.source == source)
    changed: set[uuid.UUID] = set()
    counts: Counter[str] = Counter()
    for link in session.scalars(query.order_by(Provenance.service_id)):
        if link.format not in known or link.raw is None:
            counts["skipped (format unknown)"] += 1
            continue
        try:
            body = known[link.format].normalise(link.raw).doc
            approximate_places(body)
            doc = ServiceCreate.model_validate(
                {**body, "provenance": {"source": link.source, "external_id": link.external_id}}
            )
        except (RowRejected, ValidationError):
            counts["failed (kept as it was)"] += 1
            continue
        digest = content_hash(doc)
        if digest == link.content_hash:
            counts["unchanged"] += 1
            continue
        link.content_hash = digest
        changed.add(link.service_id)
    docs = composed_documents(session, changed)
    rewrite_services(session, docs, keep=KeptIds(source).rewriting(session, docs))
    counts["updated"] += len(changed)
    return counts
