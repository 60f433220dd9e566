"""A database that is stopped (nothing listens) or frozen (connections accepted, never
answered): the health check, the CORS preflight and the API answer, quickly and never 500."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from directory.api.app import create_app
from directory.config import Settings
from directory.db import make_engine, make_sessionmaker

T = TypeVar("T")
PREFLIGHT = {"Origin": "https://partner.example", "Access-Control-Request-Method": "GET"}


def _client(url: str) -> TestClient:
    settings = Settings(database_url=url, index_sync_interval=0, db_connect_timeout=2)
    engine = make_engine(url, pre_ping=False, timeouts=settings.api_timeouts, pool_timeout=2)
    return TestClient(create_app(settings, session_factory=make_sessionmaker(engine)))


@pytest.fixture(params=["stopped", "frozen"])
def away(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        if request.param == "frozen":
            listener.listen(64)  # the kernel accepts; no one ever answers
        else:
            listener.close()  # connection refused
        with _client(f"postgresql://nobody@127.0.0.1:{port}/directory") as client:
            yield client


def timed(call: Callable[[], T]) -> tuple[T, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_healthz_answers_503_within_a_second(away: TestClient) -> None:
    for _ in range(2):  # the second while the first probe may still be waiting
        answer, took = timed(lambda: away.get("/healthz"))
        assert answer.status_code == 503
        assert answer.json()["status"] == "unavailable"
        assert took < 1.5


def test_a_preflight_is_refused_quickly_and_stalls_nothing(away: TestClient) -> None:
    with ThreadPoolExecutor(2) as pool:
        preflight = pool.submit(timed, lambda: away.options("/v1/search", headers=PREFLIGHT))
        time.sleep(0.1)
        docs, docs_took = timed(lambda: away.get("/openapi.json"))
        refused, took = preflight.result()
    assert refused.status_code == 403 and took < 1.5
    assert docs.status_code == 200 and docs_took < 1


def test_a_request_is_a_503_with_retry_after(away: TestClient) -> None:
    headers = {"Authorization": "Bearer whatever"}
    answer, took = timed(lambda: away.get("/v1/needs", headers=headers))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert took < 4  # libpq's connect timeout (2 s at least)


def test_connections_carry_the_apis_timeouts(database_url: str) -> None:
    settings = Settings(database_url=database_url, api_statement_timeout=7, api_lock_timeout=2)
    engine: Engine = make_engine(database_url, timeouts=settings.api_timeouts)
    try:
        with engine.connect() as connection:
            shown = [
                connection.scalar(text(f"SHOW {name}"))
                for name in (
                    "statement_timeout",
                    "lock_timeout",
                    "idle_in_transaction_session_timeout",
                )
            ]
    finally:
        engine.dispose()
    assert shown == ["7s", "2s", "5min"]
