"""Documents as the Meilisearch backend stores them, the words a query sends, and hits as results.

Stop words are the Snowball lists PostgreSQL ships for English and Spanish
(``seed_data/stop_words``), folded like every other word, less the vocabulary's own words ("son"):
the index ignores them, and the query text leaves them out, as the postgres backend skips them
("it's therapy" searches "therapy"). The query text is the words :mod:`directory.search.intent`
reads in it (no filler words either, and "crisis" for a crisis phrase), those that name a need
first, so that the ten words Meilisearch reads of a query keep them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from directory.geo import distance_km
from directory.search import meili_filters as mf
from directory.search.documents import Document
from directory.search.intent import intent
from directory.search.places import Place
from directory.search.query import SearchResult
from directory.search.vocabulary import search_stop_words, vocabulary

TEXT_FIELDS = {
    "A": "name_text",
    "B": "needs_text",
    "C": "description_text",
    "D": "place_text",
    "R": "related_text",  # keywords of the needs under the listing's (postgres: its needs)
}
# The order of the attribute ranking rule: a word in the needs and their keywords weighs most, as
# on postgres (needs 1.0, name 0.9, description 0.6, place 0.5, a need under the listing's 0.5).
SEARCHABLE = ["needs_text", "name_text", "description_text", "place_text", "related_text"]
MAX_QUERY_WORDS = 10  # Meilisearch reads only the first ten words of a query


class Encoder(json.JSONEncoder):
    """JSON for document bodies: dates in ISO 8601, ids and decimals as text."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.date | dt.time):
            return o.isoformat()
        if isinstance(o, uuid.UUID | Decimal):
            return str(o)
        return super().default(o)


def query_words(q: str | None) -> list[str]:
    """The words a query searches: folded, each once, stop and filler words left out, those that
    name a need first (the crisis word before all), then the others in the query's order."""
    return intent(q).by_importance()[:MAX_QUERY_WORDS]


def index_stop_words() -> list[str]:
    """The stop words of the index: the lists, less the words of the vocabulary."""
    return sorted(search_stop_words())


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
        "is_site": 1 if doc.kind == "site" else 0,  # a ranking rule: a site before its area
        "sites": doc.sites,  # the listing's sites: with more than one, pick the nearest
        "body": doc.body,
        **{TEXT_FIELDS[weight]: text for weight, text in doc.text.items() if weight in TEXT_FIELDS},
    }
    if doc.open_minutes is not None:  # absent when the hours are unknown (open_now: neither)
        out["open_quarters"] = mf.open_quarters(doc.open_minutes)
    if doc.last_verified_at is not None:
        out["last_verified_at"] = doc.last_verified_at.timestamp()
    if doc.capacity_status is not None:  # absent when never asked (accepting: kept)
        out["capacity_status"] = doc.capacity_status
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
    km = None if remote or place is None else hit_distance_km(hit, place)
    return SearchResult.model_validate(
        {
            **hit["body"],
            "distance_km": km,
            "distance_approximate": km is not None
            and bool(hit["body"].get("coordinates_approximate")),
            "match": None if place is None else ("serves_area" if remote else "near"),
            "open_now": mf.open_at(hit.get("open_minutes"), hit.get("timezone"), now),
        }
    )
