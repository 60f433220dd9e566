"""Browser-test harness: the app served for real (uvicorn in a thread) on its own database,
and Debian's chromium driven by Playwright.

Browser requests commit for real, so the live server uses a database of its own
(``directory_web``, beside the test database on the same server), never the rolled-back test
transactions. The page tests that use TestClient need none of this: every fixture here is lazy.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts import invites
from directory.api.app import create_app
from directory.config import Settings
from directory.db import make_engine, unit_of_work
from directory.listings.models import Service
from tests.dburl import fresh_database

CHROMIUM = Path(os.environ.get("DIRECTORY_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WEB_DATABASE = "directory_web"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
PASSWORD = "correct horse battery staple"
PROGRAM = "Browser program"


@pytest.fixture(scope="session")
def web_database_url(database_url: str) -> Iterator[str]:
    """A fresh database for the live server on the test server (the throwaway cluster, or the
    one DIRECTORY_TEST_DATABASE_URL names: ``database_url`` honours it), migrated and seeded
    with the demo region; dropped at the end."""
    with fresh_database(database_url, WEB_DATABASE) as url:
        yield url


@dataclass
class LiveServer:
    base_url: str
    sessions: sessionmaker[Session]
    _listings: dict[str, uuid.UUID] = field(default_factory=dict)

    def invite(self, email: str | None = None, role: str = "mentor") -> tuple[str, str]:
        """(email, sign-in link) of a new person (a mentor unless told) of the browser program
        (admins belong to none), committed."""
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        program = None if role == "admin" else PROGRAM
        with unit_of_work(self.sessions) as session:
            _, token = invites.invite(session, email=email, role=role, program=program)
        return email, invites.link_url(self.base_url, token)

    def account(self, role: str = "mentor") -> str:
        """The email of a new person (a mentor unless told) who already chose their password
        (PASSWORD)."""
        email, link = self.invite(role=role)
        with unit_of_work(self.sessions) as session:
            assert invites.accept(session, link.rsplit("/", 1)[1], PASSWORD) is not None
        return email

    def demo_listing(self, name_contains: str = "(demo)") -> uuid.UUID:
        """A published demo listing with a site, its needs known (the first by name)."""
        if name_contains not in self._listings:
            with self.sessions() as session:
                found = session.scalars(
                    select(Service.id)
                    .where(Service.name.contains(name_contains))
                    .order_by(Service.name)
                    .limit(1)
                ).one()
            self._listings[name_contains] = found
        return self._listings[name_contains]


def _listening_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1 (handed to uvicorn: no race for the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
def live_server(web_database_url: str) -> Iterator[LiveServer]:
    """The whole app (API and pages) served by uvicorn in a background thread."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=web_database_url, index_sync_interval=0, base_url=base_url)
    config = uvicorn.Config(
        create_app(settings),
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as error:  # reported by the fixture, not lost in the thread
            errors.append(error)

    thread = threading.Thread(target=serve, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert not errors, errors
        assert thread.is_alive() and time.monotonic() < deadline, "the live server did not start"
        time.sleep(0.05)
    engine = make_engine(web_database_url)
    try:
        yield LiveServer(base_url=base_url, sessions=sessionmaker(engine, expire_on_commit=False))
    finally:
        engine.dispose()
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive(), "the live server did not stop"
        assert not errors, errors


def _chromium_missing() -> str | None:
    if CHROMIUM.exists() or shutil.which(str(CHROMIUM)):
        return None
    return (
        f"{CHROMIUM} not found: install Debian's chromium (`make system-packages`,"
        " or apt-get install chromium) to run the browser tests"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the whole run. Skips when chromium is missing, except under
    CI=true, where the browser tests must run."""
    missing = _chromium_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing + "; under CI=true the browser tests are required")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    try:
        chromium = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        driver.stop()


ContextFactory = Callable[..., Any]


@pytest.fixture
def new_context(browser: Any, live_server: LiveServer) -> Iterator[ContextFactory]:
    """Fresh browser contexts (cookies of their own) on the live server, closed after the test.
    ``new_context(viewport="phone", lang="es", java_script_enabled=False)``."""
    made: list[Any] = []

    def make(viewport: str = "desktop", lang: str | None = None, **options: Any) -> Any:
        context = browser.new_context(
            base_url=live_server.base_url,
            viewport=VIEWPORTS[viewport],
            locale="en-US",
            **options,
        )
        context.set_default_timeout(10_000)
        if lang:
            cookie = {"name": "dir_lang", "value": lang, "url": live_server.base_url}
            context.add_cookies([cookie])
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
