"""The shared store (DIRECTORY_SHARED_STORE, a private redis-server started here): two apps, as
two processes or hosts would be, count a partner key's rate together and answer crisis lines
from each other's cache when their database is away; a store that is down costs nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from html import escape

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.keys import create_key
from directory.accounts.models import PartnerKey
from directory.api.app import create_app
from directory.config import Settings
from directory.db import make_engine, make_sessionmaker
from tests.faultproxy import FaultProxy, target_of
from tests.redisserver import free_port, private_redis

SITE = "https://site.example"
SEARCH = {"q": "counseling", "near": "27.9506,-82.4572"}


def new_key(session: Session, rate: str) -> str:
    _, raw = create_key(session, name="Site", origins=[SITE], rate_text=rate)
    session.commit()
    return raw


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with private_redis() as url:
        yield url


def app_client(
    database_url: str, store: str | None, factory: sessionmaker[Session] | None = None
) -> TestClient:
    """An app of its own (its own limiter storage and cache), as another process would have."""
    settings = Settings(
        database_url=database_url, shared_store=store, index_sync_interval=0, db_connect_timeout=2
    )
    if factory is None:
        engine = make_engine(database_url, pre_ping=False, timeouts=settings.api_timeouts)
        factory = make_sessionmaker(engine)
    return TestClient(create_app(settings, session_factory=factory), raise_server_exceptions=False)


def closed_database() -> str:
    """A database URL where nothing listens (a database that is down)."""
    return f"postgresql://nobody@127.0.0.1:{free_port()}/directory"


def test_a_keys_rate_is_counted_across_apps(
    session: Session, session_factory: sessionmaker[Session], database_url: str, redis_url: str
) -> None:
    key = {"X-Api-Key": new_key(session, rate="3/minute")}
    with (
        app_client(database_url, redis_url, session_factory) as first,
        app_client(database_url, redis_url, session_factory) as second,
        app_client(database_url, None, session_factory) as alone,
    ):
        assert first.get("/v1/search", params=SEARCH, headers=key).status_code == 200
        assert second.get("/v1/search", params=SEARCH, headers=key).status_code == 200
        assert first.get("/v1/search", params=SEARCH, headers=key).status_code == 200
        refused = second.get("/v1/search", params=SEARCH, headers=key)
        counted_apart = alone.get("/v1/search", params=SEARCH, headers=key)
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert counted_apart.status_code == 200  # memory://: each process counts on its own


def test_an_app_closes_its_connections_to_the_store_when_it_stops(
    session: Session, session_factory: sessionmaker[Session], database_url: str, redis_url: str
) -> None:
    store = redis.Redis.from_url(redis_url)
    before = len(store.client_list())
    key = {"X-Api-Key": new_key(session, rate="30/minute")}
    with app_client(database_url, redis_url, session_factory) as client:
        assert client.get("/v1/search", params=SEARCH, headers=key).status_code == 200
        assert client.get("/v1/crisis-lines", params={"country": "US"}).status_code == 200
        assert len(store.client_list()) > before  # the limiter's and the cache's
    assert len(store.client_list()) == before
    store.close()


def test_crisis_lines_read_by_one_app_answer_another_whose_database_is_down(
    session_factory: sessionmaker[Session], database_url: str, redis_url: str
) -> None:
    with app_client(database_url, redis_url, session_factory) as up:
        api = up.get("/v1/crisis-lines", params={"country": "US", "language": "es"})
        page = up.get("/crisis")
        english = up.get("/v1/crisis-lines", params={"country": "US", "language": "en"}).json()
    assert api.status_code == 200 and api.json()["lines"]
    assert page.status_code == 200
    down = closed_database()
    with app_client(down, redis_url) as shared, app_client(down, None) as alone:
        kept = shared.get("/v1/crisis-lines", params={"country": "US", "language": "es"})
        kept_page = shared.get("/crisis")
        unknown = shared.get("/v1/crisis-lines", params={"country": "CA"})  # never read
        nothing = alone.get("/v1/crisis-lines", params={"country": "US", "language": "es"})
    assert kept.status_code == 200, kept.text
    assert api.json()["as_of"] is None  # read now
    assert kept.json() == api.json() | {"as_of": kept.json()["as_of"]}
    assert kept.json()["as_of"] is not None  # kept: when it was read
    assert api.headers["cache-control"] == "public, max-age=300"
    assert kept.headers["cache-control"] == "public, max-age=0"  # not kept past the outage
    assert kept_page.status_code == 200
    assert "cannot be reached right now: these lines were saved on" in kept_page.text
    assert "cannot be reached" not in page.text
    shown = [n for n in (escape(line["name"]) for line in english["lines"]) if n in page.text]
    assert shown and all(name in kept_page.text for name in shown)
    assert unknown.status_code == 503 and unknown.headers["Retry-After"] == "1"
    assert nothing.status_code == 503  # no shared store, nothing kept in this process


def test_the_same_app_answers_crisis_lines_while_its_database_is_stopped(
    database_url: str,
) -> None:
    with (
        FaultProxy(target_of(database_url)) as proxy,
        app_client(proxy.url_for(database_url), None) as client,
    ):
        before = client.get("/v1/crisis-lines", params={"postcode": "33602"})
        proxy.mode = "stop"
        during = client.get("/v1/crisis-lines", params={"postcode": "33602"})
        needs = client.get("/v1/needs")
    assert before.status_code == 200 and before.json()["lines"]
    assert during.status_code == 200, during.text
    assert during.json() == before.json() | {"as_of": during.json()["as_of"]}
    assert during.json()["as_of"] is not None
    assert needs.status_code in (401, 503)  # the rest of the API is away, as before


def test_a_store_that_is_down_lets_requests_through_quickly(
    session: Session, session_factory: sessionmaker[Session], database_url: str
) -> None:
    key = {"X-Api-Key": new_key(session, rate="1/minute")}
    store = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    with app_client(database_url, store, session_factory) as client:
        started = time.monotonic()
        answers = [client.get("/v1/search", params=SEARCH, headers=key) for _ in range(3)]
        lines = client.get("/v1/crisis-lines", params={"country": "US"})
        took = time.monotonic() - started
    assert [a.status_code for a in answers] == [200, 200, 200]  # fails open: rates uncounted
    assert lines.status_code == 200 and lines.json()["lines"]  # from the database
    assert took < 5


def test_a_shared_store_that_is_not_redis_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="redis://"):
        Settings(shared_store="memcached://127.0.0.1:11211")


@contextmanager
def serving(database_url: str, store: str) -> Iterator[str]:
    """`directory serve` in a process of its own (as on a host of its own); its address."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    env |= {
        "DIRECTORY_DATABASE_URL": database_url,
        "DIRECTORY_SHARED_STORE": store,
        "DIRECTORY_INDEX_SYNC_INTERVAL": "0",
    }
    command = [sys.executable, "-m", "directory", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            assert server.poll() is None, "directory serve ended"
            with suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=40)


def test_two_serving_processes_count_a_rate_together(
    database_url: str, engine: Engine, redis_url: str
) -> None:
    with Session(engine) as session:
        made, raw = create_key(session, name="Hosts", origins=[SITE], rate_text="3/minute")
        session.commit()
        made_id = made.id
    key = {"X-Api-Key": raw}
    try:
        with serving(database_url, redis_url) as one, serving(database_url, redis_url) as two:
            answers = [
                httpx.get(f"{base}/v1/search", params=SEARCH, headers=key, timeout=10)
                for base in (one, two, one, two)
            ]
    finally:
        with Session(engine) as session:
            session.execute(delete(PartnerKey).where(PartnerKey.id == made_id))
            session.commit()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
