"""Log lines: JSON or text, each with the request's id (the caller's when it is safe), one line
per request naming the route's template, and never a search's words, a mentee code or a note
(nor, from `directory serve`, uvicorn's own access line with its query string)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory import logs
from directory.api.app import create_app
from directory.config import Settings
from directory.listings.models import Service
from tests.conftest import bearer
from tests.referrals.conftest import body, member

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there
WORDS = "quokkaflight marmosetgrief"  # what someone searched for
CODE = "HP-7391"  # a mentee code
NOTE = "Prefers kumquat-scented waiting rooms"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The process's logs, configured as JSON onto a buffer (and put back afterwards)."""
    level = logging.getLogger().level
    out = io.StringIO()
    logs.configure("json", stream=out)
    try:
        yield out
    finally:
        logs.unconfigure()
        logging.getLogger().setLevel(level)


def parsed(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def app_with(session_factory: sessionmaker[Session], **settings: Any) -> FastAPI:
    return create_app(Settings(access_log=True, **settings), session_factory=session_factory)


def test_the_request_id_is_echoed_and_on_every_line_of_the_request(
    lines: io.StringIO, session_factory: sessionmaker[Session], session: Session
) -> None:
    app = app_with(session_factory, search_backend="meilisearch", meili_url=CLOSED)
    headers = {**bearer(session, "mentor"), "X-Request-ID": "trace-42.a_b"}
    with TestClient(app) as client:
        answer = client.get("/v1/search", params={"q": "counseling"}, headers=headers)
    assert answer.status_code == 200 and answer.json()["degraded"] is True
    assert answer.headers["X-Request-ID"] == "trace-42.a_b"
    found = parsed(lines)
    fallback = [line for line in found if line["logger"] == "directory.search.service"]
    assert fallback and fallback[0]["level"] == "warning"  # logged in the route's thread
    assert fallback[0]["request_id"] == "trace-42.a_b"
    access = [line for line in found if line["logger"] == "directory.access"]
    assert len(access) == 1
    assert access[0]["event"] == "request"
    assert {k: access[0][k] for k in ("method", "route", "status", "request_id")} == {
        "method": "GET",
        "route": "/v1/search",
        "status": 200,
        "request_id": "trace-42.a_b",
    }
    assert isinstance(access[0]["duration_ms"], float) and "timestamp" in access[0]


@pytest.mark.parametrize("given", [None, "a" * 65, "has space", "semi;colon", "../a/b"])
def test_a_missing_or_unsafe_request_id_is_replaced(
    session_factory: sessionmaker[Session], given: str | None
) -> None:
    headers = {} if given is None else {"X-Request-ID": given}
    with TestClient(app_with(session_factory)) as client:
        first = client.get("/v1/nothing-here", headers=headers).headers["X-Request-ID"]
        second = client.get("/v1/nothing-here", headers=headers).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_an_unhandled_error_is_logged_with_the_request_id(
    lines: io.StringIO, session_factory: sessionmaker[Session]
) -> None:
    app = app_with(session_factory)

    def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/v1/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/v1/boom", headers={"X-Request-ID": "err-1"})
    assert answer.status_code == 500
    found = parsed(lines)
    error = next(line for line in found if line["event"] == "unhandled error")
    assert error["request_id"] == "err-1" and "RuntimeError: boom" in error["exception"]
    access = next(line for line in found if line["logger"] == "directory.access")
    assert access["status"] == 500 and access["route"] == "/v1/boom"


def test_no_search_words_mentee_code_or_note_reach_a_log(
    lines: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    session_factory: sessionmaker[Session],
    session: Session,
) -> None:
    caplog.set_level(logging.INFO)
    headers = member(session, "mentor", "Logs Peers")
    service = session.scalar(select(Service.id).where(Service.curation_status == "published"))
    referral_body = body(str(service), mentee_ref=CODE, note=NOTE)
    with TestClient(app_with(session_factory)) as client:
        assert client.get("/v1/search", params={"q": WORDS}, headers=headers).status_code == 200
        page = client.get("/search", params={"q": WORDS}, follow_redirects=False)
        assert page.status_code == 303  # to sign in, the search kept in ?next=
        referral = client.post("/v1/referrals", json=referral_body, headers=headers)
        assert referral.status_code == 201, referral.text
        listed = client.get("/v1/referrals", params={"mentee_ref": CODE}, headers=headers)
        assert listed.status_code == 200
        client.get(f"/v1/mentees/{CODE}/referrals", headers=headers)  # the code in the path
    # (the test client's own logger, httpx's, names its URLs: it is not the app's)
    ours = [line for line in parsed(lines) if not line["logger"].startswith("httpx")]
    routes = [line["route"] for line in ours if line["logger"] == "directory.access"]
    assert routes == [
        "/v1/search",
        "/search",
        "/v1/referrals",
        "/v1/referrals",
        "/v1/mentees/{mentee_ref}/referrals",
    ]
    records = [r for r in caplog.records if not r.name.startswith("httpx")]
    assert sum(record.name == "directory.access" for record in records) == len(routes)
    for text in (repr(ours), " ".join(repr(vars(record)) for record in records)):
        for secret in (*WORDS.split(), CODE, NOTE, "kumquat"):
            assert secret not in text


def test_text_lines_for_a_person(session_factory: sessionmaker[Session]) -> None:
    level, out = logging.getLogger().level, io.StringIO()
    logs.configure("text", stream=out)
    try:
        with TestClient(app_with(session_factory)) as client:
            client.get("/v1/nothing-here", headers={"X-Request-ID": "text-1"})
    finally:
        logs.unconfigure()
        logging.getLogger().setLevel(level)
    line = next(line for line in out.getvalue().splitlines() if "directory.access" in line)
    assert not line.startswith("{")
    assert "route=unmatched" in line and "request_id=text-1" in line and "status=404" in line


def test_configuring_again_keeps_one_handler_and_leaves_caplog_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    root, level = logging.getLogger(), logging.getLogger().level
    try:
        logs.configure("json", stream=io.StringIO())
        logs.configure("text", stream=io.StringIO())
        ours = [h for h in root.handlers if type(h).__module__ == "directory.logs"]
        assert len(ours) == 1
        assert caplog.handler in root.handlers
        logging.getLogger("directory.test").warning("still captured")
        assert "still captured" in caplog.text
    finally:
        logs.unconfigure()
        root.setLevel(level)
    assert not [h for h in root.handlers if type(h).__module__ == "directory.logs"]


def test_the_format_defaults_to_json_in_production_only(monkeypatch: pytest.MonkeyPatch) -> None:
    production = {"secret_key": "k" * 24 + "abcdefghij", "database_url": "postgresql://x@y/z"}
    assert Settings().log_format == "text"
    assert Settings(env="production", **production).log_format == "json"
    monkeypatch.setenv("DIRECTORY_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
    monkeypatch.setenv("DIRECTORY_ENV", "production")
    monkeypatch.setenv("DIRECTORY_LOG_FORMAT", "text")
    assert Settings(**production).log_format == "text"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_logs_json_and_never_uvicorns_access_line(database_url: str, engine: Engine) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    env |= {"DIRECTORY_DATABASE_URL": database_url, "DIRECTORY_INDEX_SYNC_INTERVAL": "0"}
    env |= {"DIRECTORY_LOG_FORMAT": "json", "DIRECTORY_ACCESS_LOG": "true"}
    command = [sys.executable, "-m", "directory", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(150):
            assert server.poll() is None
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        answer = httpx.get(
            f"{base}/v1/search", params={"q": WORDS}, headers={"X-Request-ID": "s-1"}
        )
        assert answer.status_code == 401 and answer.headers["X-Request-ID"] == "s-1"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=40)
    text = output.decode()
    assert not any(word in text for word in WORDS.split())
    found = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line JSON
    assert any(line["logger"].startswith("_granian") for line in found)  # Granian's, through ours
    assert not any("color_message" in line for line in found)  # uvicorn's, with colours
    assert not any(line["logger"].startswith("alembic") for line in found)  # at each probe
    search = [line for line in found if line.get("request_id") == "s-1"]
    assert [(line["logger"], line["route"], line["status"]) for line in search] == [
        ("directory.access", "/v1/search", 401)
    ]
