"""The Meilisearch backend: the same documents and the same search contract as ``postgres``.

It talks to Meilisearch (v1.14 API) through the official client. Every write is a task that is
waited for, and only a ``succeeded`` task counts, so the outbox marks rows done only once the
index holds them. Filters come from :mod:`directory.search.meili_filters` (escaped values only),
documents, query words and results from :mod:`directory.search.meili_documents`.

Ranking: ``sort`` is the first ranking rule (Meilisearch ranks by bucket sort: each rule only
breaks the ties of the rules before it), and a search sends ``sort`` only to sort by distance
(``_geoPoint``), so "distance" is nearest first, relevance breaking ties, as on postgres; without
a ``sort`` parameter the rule does nothing. "relevance" is the relevance rules: ``words`` (how many
of the query's words a listing has: a question need not match in full; ``matchingStrategy:
frequency`` first drops the words no listing has, then the commonest, so a word that matches
nothing never empties the results, as on postgres, where any word may match), ``typo``,
``proximity``, ``attribute`` (needs and their keywords first, then name, description, place: a
need named in the words weighs most), ``exactness``; then a site before an area document, then
the most recently verified. Unlike postgres it has no distance bands (distance never reorders a
relevance ranking here), and ``distance_km`` is then computed from the hit's ``_geo``
(haversine), as Meilisearch returns ``_geoDistance`` only when it sorts by ``_geoPoint``.
Synonyms (English and Spanish) come from the vocabulary (``synonyms`` setting).

One result per listing: ``distinct`` on ``service_id`` keeps a listing's best document (a site
before its area document). Ranked by relevance near a place, a listing with several sites may
come back with any of its sites in range: one more request (only then) sorts those listings'
sites by distance to show each one's nearest. Facets then count one document per listing.

Limits: ``total`` counts at most ``MAX_TOTAL_HITS`` (10,000) matches, and Meilisearch only uses
the first 10 words of a query (stop and filler words are left out before, and each word is sent
once).

Availability: searches use a short timeout (``search_timeout``), writes a longer one. When a
search finds Meilisearch unavailable, further searches raise :class:`SearchUnavailable` at once,
without a request, for ``cooldown`` seconds, so the fallback to postgres costs nothing; the first
search after that tries again. (The official client sends each request with ``requests.get`` and
the like, so it cannot share one ``requests.Session``.)
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
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
from directory.search.intent import intent
from directory.search.meili_documents import (
    SEARCHABLE,
    Encoder,
    index_stop_words,
    meili_document,
    query_words,
    result,
    synonyms,
)
from directory.search.places import Place
from directory.search.query import Facets, SearchQuery, SearchResponse

NAME = "meilisearch"
FACETS = ["needs", "languages", "accessibility"]
# _geo: for distance_km; service_id and sites: to find a listing's nearest site
RETRIEVE = ["id", "service_id", "kind", "sites", "body", "open_minutes", "timezone", "_geo"]
MAX_TOTAL_HITS = 10_000  # deeper than anyone pages; ``total`` counts up to this many
ZONES_TTL_S = 60.0  # how long the list of time zones in the index is trusted (open_now)
# "sort" first: a search that sends ``sort`` (by distance) is ordered by it before relevance.
RANKING_RULES = [
    *("sort", "words", "typo", "proximity", "attribute", "exactness"),
    "is_site:desc",  # a site before an area document (postgres: distance before none)
    "last_verified_at:desc",  # the last tie-break, as on postgres
]
MATCHING = "frequency"  # drop the words no listing has, then the commonest, to find more
DISTINCT = "service_id"  # one result per listing
log = logging.getLogger(__name__)


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


def settings() -> dict[str, Any]:
    """The index settings; the same body every time, so applying them again changes nothing."""
    return {
        "searchableAttributes": SEARCHABLE,  # in weight order
        "filterableAttributes": [
            *("id", "service_id", "kind", "needs", "languages", "accessibility", "costs"),
            *("regions", "minimum_age", "maximum_age", "open_quarters", "timezone", "_geo"),
            "capacity_status",
        ],
        "sortableAttributes": ["_geo", "last_verified_at"],
        "rankingRules": RANKING_RULES,
        "synonyms": synonyms(),
        "stopWords": index_stop_words(),
        "typoTolerance": {"enabled": True},
        "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
        "faceting": {"maxValuesPerFacet": 500},
    }


def _client(url: str, key: str | None, timeout: float) -> meilisearch.Client:
    # requests takes float seconds; the client annotates its timeout as int
    return meilisearch.Client(url, key, timeout=timeout)  # type: ignore[arg-type]


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
        search_timeout: float = 2.0,
        cooldown: float = 30.0,
        client: meilisearch.Client | None = None,
    ) -> None:
        """``timeout`` (seconds) for writes, ``search_timeout`` for searches; after a search found
        Meilisearch unavailable, searches fail at once for ``cooldown`` seconds. A ``client``
        given is used for both."""
        self.client = client or _client(url, key, timeout)
        self.search_client = client or _client(url, key, search_timeout)
        self.uid = index
        self.cooldown = cooldown
        self._down_until: float | None = None  # searches fail at once until then
        self._zones: list[str] = []
        self._zones_read_at: float | None = None

    def _index(self, uid: str | None = None) -> Index:
        return self.client.index(uid or self.uid)

    def health(self) -> bool:
        """Whether Meilisearch answers ``GET /health`` with ``available``."""
        try:
            return self.search_client.health().get("status") == "available"
        except (MeilisearchError, requests.RequestException):
            return False

    # --- writing --------------------------------------------------------------------------------

    def ensure_settings(self) -> None:
        """Create the index when missing and apply the settings (idempotent)."""
        self._ensure_index(self.uid)
        self._apply_settings(self.uid)

    def recover(self) -> bool:
        """Apply the settings again, creating the index when it is missing (after a failed batch:
        a lost index or lost settings heal without a restart); whether that succeeded."""
        try:
            self.ensure_settings()
        except SearchBackendError as error:
            log.warning("Meilisearch settings not re-applied: %s", error)
            return False
        self._down_until = None  # it answers again
        self._zones_read_at = None
        return True

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
        return self._index(uid).add_documents(payload, primary_key="id", serializer=Encoder)

    def _ensure_index(self, uid: str) -> None:
        with _guard():
            try:
                self.client.get_raw_index(uid)
                return
            except MeilisearchApiError as error:
                if error.code != "index_not_found":
                    raise
        self._create_index(uid, tolerate={"index_already_exists"})  # created meanwhile: fine

    def _create_index(self, uid: str, *, tolerate: Collection[str] = ()) -> None:
        with _guard():
            info = self.client.create_index(uid, {"primaryKey": "id"})
        self._wait(info, tolerate=tolerate)

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
        """One page of results with the facets of the whole match set, in one request (and one
        more, at most every minute, for the time zones of ``open_now``)."""
        started = time.perf_counter()
        self._check_up()
        try:
            found = self._find(query, place, need_codes, now)
        except SearchUnavailable:
            self._down_until = time.monotonic() + self.cooldown
            raise
        self._down_until = None
        distribution = found.get("facetDistribution") or {}
        return SearchResponse(
            items=[result(hit, place, now) for hit in found.get("hits", [])],
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

    def _check_up(self) -> None:
        """Raise at once while a recent search found Meilisearch unavailable."""
        down_until = self._down_until
        if down_until is not None and time.monotonic() < down_until:
            wait = down_until - time.monotonic()
            raise SearchUnavailable(f"Meilisearch was unavailable; not retried for {wait:.0f} s")

    def _find(
        self, query: SearchQuery, place: Place | None, need_codes: list[str], now: dt.datetime
    ) -> dict[str, Any]:
        """Meilisearch's answer to a search (nothing, without asking, for only stop words)."""
        terms = query_words(query.q)
        if not terms and intent(query.q).worded:  # postgres: only stop words match nothing
            return {"hits": [], "totalHits": 0}
        zones = self._time_zones() if query.open_now is not None else []
        expression = mf.query_filter(query, place, need_codes, now, zones)
        sort = _sort(query, place)
        found = self._search(" ".join(terms), _params(expression, sort, query.page, query.per_page))
        if place is not None and sort is None and expression is not None:
            found["hits"] = self._nearest_sites(" ".join(terms), expression, place, found)
        return found

    def _nearest_sites(
        self, text: str, expression: str, place: Place, found: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The hits, each listing with several sites shown at its nearest matching site in range
        (one more request, only when the page has such a listing)."""
        hits: list[dict[str, Any]] = found.get("hits") or []
        several = [
            h["service_id"] for h in hits if h.get("kind") == "site" and h.get("sites", 0) > 1
        ]
        if not several:
            return hits
        ids = list(dict.fromkeys(several))
        narrowed = mf.both(expression, mf.equals("kind", "site"), mf.any_of("service_id", ids))
        sort = [mf.geo_point(place.latitude, place.longitude)]
        nearest = {
            hit["service_id"]: hit
            for hit in self._search(text, _params(narrowed, sort, 1, len(ids))).get("hits") or []
        }
        return [nearest.get(h["service_id"], h) if h.get("kind") == "site" else h for h in hits]

    def _search(self, text: str, params: dict[str, Any]) -> dict[str, Any]:
        with _guard():
            return self.search_client.index(self.uid).search(text, params)

    def _time_zones(self) -> list[str]:
        """The time zones the index holds (for open_now), re-read at most every minute."""
        read_at = self._zones_read_at
        if read_at is None or time.monotonic() - read_at > ZONES_TTL_S:
            found = self._search("", {"limit": 0, "facets": ["timezone"]})
            self._zones = sorted((found.get("facetDistribution") or {}).get("timezone", {}))
            self._zones_read_at = time.monotonic()
        return self._zones


def _sort(query: SearchQuery, place: Place | None) -> list[str] | None:
    """Nearest first when sorting by distance from a place; else none (relevance)."""
    if query.sort == "distance" and place is not None:
        return [mf.geo_point(place.latitude, place.longitude)]
    return None


def _params(
    expression: str | None, sort: list[str] | None, page: int, per_page: int
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "matchingStrategy": MATCHING,
        "distinct": DISTINCT,
        "page": page,
        "hitsPerPage": per_page,
        "attributesToRetrieve": RETRIEVE,
        "facets": FACETS,
    }
    if sort:
        params["sort"] = sort
    if expression:
        params["filter"] = expression
    return params
