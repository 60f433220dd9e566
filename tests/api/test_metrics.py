"""``/metrics``: closed without a token, refused with a wrong one; request latency by route
template; searches by the backend that answered; the database's figures read at the scrape
(and left out, quickly, when the database is away); two workers' figures summed."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from signal import SIGKILL

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.api.app import create_app
from directory.config import Settings
from directory.db import make_engine, make_sessionmaker
from directory.ingest.models import ImportRun
from directory.listings.models import SearchOutbox
from tests.conftest import bearer

TOKEN = "metrics-token-for-the-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LATENCY = "directory_http_request_duration_seconds_count"
SEARCHES = "directory_search_duration_seconds_count"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    return parse(client.get("/metrics", headers=AUTH))


def scrape_server(base: str) -> Samples:
    return parse(httpx.get(f"{base}/metrics", headers=AUTH, timeout=10))


def parse(answer: httpx.Response) -> Samples:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def routes(samples: Samples) -> set[str]:
    return {dict(labels)["route"] for name, labels in samples if name == LATENCY}


@pytest.fixture
def scraped(session_factory: sessionmaker[Session], database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, metrics_token=TOKEN, index_sync_interval=0)
    app = create_app(settings, session_factory=session_factory)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_without_a_token_metrics_is_an_unknown_path(client: TestClient) -> None:
    answer = client.get("/metrics", headers=AUTH)
    assert answer.status_code == 404
    assert answer.json() == {"error": "NotFound", "detail": "Not Found"}
    assert answer.json() == client.get("/v1/no-such-thing").json()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong", "not-bearer"],
)
def test_a_scrape_without_the_token_is_a_401(scraped: TestClient, headers: dict[str, str]) -> None:
    answer = scraped.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "Unauthorized"
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert "directory_" not in answer.text


def test_requests_are_counted_by_route_template_never_by_path(scraped: TestClient) -> None:
    before = scrape(scraped)
    ids = [str(uuid.uuid4()) for _ in range(2)]
    for service_id in ids:
        assert scraped.get(f"/v1/services/{service_id}").status_code == 401
    for path in ("/no-such-page-one", "/v1/no-such-thing?q=two"):
        assert scraped.get(path).status_code == 404
    after = scrape(scraped)
    template = {"method": "GET", "route": "/v1/services/{service_id}", "status": "4xx"}
    assert value(after, LATENCY, **template) - value(before, LATENCY, **template) == 2
    unmatched = {"method": "GET", "route": "unmatched", "status": "4xx"}
    assert value(after, LATENCY, **unmatched) - value(before, LATENCY, **unmatched) == 2
    labels = routes(after)
    assert not any(i in label for i in ids for label in labels)
    assert not any("no-such" in label for label in labels)
    assert "/metrics" not in labels  # scrapes are not in the histogram


def test_metrics_is_not_in_the_openapi_document(scraped: TestClient) -> None:
    assert "/metrics" not in scraped.get("/openapi.json").json()["paths"]


def _meili_answering(httpserver: HTTPServer) -> str:
    answer = {"hits": [], "totalHits": 0, "facetDistribution": {}}
    httpserver.expect_request("/indexes/services/search").respond_with_json(answer)
    return httpserver.url_for("/").rstrip("/")


@pytest.mark.parametrize(
    ("configured", "backend", "fallback"),
    [
        ("postgres", "postgres", "false"),
        ("up", "meilisearch", "false"),
        ("down", "postgres", "true"),
    ],
)
def test_searches_are_timed_by_the_backend_that_answered(
    session_factory: sessionmaker[Session],
    session: Session,
    httpserver: HTTPServer,
    configured: str,
    backend: str,
    fallback: str,
) -> None:
    meili = {"up": lambda: _meili_answering(httpserver), "down": lambda: CLOSED}.get(configured)
    settings = Settings(
        metrics_token=TOKEN,
        search_backend="postgres" if meili is None else "meilisearch",
        meili_url=meili() if meili else CLOSED,
    )
    headers = bearer(session, "mentor")
    labels = {"backend": backend, "fallback": fallback}
    with TestClient(create_app(settings, session_factory=session_factory)) as client:
        before = value(scrape(client), SEARCHES, **labels)
        found = client.get("/v1/search", params={"q": "counseling"}, headers=headers)
        assert found.status_code == 200, found.text
        assert found.json()["degraded"] is (fallback == "true")
        assert client.get("/v1/search", params={"per_page": 0}, headers=headers).status_code == 422
        assert value(scrape(client), SEARCHES, **labels) - before == 1  # not the refused one
        # a second search: while Meilisearch cools down it is not even asked
        assert client.get("/v1/search", params={"q": "grief"}, headers=headers).status_code == 200
        assert value(scrape(client), SEARCHES, **labels) - before == 2


def test_the_outbox_and_import_runs_are_read_from_the_database(
    scraped: TestClient, session: Session
) -> None:
    before = scrape(scraped)
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    session.add(
        SearchOutbox(
            entity="service", entity_id=uuid.uuid4(), operation="upsert", created_at=an_hour_ago
        )
    )
    session.add(
        ImportRun(file_name="x.csv", file_bytes=1, format="csv", source="t", status="failed")
    )
    session.flush()
    after = scrape(scraped)
    assert value(after, "directory_metrics_database_up") == 1
    pending = "directory_outbox_pending"
    assert value(after, pending, index="postgres") - value(before, pending, index="postgres") == 1
    assert value(after, "directory_outbox_oldest_pending_seconds", index="postgres") >= 3600
    runs = "directory_import_runs"
    assert value(after, runs, status="failed") - value(before, runs, status="failed") == 1
    assert ("directory_outbox_pending", frozenset({("index", "meilisearch")})) not in after


def test_the_pool_gauges_follow_the_apis_own_engine(database_url: str, engine: Engine) -> None:
    settings = Settings(database_url=database_url, metrics_token=TOKEN, index_sync_interval=0)
    app = create_app(settings)
    with TestClient(app) as client:  # the app makes its engine (a pool of ten) as it starts
        idle = scrape(client)
        with app.state.sessionmaker() as session:
            session.connection()
            busy = scrape(client)
    assert value(idle, "directory_db_pool_size") >= 10
    out = "directory_db_pool_checked_out"
    assert value(busy, out) - value(idle, out) == 1
    assert value(busy, "directory_metrics_database_up") == 1


@pytest.fixture(params=["stopped", "frozen"])
def away(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """An app whose database refuses connections, or accepts them and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        url = f"postgresql://nobody@127.0.0.1:{listener.getsockname()[1]}/directory"
        if request.param == "frozen":
            listener.listen(64)
        else:
            listener.close()
        # Connections and the pool wait 10 s, so a scrape that waited for them would show.
        settings = Settings(database_url=url, metrics_token=TOKEN, db_connect_timeout=10)
        engine = make_engine(url, pre_ping=False, timeouts=settings.api_timeouts, pool_timeout=10)
        app = create_app(settings, session_factory=make_sessionmaker(engine))
        with TestClient(app) as client:
            yield client
        engine.dispose()


def test_a_scrape_answers_within_a_second_without_the_database(away: TestClient) -> None:
    for _ in range(2):  # the second while the first one's read may still be waiting
        started = time.monotonic()
        samples = scrape(away)
        assert time.monotonic() - started < 3  # a second's wait, on a loaded 2-core machine
        assert value(samples, "directory_metrics_database_up") == 0
        assert not any(name.startswith("directory_outbox") for name, _ in samples)
        assert not any(name.startswith("directory_import_runs") for name, _ in samples)
        assert "directory_db_pool_size" in {name for name, _ in samples}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT spreads connections on Linux")
def test_two_workers_figures_are_summed_whichever_answers(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    port, shared = _free_port(), tmp_path / "metrics"
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIRECTORY_", "PROMETHEUS"))}
    env |= {"DIRECTORY_DATABASE_URL": database_url, "DIRECTORY_INDEX_SYNC_INTERVAL": "0"}
    env |= {"DIRECTORY_METRICS_TOKEN": TOKEN, "DIRECTORY_DATA_DIR": str(tmp_path)}
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"an earlier run's file")  # emptied at the start
    command = [sys.executable, "-m", "directory", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    healthz = {"method": "GET", "route": "/healthz", "status": "2xx"}
    try:
        _wait_for_pools(base, server, 20)  # two workers, a pool of ten each
        started = time.monotonic()  # both workers started before this
        before = value(scrape_server(base), LATENCY, **healthz)
        for _ in range(30):  # fresh connections: the kernel spreads them over both workers
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        assert len(list(shared.glob("histogram_*.db"))) == 2  # both answered some
        for _ in range(6):  # each scrape reaches one worker or the other: all say the same
            assert value(scrape_server(base), LATENCY, **healthz) - before == 30
        time.sleep(max(0.0, started + 6 - time.monotonic()))  # a death now is not a bad start
        dead = _pids(shared, "gauge_livesum_")[0]
        os.kill(dead, SIGKILL)
        for _ in range(300):  # replaced, and its live gauges no longer counted
            alive = _pids(shared, "gauge_livesum_")
            if dead not in alive and len(alive) == 2:
                break
            time.sleep(0.1)
        assert dead not in alive and len(alive) == 2
        _wait_for_pools(base, server, 20)  # the successor's pool counted, not the dead one's
        assert value(scrape_server(base), LATENCY, **healthz) - before == 30  # its requests stay
    finally:
        server.terminate()
        server.communicate(timeout=40)


def _pids(folder: Path, prefix: str) -> list[int]:
    """The processes that wrote files of this kind (``gauge_livesum_<pid>.db``)."""
    return [int(path.stem.removeprefix(prefix)) for path in folder.glob(f"{prefix}*.db")]


def _wait_for_pools(base: str, server: subprocess.Popen[bytes], size: int) -> None:
    """Until the live workers' pools add up to ``size`` (each counts its pool as it starts)."""
    for _ in range(150):
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        try:
            if value(scrape_server(base), "directory_db_pool_size") == size:
                return
        except (httpx.HTTPError, AssertionError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the workers' pools never added up to {size}")
