"""Security headers: the API's answers allow nothing to run or frame them, the web pages keep
their own policy, and HSTS is sent in production only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from directory.api.app import create_app
from directory.config import Settings

STRONG = "a-strong-production-secret-0123456789-abcdef"


def test_api_answers_carry_a_policy_that_allows_nothing(client: TestClient) -> None:
    for answer in (
        client.get("/v1/crisis-lines"),
        client.get("/v1/services"),  # a 401, from the error handler
        client.post("/v1/search", content=b"x" * 2_000_000),  # a 413, from the body limit
    ):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in answer.headers  # development: plain http


def test_pages_keep_their_own_policy(client: TestClient) -> None:
    page = client.get("/sign-in")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert page.headers["Referrer-Policy"] == "same-origin"


def test_docs_pages_have_a_strict_policy_of_their_own(client: TestClient) -> None:
    """Scripts from our own files only, never inline; ReDoc alone may add styles at run time
    and a worker (its search); nothing may frame them (tests/api/test_docs.py: the rest)."""
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        policy = dict(
            d.strip().split(" ", 1) for d in page.headers["Content-Security-Policy"].split(";")
        )
        assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'" and policy["connect-src"] == "'self'"
        assert "unsafe-eval" not in page.headers["Content-Security-Policy"]
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        inline_styles = "'unsafe-inline'" in policy["style-src"]
        assert inline_styles == (path == "/redoc")


def test_production_sends_hsts(session_factory: sessionmaker[Session], database_url: str) -> None:
    settings = Settings(
        env="production",
        secret_key=STRONG,
        database_url=database_url,
        base_url="https://directory.example",
    )
    with TestClient(create_app(settings, session_factory=session_factory)) as client:
        answer = client.get("/v1/crisis-lines")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
