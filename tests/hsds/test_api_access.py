"""Who may call the HSDS API (DIRECTORY_HSDS_ACCESS) and which pages may read it (CORS)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from limits import parse
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.keys import create_key
from directory.api.app import create_app
from directory.api.routes.hsds import NDJSON_RATE, OPEN_RATE
from directory.config import Settings
from directory.hsds import answers

SITE = "https://partner.example"
PREFLIGHT = {"Origin": SITE, "Access-Control-Request-Method": "GET"}


def _client(session_factory: sessionmaker[Session], database_url: str, access: str) -> TestClient:
    settings = Settings(database_url=database_url, hsds_access=access)
    return TestClient(create_app(settings, session_factory=session_factory))


@pytest.fixture
def keyed(session_factory: sessionmaker[Session], database_url: str) -> Iterator[TestClient]:
    with _client(session_factory, database_url, "key") as client:
        yield client


def test_open_answers_any_origin_without_credentials(client: TestClient) -> None:
    response = client.get("/hsds/services", headers={"Origin": "https://anyone.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    preflight = client.options("/hsds/services", headers=PREFLIGHT)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    assert client.get("/hsds/taxonomies").headers["cache-control"].startswith("public")


def test_open_is_rate_limited_per_client(client: TestClient) -> None:
    limiter = client.app.state.limiter  # type: ignore[attr-defined]
    limiter.storage.reset()
    for _ in range(int(OPEN_RATE.split("/")[0])):
        limiter.hit(parse(OPEN_RATE), "hsds", "testclient")  # TestClient's address
    refused = client.get("/hsds/services")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"] == "TooManyRequests"
    limiter.storage.reset()


def test_key_mode_wants_a_partner_key_from_its_origins(keyed: TestClient, session: Session) -> None:
    _, raw = create_key(session, name="HSDS", origins=[SITE], rate_text="100/minute")
    session.commit()
    assert keyed.get("/hsds/services").status_code == 401
    assert keyed.get("/hsds/services", headers={"X-Api-Key": "nope"}).status_code == 401
    theirs = keyed.get("/hsds/services", headers={"X-Api-Key": raw, "Origin": "https://x.example"})
    assert theirs.status_code == 403
    assert "access-control-allow-origin" not in theirs.headers
    mine = keyed.get("/hsds/services", headers={"X-Api-Key": raw, "Origin": SITE})
    assert mine.status_code == 200 and mine.json()["total_items"] > 0
    assert mine.headers["access-control-allow-origin"] == SITE
    assert mine.headers["cache-control"].startswith("private")
    assert keyed.get("/hsds/taxonomies", params={"key": raw}).status_code == 200
    preflight = keyed.options("/hsds/services", params={"key": raw}, headers=PREFLIGHT)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SITE
    # what the API is stays readable, and says how to sign in
    assert keyed.get("/hsds/").status_code == 200
    about = keyed.get("/hsds/", headers={"Origin": "https://anyone.example"})
    assert about.headers["access-control-allow-origin"] == "*"
    served = keyed.get("/hsds/openapi.json").json()
    assert "partnerKey" in served["components"]["securitySchemes"]


def test_off_is_a_404_everywhere(session_factory: sessionmaker[Session], database_url: str) -> None:
    with _client(session_factory, database_url, "off") as client:
        for path in ("/hsds/", "/hsds/openapi.json", "/hsds/services", "/hsds/taxonomies"):
            response = client.get(path)
            assert response.status_code == 404 and response.json()["error"] == "NotFound"


def test_whole_dumps_have_a_rate_of_their_own(client: TestClient) -> None:
    limiter = client.app.state.limiter  # type: ignore[attr-defined]
    limiter.storage.reset()
    for _ in range(int(NDJSON_RATE.split("/")[0])):
        limiter.hit(parse(NDJSON_RATE), "hsds-ndjson", "testclient")
    refused = client.get("/hsds/taxonomies", params={"format": "ndjson"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert client.get("/hsds/taxonomies").status_code == 200  # pages still answer
    limiter.storage.reset()


def test_a_dump_holds_no_connection_while_the_client_reads(
    session_factory: sessionmaker[Session],
) -> None:
    """Each batch is read in a session closed before its documents go out: a client reading
    slowly (or not at all) keeps no pooled connection from everyone else."""
    open_now = 0

    @contextmanager
    def counted() -> Iterator[Session]:
        nonlocal open_now
        open_now += 1
        try:
            with session_factory() as session:
                yield session
        finally:
            open_now -= 1

    ids = [uuid.uuid4() for _ in range(answers.BATCH + 1)]
    docs = answers.every_of(counted, ids, lambda _, chunk: [{"id": str(i)} for i in chunk])
    assert next(docs) == {"id": str(ids[0])} and open_now == 0
    assert len(list(docs)) == answers.BATCH and open_now == 0
    pages = answers.every_page(counted, lambda _, paging: {"contents": [{"page": paging.page}]})
    assert next(pages) == {"page": 1} and open_now == 0
