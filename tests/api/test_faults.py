"""A database that is stopped (nothing listens) or frozen (connections accepted, never
answered): the health check, the CORS preflight and the API answer, quickly and never 500.
And one that freezes or stops under a running app (through tests/faultproxy.py) and comes
back: the same app answers 503s meanwhile, then 200s again, with no dead connection left in
its pool."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from directory import db
from directory.api.app import create_app
from directory.config import Settings
from directory.db import make_engine, make_sessionmaker
from tests.faultproxy import FaultProxy, Mode, target_of

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
    # built once per app (1.1-3.8 s on a loaded 2-core machine): the timing below is a stall's
    assert away.get("/openapi.json").status_code == 200
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
    assert shown == ["7s", "2s", "1min"]


def test_only_a_silent_database_is_given_up_on(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement the server cancels fails with its own error and leaves the connection
    usable; many statements sent in one wait (executemany) may together take longer than the
    client's bound on one answer (statement timeout + grace)."""
    monkeypatch.setattr(db, "ANSWER_GRACE", 0.3)
    settings = Settings(database_url=database_url, api_statement_timeout=0.5)
    engine = make_engine(database_url, timeouts=settings.api_timeouts)
    try:
        with engine.connect() as connection:
            with pytest.raises(OperationalError, match="canceling statement due to statement"):
                connection.exec_driver_sql("SELECT pg_sleep(1)")
            connection.rollback()
            cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            _, took = timed(lambda: cursor.executemany("SELECT pg_sleep(%s)", [(0.4,)] * 3))
            assert took > 0.5 + 0.3
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()


# --- a database that freezes or stops, then comes back: the same app recovers -------------------

DATA = "/hsds/services?per_page=1"  # public, and reads the database (crisis lines: cached)
STATEMENT_TIMEOUT = 2  # the API's, in seconds: short, so a frozen statement is given up soon


@dataclass
class Proxied:
    """An app whose database connections go through a fault proxy, and threads to call it
    from (a call that hangs fails its test; the proxy passes again before the threads end)."""

    proxy: FaultProxy
    client: TestClient
    engine: Engine
    threads: ThreadPoolExecutor

    def get(self, path: str, within: float) -> tuple[Response, float]:
        """The answer to a GET and how long it took; the test fails past ``within`` seconds."""
        future = self.threads.submit(timed, lambda: self.client.get(path))
        try:
            return future.result(timeout=within)
        except FutureTimeout:
            pytest.fail(f"GET {path}: no answer within {within} s")

    def until_ok(self, path: str, within: float) -> tuple[int, float]:
        """GET until a 200 (at most ``within`` seconds); the last status and the time taken."""
        started = time.monotonic()
        while True:
            answer, _ = self.get(path, within)
            took = time.monotonic() - started
            if answer.status_code == 200 or took > within:
                return answer.status_code, took
            time.sleep(0.1)


@pytest.fixture
def proxied(database_url: str, engine: Engine) -> Iterator[Proxied]:
    """The API's timeouts from its settings, a pool of two (both open: a busy app's pool)."""
    with FaultProxy(target_of(database_url)) as proxy, ThreadPoolExecutor(4) as threads:
        url = proxy.url_for(database_url)
        settings = Settings(
            database_url=url,
            index_sync_interval=0,
            db_connect_timeout=2,
            api_statement_timeout=STATEMENT_TIMEOUT,
        )
        small = make_engine(
            url,
            pre_ping=False,
            timeouts=settings.api_timeouts,
            pool_size=2,
            max_overflow=0,
            pool_timeout=2,
        )
        app = create_app(settings, session_factory=make_sessionmaker(small))
        with TestClient(app, raise_server_exceptions=False) as client:
            try:
                yield Proxied(proxy, client, small, threads)
            finally:
                proxy.mode = "pass"  # what still waits gets its answer, and the threads end
                threads.shutdown(wait=True)
        small.dispose()


def fill(engine: Engine) -> None:
    """Open every connection of the pool and return them to it, idle."""
    with engine.connect() as a, engine.connect() as b:
        a.exec_driver_sql("SELECT 1")
        b.exec_driver_sql("SELECT 1")


@pytest.mark.parametrize("fault", ["freeze", "stop"])
def test_the_same_app_recovers_when_the_database_comes_back(proxied: Proxied, fault: Mode) -> None:
    assert proxied.until_ok("/healthz", within=10)[0] == 200
    assert proxied.get(DATA, within=10)[0].status_code == 200
    fill(proxied.engine)

    proxied.proxy.mode = fault
    health, health_took = proxied.get("/healthz", within=10)
    data, data_took = proxied.get(DATA, within=20)
    again, again_took = proxied.get(DATA, within=20)
    print(
        f"{fault}: /healthz {health.status_code} in {health_took:.2f} s, data"
        f" {data.status_code} in {data_took:.2f} s, then {again.status_code} in {again_took:.2f} s"
    )
    assert health.status_code == 503 and health_took < 1.5
    for answer, took in ((data, data_took), (again, again_took)):
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1"
        assert took < STATEMENT_TIMEOUT + 5  # the statement's wait (or a connect's) given up

    proxied.proxy.mode = "pass"
    healthy, back_took = proxied.until_ok("/healthz", within=15)
    served, served_took = proxied.until_ok(DATA, within=15)
    print(f"{fault}: back: /healthz 200 after {back_took:.2f} s, data after {served_took:.2f} s")
    assert healthy == 200 and back_took < 5
    assert served == 200 and served_took < 5
    fill(proxied.engine)  # both pooled connections (no dead one left in the pool) answer
    assert [proxied.get(DATA, within=10)[0].status_code for _ in range(4)] == [200] * 4


def test_the_consoles_imports_have_an_engine_of_their_own(database_url: str) -> None:
    """The API's statements are cut short (a frozen database costs a request seconds); the
    console's imports, which run for minutes, have the command line's limits instead."""
    settings = Settings(database_url=database_url, index_sync_interval=0)
    with TestClient(create_app(settings)) as client:
        state = client.app.state  # type: ignore[attr-defined]
        with state.sessionmaker() as api, state.import_sessionmaker() as imports:
            shown = [
                session.scalar(text(f"SHOW {name}"))
                for session in (api, imports)
                for name in ("statement_timeout", "idle_in_transaction_session_timeout")
            ]
    assert shown == ["15s", "1min", "0", "30min"]
