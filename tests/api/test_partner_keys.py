"""Partner keys: search and published reads only, their own origins (CORS), their rate (429)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from directory.accounts.keys import create_key, revoke_key
from tests.api.test_services import create

SITE = "https://site.example"
SEARCH = {"q": "counseling", "near": "27.9506,-82.4572"}


def new_key(session: Session, rate: str = "100/minute", origins: list[str] | None = None) -> str:
    _, raw = create_key(session, name="Site", origins=origins or [SITE], rate_text=rate)
    session.commit()
    return raw


def test_a_key_searches_by_header_or_by_query(client: TestClient, session: Session) -> None:
    key = new_key(session)
    by_header = client.get("/v1/search", params=SEARCH, headers={"X-Api-Key": key})
    assert by_header.status_code == 200, by_header.text
    by_query = client.get("/v1/search", params={**SEARCH, "key": key})
    assert by_query.status_code == 200, by_query.text
    assert by_query.json()["total"] == by_header.json()["total"] > 0
    posted = client.post("/v1/search", json={"q": "counseling"}, headers={"X-Api-Key": key})
    assert posted.status_code == 200


def test_a_key_reads_published_listings_only_and_never_writes(
    client: TestClient, session: Session, coordinator: dict[str, str]
) -> None:
    key = {"X-Api-Key": new_key(session)}
    published = create(client, coordinator)
    draft = create(client, coordinator, curation_status="draft")
    assert client.get(f"/v1/services/{published['id']}", headers=key).status_code == 200
    assert client.get(f"/v1/services/{draft['id']}", headers=key).status_code == 404
    write = client.post("/v1/services", json={"name": "x"}, headers=key)
    assert write.status_code == 401
    assert client.get("/v1/services", headers=key).status_code == 401  # listing all: no


def test_unknown_and_revoked_keys_are_401(client: TestClient, session: Session) -> None:
    key = new_key(session)
    revoke_key(session, key[:10])
    session.commit()
    for raw in (key, "pk_nope"):
        response = client.get("/v1/search", params=SEARCH, headers={"X-Api-Key": raw})
        assert response.status_code == 401 and response.json()["error"] == "Unauthorized"


def test_cors_answers_only_the_keys_origins(client: TestClient, session: Session) -> None:
    key = new_key(session)
    other = new_key(session, origins=["https://other.example"])
    mine = client.get("/v1/search", params=SEARCH, headers={"X-Api-Key": key, "Origin": SITE})
    assert mine.status_code == 200
    assert mine.headers["access-control-allow-origin"] == SITE
    assert "Origin" in mine.headers["vary"]
    theirs = client.get("/v1/search", params=SEARCH, headers={"X-Api-Key": other, "Origin": SITE})
    assert theirs.status_code == 403 and "access-control-allow-origin" not in theirs.headers
    preflight = {"Origin": SITE, "Access-Control-Request-Method": "GET"}
    allowed = client.options("/v1/search", headers=preflight)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert "X-Api-Key" in allowed.headers["access-control-allow-headers"]
    refused = client.options("/v1/search", headers={**preflight, "Origin": "https://evil.example"})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    wrong_key = client.options("/v1/search", params={"key": other}, headers=preflight)
    assert wrong_key.status_code == 403


def test_over_its_rate_a_key_gets_429_with_retry_after(
    client: TestClient, session: Session
) -> None:
    key = {"X-Api-Key": new_key(session, rate="3/minute")}
    codes = [client.get("/v1/search", params=SEARCH, headers=key).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/v1/search", params=SEARCH, headers=key)
    assert limited.status_code == 429 and limited.json()["error"] == "TooManyRequests"
    assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_get_search_has_an_etag_and_a_short_cache_control(
    client: TestClient, mentor: dict[str, str]
) -> None:
    first = client.get("/v1/search", params=SEARCH, headers=mentor)
    assert first.headers["cache-control"] == "private, max-age=30"
    again = client.get("/v1/search", params=SEARCH, headers=mentor)
    assert again.headers["etag"] == first.headers["etag"]
    unchanged = client.get(
        "/v1/search", params=SEARCH, headers={**mentor, "If-None-Match": first.headers["etag"]}
    )
    assert unchanged.status_code == 304 and not unchanged.content
    other = client.get("/v1/search", params={**SEARCH, "q": "peer"}, headers=mentor)
    assert other.headers["etag"] != first.headers["etag"]


def test_crisis_lines_answer_any_origin(client: TestClient) -> None:
    response = client.get(
        "/v1/crisis-lines", params={"country": "US"}, headers={"Origin": "https://any.example"}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"].startswith("public")
