"""One listing from several records' documents (a merged facility: from several sources, or
repeated in one file)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.ingest.formats import formats
from directory.ingest.infer import INFERRED
from directory.ingest.records import RowRejected
from directory.listings.models import Provenance
from directory.listings.schemas import LIST_FIELDS, ServiceCreate

# How to tell two items of a list apart when uniting them.
KEYS: dict[str, Callable[[Any], Any]] = {
    "needs": lambda item: item,
    "languages": lambda item: item.get("code"),
    "phones": lambda item: (
        "".join(c for c in item["number"] if c.isdigit()),
        item.get("extension"),
    ),
    "cost_options": lambda item: (
        item.get("option"),
        str(item.get("amount")),
        item.get("description") or item.get("amount_description"),
    ),
    "service_areas": lambda item: tuple(item.get("regions") or [item.get("name")]),
    "crisis_channels": lambda item: (item.get("channel"), item.get("number"), item.get("url")),
    "schedules": lambda item: tuple(sorted((k, str(v)) for k, v in item.items())),
    "accessibility": lambda item: item.get("code"),
    "contacts": lambda item: (item.get("name"), item.get("title"), item.get("email")),
}


def composed_documents(
    session: Session, service_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ServiceCreate]:
    """Each listing's document, composed from every link's stored raw record.

    In the order the links came (one import's share a time: then by source and id, so that the
    record a repeated row repeats, whose id is a prefix of the repeat's, comes first).
    """
    links = session.scalars(
        select(Provenance)
        .where(Provenance.service_id.in_(list(service_ids)))
        .order_by(
            Provenance.service_id,
            Provenance.created_at,
            Provenance.source,
            Provenance.external_id,
        )
    )
    by_service: dict[uuid.UUID, list[Provenance]] = {}
    for link in links:
        by_service.setdefault(link.service_id, []).append(link)
    composed = {}
    for service_id, found in by_service.items():
        try:
            composed[service_id] = composed_document(found)
        except (RowRejected, ValidationError, ValueError):
            continue  # a source no longer normalises: the listing stays as it is
    return composed


def composed_document(links: Iterable[Provenance]) -> ServiceCreate:
    """Re-normalise each link's raw record with its format and compose the documents in order."""
    from directory.ingest.prepare import approximate_places

    known = formats()
    docs, first = [], None
    for link in links:
        if link.raw is None or link.format not in known:
            continue
        body = known[link.format].normalise(link.raw).doc
        approximate_places(body)
        docs.append(body)
        first = first or link
    if first is None:
        raise ValueError("no source document to compose")
    # The first source's provenance keeps the listing's organization (its id derives from it).
    provenance = {"source": first.source, "external_id": first.external_id}
    return ServiceCreate.model_validate({**compose(docs), "provenance": provenance})


def compose(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Scalars from the first document that has them; lists united; one site per ZIP.

    A single document is returned as it is: uniting only ever happens across records.
    """
    if len(docs) == 1:
        return dict(docs[0])
    result: dict[str, Any] = {}
    for doc in docs:
        for name, value in doc.items():
            if name in LIST_FIELDS or name in ("provenance", INFERRED):
                continue
            if result.get(name) in (None, "", {}) and value not in (None, ""):
                result[name] = value
    for name in LIST_FIELDS:
        if name == "locations":
            result[name] = _sites([loc for doc in docs for loc in doc.get(name) or []])
        else:
            result[name] = _united(name, [item for doc in docs for item in doc.get(name) or []])
    _needs_given_or_inferred(result, docs)
    return result


def _needs_given_or_inferred(result: dict[str, Any], docs: list[dict[str, Any]]) -> None:
    """Needs a record gives win over needs inferred for another one (inferred only where a
    record gives none): inferred needs stay, still marked, only when no record gives any."""
    inferred = [code for doc in docs for code in doc.get(INFERRED) or []]
    if not inferred:
        return
    given = [
        code
        for doc in docs
        for code in doc.get("needs") or []
        if code not in (doc.get(INFERRED) or [])
    ]
    if given:
        result["needs"] = _united("needs", given)
    else:
        result[INFERRED] = _united("needs", inferred)


def _united(name: str, items: list[Any]) -> list[Any]:
    key = KEYS.get(name, repr)
    found: dict[Any, Any] = {}
    for item in items:
        found.setdefault(key(item), item)
    return list(found.values())


def _sites(locations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Locations united by ZIP (without one, only when identical: the "Telehealth" site of a
    repeated row); exact coordinates win."""
    by_key: dict[Any, dict[str, Any]] = {}
    for location in locations:
        postal = (location.get("address") or {}).get("postal_code")
        key = (
            (location.get("location_type", "physical"), postal)
            if postal
            else json.dumps(location, sort_keys=True, default=str)
        )
        if key not in by_key:
            by_key[key] = dict(location)
            continue
        kept = by_key[key]
        if (
            kept.get("coordinates_approximate")
            and location.get("latitude") is not None
            and not location.get("coordinates_approximate")
        ):
            kept["latitude"], kept["longitude"] = location["latitude"], location["longitude"]
            kept["coordinates_approximate"] = False
        for name in ("accessibility", "phones", "schedules"):
            kept[name] = _united(name, (kept.get(name) or []) + (location.get(name) or []))
    return list(by_key.values())
