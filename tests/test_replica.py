"""The read replica (DIRECTORY_DATABASE_REPLICA_URL), against a real streaming replica.

The app runs with real engines (its lifespan) on a database of its own on the test server
(``directory_replica``: requests commit for real), and a hot standby of that server made by
``pg_basebackup`` (tests/replica.py). Pausing the standby's replay makes it diverge from the
primary in a way that only a read on it can see.
"""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Iterator

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.service import create_user
from directory.api.app import create_app
from directory.config import Settings
from directory.db import make_engine, replica_url, unit_of_work
from directory.search import sync
from directory.search.models import UnmetSearch
from tests.api.test_services import listing
from tests.dburl import fresh_database
from tests.redisserver import free_port
from tests.replica import StreamingReplica, streaming_replica
from tests.web.webutil import sign_up

DATABASE = "directory_replica"
TAMPA = "27.9506,-82.4572"


@pytest.fixture(scope="module")
def primary_url(database_url: str) -> Iterator[str]:
    """A fresh database on the test server, migrated, seeded and indexed; dropped at the end."""
    with fresh_database(database_url, DATABASE) as url:
        yield url


@pytest.fixture(scope="module")
def replica(primary_url: str) -> Iterator[StreamingReplica]:
    with streaming_replica(primary_url) as replica:
        replica.catch_up()
        yield replica


@pytest.fixture(scope="module")
def primary(primary_url: str) -> Iterator[Engine]:
    engine = make_engine(primary_url)
    try:
        yield engine
    finally:
        engine.dispose()


def app_client(primary_url: str, replica_url: str) -> TestClient:
    settings = Settings(
        database_url=primary_url, database_replica_url=replica_url, index_sync_interval=0
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture
def client(primary_url: str, replica: StreamingReplica) -> Iterator[TestClient]:
    with app_client(primary_url, replica.url(DATABASE)) as client:
        yield client


def bearer(primary: Engine, role: str) -> dict[str, str]:
    with unit_of_work(sessionmaker(primary)) as session:
        _, token = create_user(
            session, email=f"{role}-{secrets.token_hex(4)}@example.org", role=role
        )
    return {"Authorization": f"Bearer {token}"}


def word() -> str:
    """A word no listing has, for a search that finds one listing."""
    return "zq" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


def publish(client: TestClient, primary: Engine, staff: dict[str, str], name: str) -> str:
    """A published listing named ``name``, written through the API, and indexed."""
    response = client.post("/v1/services", json=listing(name=name), headers=staff)
    assert response.status_code == 201, response.text
    sync.drain(sessionmaker(primary))
    found: str = response.json()["id"]
    return found


def finds(client: TestClient, headers: dict[str, str], q: str, service_id: str) -> bool:
    response = client.get("/v1/search", params={"q": q, "near": TAMPA}, headers=headers)
    assert response.status_code == 200, response.text
    return service_id in {item["service_id"] for item in response.json()["items"]}


def test_the_replica_streams_and_refuses_writes(replica: StreamingReplica) -> None:
    with psycopg.connect(replica.url(DATABASE), autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE nope (id int)")
    with psycopg.connect(replica.primary_url) as conn:
        rows = conn.execute("SELECT state FROM pg_stat_replication").fetchall()
    assert ("streaming",) in rows


def test_a_listing_published_on_the_primary_is_found_on_the_replica(
    client: TestClient, primary: Engine, replica: StreamingReplica
) -> None:
    coordinator, mentor = bearer(primary, "coordinator"), bearer(primary, "mentor")
    q = word()
    service_id = publish(client, primary, coordinator, f"Harbor {q} Warmline")  # a write
    replica.catch_up()
    assert finds(client, mentor, q, service_id)
    response = client.get(f"/v1/services/{service_id}", headers=mentor)
    assert response.status_code == 200 and response.json()["name"] == f"Harbor {q} Warmline"


def test_searches_read_the_replica_and_staff_read_their_own_writes(
    client: TestClient, primary: Engine, replica: StreamingReplica
) -> None:
    coordinator, mentor = bearer(primary, "coordinator"), bearer(primary, "mentor")
    with replica.replay_paused():
        q = word()
        # a write through the API succeeds while the replica replays nothing (and is read-only)
        service_id = publish(client, primary, coordinator, f"Harbor {q} Warmline")
        assert not finds(client, mentor, q, service_id)  # the replica has not replayed it
        assert client.get(f"/v1/services/{service_id}", headers=mentor).status_code == 404
        assert client.get(f"/hsds/services/{service_id}").status_code == 404
        assert service_id not in client.get("/hsds/services?format=ndjson").text  # streamed
        assert client.get(f"/l/{service_id}").status_code == 404
        # the coordinator who wrote it reads the primary: it is there at once
        assert finds(client, coordinator, q, service_id)
        mine = client.get(f"/v1/services/{service_id}", headers=coordinator)
        assert mine.status_code == 200
        renamed = client.patch(
            f"/v1/services/{service_id}",
            json={"name": f"Harbor {q} Drop-in"},
            headers=coordinator | {"If-Match": mine.headers["ETag"]},
        )
        assert renamed.status_code == 200, renamed.text
        again = client.get(f"/v1/services/{service_id}", headers=coordinator)
        assert again.json()["name"] == f"Harbor {q} Drop-in"
    replica.catch_up()
    assert finds(client, mentor, q, service_id)
    assert client.get(f"/hsds/services/{service_id}").status_code == 200
    assert service_id in client.get("/hsds/services?format=ndjson").text
    assert client.get(f"/l/{service_id}").status_code == 200


def test_a_search_on_the_replica_holds_none_of_the_primarys_connections(
    client: TestClient, primary: Engine
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    primary_pool = app.state.sessionmaker.kw["bind"].pool
    checked_out: list[int] = []  # the primary's connections in use, at each read on the replica

    def note(*_: object) -> None:
        checked_out.append(primary_pool.checkedout())

    event.listen(app.state.replica.engine, "before_cursor_execute", note)
    try:
        found = client.get(
            "/v1/search",
            params={"q": "counseling", "near": TAMPA},
            headers=bearer(primary, "mentor"),
        )
    finally:
        event.remove(app.state.replica.engine, "before_cursor_execute", note)
    assert found.status_code == 200, found.text
    assert found.json()["items"]
    assert checked_out and max(checked_out) == 0  # the sign-in's was given back


def test_the_search_page_reads_the_replica_and_staff_the_primary(
    client: TestClient, primary: Engine, replica: StreamingReplica
) -> None:
    coordinator = bearer(primary, "coordinator")
    with replica.replay_paused():
        q = word()
        publish(client, primary, coordinator, f"Harbor {q} Warmline")
        with Session(primary) as session:
            sign_up(client, session, "mentor")
        page = client.get("/search", params={"q": q, "near": TAMPA})
        assert page.status_code == 200 and f"Harbor {q}" not in page.text  # the replica's
        with Session(primary) as session:
            sign_up(client, session, "coordinator")  # the same browser, now staff's
        page = client.get("/search", params={"q": q, "near": TAMPA})
        assert page.status_code == 200 and f"Harbor {q} Warmline" in page.text


def test_a_search_that_finds_nothing_is_counted_on_the_primary(
    client: TestClient, primary: Engine, replica: StreamingReplica
) -> None:
    mentor = bearer(primary, "mentor")
    counted = select(func.coalesce(func.sum(UnmetSearch.searches), 0))
    with Session(primary) as session:
        before = session.scalar(counted)
    with replica.replay_paused():  # the search is served by the replica, its count written
        response = client.get("/v1/search", params={"q": word(), "near": TAMPA}, headers=mentor)
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 0
    with Session(primary) as session:
        assert session.scalar(counted) == (before or 0) + 1


def test_a_failing_search_rolls_back_cleanly(
    client: TestClient, primary: Engine, replica: StreamingReplica
) -> None:
    mentor = bearer(primary, "mentor")
    coordinator = bearer(primary, "coordinator")
    for who in (mentor, coordinator):  # on the replica; on the primary, joined
        bad = client.get("/v1/search", params={"need": "no-such-need"}, headers=who)
        assert bad.status_code == 422
    after = client.get("/v1/search", params={"q": "peer support"}, headers=mentor)
    assert after.status_code == 200 and after.json()["total"] > 0  # the next one works


def test_searches_answer_from_the_primary_while_the_replica_is_down(
    client: TestClient,
    primary: Engine,
    replica: StreamingReplica,
    caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator, mentor = bearer(primary, "coordinator"), bearer(primary, "mentor")
    q = word()
    service_id = publish(client, primary, coordinator, f"Harbor {q} Warmline")
    replica.catch_up()
    assert finds(client, mentor, q, service_id)  # a replica connection is pooled
    assert client.get("/healthz").json()["replica"] == "in use"
    replica.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="directory.db"):
            assert finds(client, mentor, q, service_id)
            assert client.get(f"/v1/services/{service_id}", headers=mentor).status_code == 200
            assert client.get("/v1/crisis-lines?country=US").status_code == 200
        assert "read replica unavailable" in caplog.text
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["replica"] == "down"
    finally:
        replica.start()
    client.app.state.replica.down_until = 0.0  # type: ignore[attr-defined]  # its wait, over
    with replica.replay_paused(), caplog.at_level(logging.WARNING, logger="directory.db"):
        q = word()
        service_id = publish(client, primary, coordinator, f"Harbor {q} Warmline")
        assert not finds(client, mentor, q, service_id)  # the replica's answer again
    assert "read replica answers again" in caplog.text
    assert client.get("/healthz").json()["replica"] == "in use"


def test_a_replica_that_refuses_from_the_start(primary_url: str, primary: Engine) -> None:
    nowhere = f"postgresql://postgres@/{DATABASE}?host=/nonexistent&port={free_port()}"
    mentor = bearer(primary, "mentor")
    with app_client(primary_url, nowhere) as client:
        response = client.get("/v1/search", params={"q": "peer support"}, headers=mentor)
        assert response.status_code == 200 and response.json()["total"] > 0
        assert client.get("/healthz").json()["replica"] == "down"


def test_without_a_replica_health_says_nothing_of_one(primary_url: str) -> None:
    with TestClient(
        create_app(Settings(database_url=primary_url, index_sync_interval=0))
    ) as client:
        assert client.app.state.replica is None  # type: ignore[attr-defined]
        assert "replica" not in client.get("/healthz").json()


def test_the_setting() -> None:
    assert Settings(database_replica_url="").database_replica_url is None
    assert replica_url(Settings()) is None
    given = Settings(database_replica_url="postgresql://app@replica/db", database_password="p@ss")
    assert replica_url(given) == "postgresql://app:p%40ss@replica/db"


def test_only_plain_reads_may_go_to_the_replica() -> None:
    """A locking read, SQL text that writes, or DML goes to the primary (a standby refuses it)."""
    from sqlalchemy import insert, select, text

    from directory.listings.models import Service
    from directory.replica import _reads

    assert _reads(select(Service.id))
    assert _reads(text("SELECT 1"))
    assert not _reads(select(Service.id).with_for_update())
    assert not _reads(text("SELECT 1 FROM service FOR UPDATE"))
    assert not _reads(text("WITH x AS (DELETE FROM service RETURNING id) SELECT * FROM x"))
    assert not _reads(insert(Service))
