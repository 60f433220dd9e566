"""The Meilisearch backend: the same documents and the same search contract as ``postgres``.

It talks to Meilisearch (v1.14 API) through the official client. Every write is a task that is
waited for, and only a ``succeeded`` task counts, so the outbox marks rows done only once the
index holds them. Filters come from :mod:`directory.search.meili_filters` (escaped values only).

Ranking: the relevance rules first and ``sort`` last, so "nearest" (``_geoPoint``) only breaks
ties of relevance. Sorting by distance a search with words therefore orders the ids and distances
of the whole match set here, then fetches that page (:meth:`MeiliBackend._nearest_first`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import meilisearch
import requests
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchError,
    MeilisearchTimeoutError,
)
from meilisearch.index import Index
from meilisearch.models.task import TaskInfo

from directory.errors import Unavailable
from directory.search import meili_filters as mf
from directory.search.documents import Document
from directory.search.places import Place
from directory.search.query import Facets, SearchQuery, SearchResponse, SearchResult
from directory.search.vocabulary import vocabulary, words

NAME = "meilisearch"
FACETS = ["needs", "languages", "accessibility"]
TEXT_FIELDS = {"A": "name_text", "B": "needs_text", "C": "description_text", "D": "place_text"}
RETRIEVE = ["id", "kind", "body", "open_minutes", "timezone", "_geo"]  # _geo: for _geoDistance
MAX_TOTAL_HITS = 10_000  # deeper than anyone pages; ``total`` counts up to this many
ZONES_TTL_S = 60.0  # how long the list of time zones in the index is trusted (open_now)
# Words a query may leave out, as the postgres backend drops English and Spanish stop words.
ENGLISH_STOP = "a an and are as at be by for from i in is it me my of on or our the this to we with"
SPANISH_STOP = "al con de del el en es la las los mi mis o para por que su sus un una unas unos y"
STOP_WORDS = sorted({*ENGLISH_STOP.split(), *SPANISH_STOP.split()})


class SearchBackendError(Unavailable):
    """Meilisearch refused a request, or a task did not succeed: the change is not in the index."""


class SearchUnavailable(SearchBackendError):
    """Meilisearch cannot be reached (refused, timed out, or a 5xx): search may fall back."""


@contextmanager
def _guard() -> Iterator[None]:
    """The client's and requests' errors as ours: unreachable, or refused."""
    try:
        yield
    except (MeilisearchCommunicationError, MeilisearchTimeoutError, requests.RequestException) as e:
        raise SearchUnavailable(f"Meilisearch is unreachable: {e}") from e
    except MeilisearchApiError as e:
        if e.status_code >= 500:
            raise SearchUnavailable(f"Meilisearch failed ({e.status_code}): {e.message}") from e
        raise SearchBackendError(f"Meilisearch refused a request ({e.code}): {e.message}") from e
    except MeilisearchError as e:
        raise SearchBackendError(f"Meilisearch error: {e.message}") from e


class _Encoder(json.JSONEncoder):
    """JSON for document bodies: dates in ISO 8601, ids and decimals as text."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.date | dt.time):
            return o.isoformat()
        if isinstance(o, uuid.UUID | Decimal):
            return str(o)
        return super().default(o)


def settings() -> dict[str, Any]:
    """The index settings; the same body every time, so applying them again changes nothing."""
    return {
        "searchableAttributes": list(TEXT_FIELDS.values()),  # in weight order
        "filterableAttributes": [
            *("id", "service_id", "kind", "needs", "languages", "accessibility", "costs"),
            *("regions", "minimum_age", "maximum_age", "open_quarters", "timezone", "_geo"),
        ],
        "sortableAttributes": ["_geo", "last_verified_at"],
        "rankingRules": ["words", "typo", "proximity", "attribute", "exactness", "sort"],
        "synonyms": synonyms(),
        "stopWords": STOP_WORDS,
        "typoTolerance": {"enabled": True},
        "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
        "faceting": {"maxValuesPerFacet": 500},
    }


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


class MeiliBackend:
    """Index and search listings in one Meilisearch index (a rebuild swaps a fresh one in)."""

    name = NAME
    task_timeout_s = 120.0  # a task still enqueued after this long counts as not done

    def __init__(
        self,
        url: str,
        key: str | None,
        *,
        index: str = "services",
        timeout: float = 5.0,
        client: meilisearch.Client | None = None,
    ) -> None:
        # requests takes float seconds; the client annotates its timeout as int
        self.client = client or meilisearch.Client(url, key, timeout=timeout)  # type: ignore[arg-type]
        self.uid = index
        self._zones: list[str] = []
        self._zones_read_at: float | None = None

    def _index(self, uid: str | None = None) -> Index:
        return self.client.index(uid or self.uid)

    def health(self) -> bool:
        """Whether Meilisearch answers ``GET /health`` with ``available``."""
        try:
            return self.client.health().get("status") == "available"
        except (MeilisearchError, requests.RequestException):
            return False

    # --- writing --------------------------------------------------------------------------------

    def ensure_settings(self) -> None:
        """Create the index when missing and apply the settings (idempotent)."""
        self._ensure_index(self.uid)
        self._apply_settings(self.uid)

    def replace(self, service_ids: Sequence[uuid.UUID], docs: list[Document]) -> None:
        """Make the index hold exactly ``docs`` for these services; return once it does."""
        pending: list[TaskInfo] = []
        with _guard():  # both enqueued before waiting, so Meilisearch may process them together
            if service_ids:
                expression = mf.any_of("service_id", [str(i) for i in service_ids])
                pending.append(self._index().delete_documents(filter=expression))
            if docs:
                pending.append(self._add(self.uid, docs))
        for info in pending:
            self._wait(info)
        self._zones_read_at = None

    def clear(self) -> None:
        """Delete every document (a missing index is already empty)."""
        with _guard():
            info = self._index().delete_all_documents()
        self._wait(info, tolerate={"index_not_found"})

    def rebuild(self, batches: Iterable[list[Document]]) -> int:
        """Fill a fresh index, swap it in atomically, drop the old one; the number of documents."""
        fresh = f"{self.uid}_rebuild"
        self._drop_index(fresh)  # what a rebuild that failed half-way left behind
        self._create_index(fresh)
        self._apply_settings(fresh)
        count = 0
        for batch in batches:
            if batch:
                with _guard():
                    info = self._add(fresh, batch)
                self._wait(info)
                count += len(batch)
        self._ensure_index(self.uid)  # a swap needs both indexes to exist
        with _guard():
            info = self.client.swap_indexes([{"indexes": [self.uid, fresh]}])
        self._wait(info)
        self._drop_index(fresh)  # it now holds the old documents
        self._zones_read_at = None
        return count

    def _add(self, uid: str, docs: list[Document]) -> TaskInfo:
        payload = [meili_document(doc) for doc in docs]
        return self._index(uid).add_documents(payload, primary_key="id", serializer=_Encoder)

    def _ensure_index(self, uid: str) -> None:
        with _guard():
            try:
                self.client.get_raw_index(uid)
                return
            except MeilisearchApiError as error:
                if error.code != "index_not_found":
                    raise
        self._create_index(uid)

    def _create_index(self, uid: str) -> None:
        with _guard():
            info = self.client.create_index(uid, {"primaryKey": "id"})
        self._wait(info)

    def _apply_settings(self, uid: str) -> None:
        with _guard():
            info = self._index(uid).update_settings(settings())
        self._wait(info)

    def _drop_index(self, uid: str) -> None:
        with _guard():
            try:
                info = self.client.delete_index(uid)
            except MeilisearchApiError as error:
                if error.code == "index_not_found":
                    return
                raise
        self._wait(info, tolerate={"index_not_found"})  # the task fails when it is missing

    def _wait(self, info: TaskInfo, *, tolerate: Collection[str] = ()) -> None:
        """Wait for a task; raise unless it succeeded (or failed with a tolerated error code)."""
        deadline = time.monotonic() + self.task_timeout_s
        pause = 0.01
        while True:
            with _guard():
                task = self.client.get_task(info.task_uid)
            if task.status == "succeeded":
                return
            if task.status in ("failed", "canceled"):
                error = task.error or {}
                if error.get("code") in tolerate:
                    return
                raise SearchBackendError(
                    f"Meilisearch task {task.uid} ({task.type}) {task.status}:"
                    f" {error.get('code')}: {error.get('message')}"
                )
            if time.monotonic() > deadline:
                raise SearchBackendError(
                    f"Meilisearch task {task.uid} ({task.type}) still {task.status}"
                    f" after {self.task_timeout_s:.0f} s"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    # --- searching ------------------------------------------------------------------------------

    def search(
        self,
        query: SearchQuery,
        place: Place | None,
        *,
        need_codes: list[str],
        now: dt.datetime,
    ) -> SearchResponse:
        """One page of results with the facets of the whole match set."""
        started = time.perf_counter()
        zones = self._time_zones() if query.open_now is not None else []
        expression = mf.query_filter(query, place, need_codes, now, zones)
        text = " ".join(words(query.q or ""))  # query syntax is text, as on postgres
        sort = _sort(place)
        if query.sort == "distance" and place is not None and text:
            found, hits = self._nearest_first(text, expression, sort, query)
        else:
            found = self._search(text, _params(expression, sort, query.page, query.per_page))
            hits = found["hits"]
        distribution = found.get("facetDistribution") or {}
        return SearchResponse(
            items=[_result(hit, place, now) for hit in hits],
            total=found.get("totalHits", 0),
            page=query.page,
            per_page=query.per_page,
            facets=Facets(
                needs=distribution.get("needs", {}),
                languages=distribution.get("languages", {}),
                accessibility=distribution.get("accessibility", {}),
            ),
            crisis=None,
            backend=NAME,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def _search(self, text: str, params: dict[str, Any]) -> dict[str, Any]:
        with _guard():
            return self._index().search(text, params)

    def _nearest_first(
        self, text: str, expression: str | None, sort: list[str], query: SearchQuery
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Text matches in distance order alone: the ids and distances of the whole match set
        (Meilisearch would rank relevance first), ordered here; then the page's documents."""
        params = _params(expression, sort, 1, MAX_TOTAL_HITS)
        found = self._search(text, {**params, "attributesToRetrieve": ["id", "_geo"]})
        ranked = sorted(
            enumerate(found["hits"]), key=lambda p: (p[1].get("_geoDistance", math.inf), p[0])
        )
        start = (query.page - 1) * query.per_page
        ids = [hit["id"] for _, hit in ranked[start : start + query.per_page]]
        if not ids:
            return found, []
        page = self._search("", _params(mf.any_of("id", ids), sort, 1, len(ids), facets=False))
        by_id = {hit["id"]: hit for hit in page["hits"]}
        return found, [by_id[i] for i in ids if i in by_id]

    def _time_zones(self) -> list[str]:
        """The time zones the index holds (for open_now), re-read at most every minute."""
        read_at = self._zones_read_at
        if read_at is None or time.monotonic() - read_at > ZONES_TTL_S:
            found = self._search("", {"limit": 0, "facets": ["timezone"]})
            self._zones = sorted((found.get("facetDistribution") or {}).get("timezone", {}))
            self._zones_read_at = time.monotonic()
        return self._zones


def _sort(place: Place | None) -> list[str]:
    """Tie-breaks after relevance: nearest first, then the most recently verified."""
    recent = ["last_verified_at:desc"]
    return recent if place is None else [mf.geo_point(place.latitude, place.longitude), *recent]


def _params(
    expression: str | None, sort: list[str], page: int, per_page: int, *, facets: bool = True
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "matchingStrategy": "all",  # every word must match, as on postgres
        "sort": sort,
        "page": page,
        "hitsPerPage": per_page,
        "attributesToRetrieve": RETRIEVE,
    }
    if expression:
        params["filter"] = expression
    if facets:
        params["facets"] = FACETS
    return params


def _result(hit: dict[str, Any], place: Place | None, now: dt.datetime) -> SearchResult:
    remote = hit["kind"] == "area"
    meters = hit.get("_geoDistance")
    return SearchResult.model_validate(
        {
            **hit["body"],
            "distance_km": None if remote or meters is None else round(meters / 1000, 3),
            "match": None if place is None else ("serves_area" if remote else "near"),
            "open_now": mf.open_at(hit.get("open_minutes"), hit.get("timezone"), now),
        }
    )
