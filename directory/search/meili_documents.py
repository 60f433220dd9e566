"""Documents as the Meilisearch backend stores them, the words a query sends, and hits as results.

Stop words are the Snowball lists PostgreSQL ships for English and Spanish
(``seed_data/stop_words``), folded like every other word: the index ignores them, and the query
text leaves them out, as the postgres backend skips them ("it's therapy" searches "therapy").
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from functools import lru_cache
from typing import Any

from directory.geo import distance_km
from directory.listings.vocabularies import seed_dir
from directory.search import meili_filters as mf
from directory.search.documents import Document
from directory.search.places import Place
from directory.search.query import SearchResult
from directory.search.vocabulary import fold, vocabulary, words

TEXT_FIELDS = {"A": "name_text", "B": "needs_text", "C": "description_text", "D": "place_text"}
STOP_WORD_LISTS = ("english", "spanish")


class Encoder(json.JSONEncoder):
    """JSON for document bodies: dates in ISO 8601, ids and decimals as text."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.date | dt.time):
            return o.isoformat()
        if isinstance(o, uuid.UUID | Decimal):
            return str(o)
        return super().default(o)


@lru_cache(maxsize=1)
def stop_words() -> tuple[str, ...]:
    """The English and Spanish stop words, folded, once each, sorted."""
    found: set[str] = set()
    for name in STOP_WORD_LISTS:
        text = (seed_dir() / "stop_words" / f"{name}.txt").read_text(encoding="utf-8")
        lines = (line.strip() for line in text.splitlines())
        found.update(fold(line) for line in lines if line and not line.startswith("#"))
    return tuple(sorted(found))


def query_words(q: str | None) -> list[str]:
    """The words a query searches: folded, each once, in order, stop words left out."""
    stop = frozenset(stop_words())
    return [w for w in dict.fromkeys(words(q or "")) if w not in stop]


def synonyms() -> dict[str, list[str]]:
    """Each word of a synonym group mapped to the group's other words (merged across groups)."""
    table: dict[str, list[str]] = {}
    for group in vocabulary().synonyms:
        for word in group:
            others = table.setdefault(word, [])
            others.extend(o for o in group if o != word and o not in others)
    return {word: table[word] for word in sorted(table)}


def meili_document(doc: Document) -> dict[str, Any]:
    """A document as Meilisearch holds it: filter arrays, searchable texts, the result body."""
    out: dict[str, Any] = {
        "id": str(doc.id),
        "service_id": str(doc.service_id),
        "kind": doc.kind,
        "needs": doc.needs,
        "languages": doc.languages,
        "accessibility": doc.accessibility,
        "costs": doc.costs,
        "regions": doc.regions,
        "minimum_age": mf.AGE_FLOOR if doc.minimum_age is None else doc.minimum_age,
        "maximum_age": mf.AGE_CEILING if doc.maximum_age is None else doc.maximum_age,
        "timezone": doc.timezone,
        "open_minutes": [list(span) for span in doc.open_minutes] if doc.open_minutes else None,
        "body": doc.body,
        **{TEXT_FIELDS[weight]: text for weight, text in doc.text.items() if weight in TEXT_FIELDS},
    }
    if doc.open_minutes is not None:  # absent when the hours are unknown (open_now: neither)
        out["open_quarters"] = mf.open_quarters(doc.open_minutes)
    if doc.last_verified_at is not None:
        out["last_verified_at"] = doc.last_verified_at.timestamp()
    if doc.kind == "site" and doc.latitude is not None and doc.longitude is not None:
        out["_geo"] = {"lat": doc.latitude, "lng": doc.longitude}
    return out


def hit_distance_km(hit: dict[str, Any], place: Place) -> float | None:
    """How far a site is from the place: ``_geoDistance`` when Meilisearch sorted by it, else the
    haversine distance to the hit's ``_geo``; None without a point."""
    meters = hit.get("_geoDistance")
    if meters is not None:
        return round(float(meters) / 1000, 3)
    point = hit.get("_geo")
    if not point:
        return None
    lat, lng = float(point["lat"]), float(point["lng"])
    return round(distance_km(place.latitude, place.longitude, lat, lng), 3)


def result(hit: dict[str, Any], place: Place | None, now: dt.datetime) -> SearchResult:
    """A hit as a search result: its body, its distance and match, whether it is open now."""
    remote = hit["kind"] == "area"
    return SearchResult.model_validate(
        {
            **hit["body"],
            "distance_km": None if remote or place is None else hit_distance_km(hit, place),
            "match": None if place is None else ("serves_area" if remote else "near"),
            "open_now": mf.open_at(hit.get("open_minutes"), hit.get("timezone"), now),
        }
    )
