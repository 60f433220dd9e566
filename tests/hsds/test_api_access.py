"""Who may call the HSDS API (DIRECTORY_HSDS_ACCESS) and which pages may read it (CORS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from limits import parse
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.keys import create_key
from directory.api.app import create_app
from directory.api.routes.hsds import OPEN_RATE
from directory.config import Settings

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
    served = keyed.get("/hsds/openapi.json").json()
    assert "partnerKey" in served["components"]["securitySchemes"]


def test_off_is_a_404_everywhere(session_factory: sessionmaker[Session], database_url: str) -> None:
    with _client(session_factory, database_url, "off") as client:
        for path in ("/hsds/", "/hsds/openapi.json", "/hsds/services", "/hsds/taxonomies"):
            response = client.get(path)
            assert response.status_code == 404 and response.json()["error"] == "NotFound"
