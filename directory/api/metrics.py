"""``/metrics`` for Prometheus, behind ``DIRECTORY_METRICS_TOKEN`` (unset: a 404).

Recorded as requests go: their latency by route template, method and status class, and the
API's searches by the backend that answered. Read at each scrape: the outbox and the import
runs (from the database, within a second: without it the scrape still answers, saying
``directory_metrics_database_up 0``). The pool gauges follow the pool's own events.

``directory serve --workers N`` runs N processes and a scrape reaches one of them, so there
every figure is kept in prometheus-client's multiprocess mode, in files under the data folder
(``directory.serving``): counters and histograms are summed over every worker this ``serve``
ran, the pool gauges over the live ones. Scrapes are not in the latency histogram: one every
15 seconds would outnumber a quiet site's real requests and say nothing about them.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator

from anyio import fail_after, to_thread
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directory.api.errors import error_response
from directory.api.metrics_figures import Figures, read_once
from directory.api.requestlog import method_of, route_template
from directory.config import Settings
from directory.search.query import SearchResponse

log = logging.getLogger(__name__)
METRICS_PATH = "/metrics"
SEARCH_ROUTES = frozenset({"/v1/search"})  # the API's searches (GET and POST)
SCRAPE_WAIT = 1.0  # seconds a scrape waits for the database's figures
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own variable

REQUESTS = Histogram(
    "directory_http_request_duration_seconds",
    "Time to answer a request, by method, route template and status class (2xx...)",
    ["method", "route", "status"],
)
SEARCHES = Histogram(
    "directory_search_duration_seconds",
    "Time to answer an API search (/v1/search), by the backend that answered and whether it"
    " answered because Meilisearch failed",
    ["backend", "fallback"],
)
POOL_CHECKED_OUT = Gauge(
    "directory_db_pool_checked_out",
    "Database connections in use by the API (every worker's)",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "directory_db_pool_size",
    "Database connections the API's pools keep (every worker's); each may open as many again"
    " for a moment",
    multiprocess_mode="livesum",
)
router = APIRouter()


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The figures in Prometheus's text format, to a caller with the metrics token."""
    refusal = _refusal(request, request.app.state.settings.metrics_token)
    if refusal is not None:
        return refusal
    figures = await _figures(request.app)
    body = await to_thread.run_sync(generate_latest, _registry(figures))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _refusal(request: Request, token: str | None) -> Response | None:
    if token is None:  # closed: the same answer as for any unknown path
        return error_response(404, "NotFound", "Not Found")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return error_response(401, "Unauthorized", "send Authorization: Bearer <metrics token>")


async def _figures(app: FastAPI) -> Figures | None:
    """The database's figures, or None when it did not give them within SCRAPE_WAIT."""
    meili = app.state.backends.meili is not None
    try:
        with fail_after(SCRAPE_WAIT):
            return await to_thread.run_sync(
                read_once, app.state.sessionmaker, meili, SCRAPE_WAIT, abandon_on_cancel=True
            )
    except Exception as error:  # away, frozen, busy or failing: the scrape answers without
        log.warning("a scrape went without the database's figures: %r", error)
        return None


def _registry(figures: Figures | None) -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_Database(figures))
    return registry


class _ThisProcess(Collector):
    """The process's own registry (ours, and the process and Python figures)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class _Database(Collector):
    """The figures read from the database for this scrape."""

    def __init__(self, figures: Figures | None) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "directory_metrics_database_up",
            "1: the database gave this scrape its figures; 0: they are left out",
        )
        up.add_metric([], 0 if self.figures is None else 1)
        yield up
        if self.figures is not None:
            yield from self.figures.metrics()


def answered(request: Request, found: SearchResponse) -> None:
    """Note on the request which backend answered its search, for the search histogram."""
    request.state.search_answer = (found.backend, found.degraded)


class Metrics:
    """ASGI middleware: each request's latency, and each API search's by its backend."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        if route == METRICS_PATH:
            return
        REQUESTS.labels(method_of(scope), route, f"{status // 100}xx").observe(seconds)
        answer = scope.get("state", {}).get("search_answer")
        if route in SEARCH_ROUTES and status < 400 and answer is not None:
            backend, fell_back = answer
            SEARCHES.labels(backend, str(fell_back).lower()).observe(seconds)


def watch_pool(engine: Engine) -> None:
    """Count the engine's pool in the pool gauges (from its checkout and checkin events)."""
    if isinstance(engine.pool, QueuePool):
        POOL_SIZE.inc(engine.pool.size())
    event.listen(engine, "checkout", _checked_out)
    event.listen(engine, "checkin", _checked_in)


def unwatch_pool(engine: Engine) -> None:
    """Stop counting the engine's pool (as it is disposed of)."""
    event.remove(engine, "checkout", _checked_out)
    event.remove(engine, "checkin", _checked_in)
    if isinstance(engine.pool, QueuePool):
        POOL_SIZE.dec(engine.pool.size())


def _checked_out(*_: object) -> None:
    POOL_CHECKED_OUT.inc()


def _checked_in(*_: object) -> None:
    POOL_CHECKED_OUT.dec()


def install_metrics(app: FastAPI, settings: Settings) -> None:
    """Add ``/metrics`` (a 404 without a token) and, with a token, the recording middleware."""
    app.include_router(router)
    if settings.metrics_token is None:
        return
    app.add_middleware(Metrics)
