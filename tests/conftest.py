"""Test harness: a throwaway PostGIS cluster (or DIRECTORY_TEST_DATABASE_URL), migrated and seeded
once per run, and one rolled-back transaction per test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory import migrate
from directory.accounts.service import create_user
from directory.api.app import create_app
from directory.config import DEFAULT_SEED_DIR, PROJECT_ROOT, Settings
from directory.db import make_engine, unit_of_work
from directory.listings.seed import seed_all
from directory.pgcluster import PrivateCluster
from directory.search import sync

SEED_DIR = DEFAULT_SEED_DIR


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The real data files (DIRECTORY_DATASETS_DIR, else ../shared/datasets beside the project).

    Absent, as in a user's own clone, the tests that need them skip; under CI=true they fail.
    """
    configured = os.environ.get("DIRECTORY_DATASETS_DIR")
    folder = Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "datasets"
    if not (folder / "SOURCES.md").exists():
        message = f"real datasets not found at {folder} (set DIRECTORY_DATASETS_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true they are required")
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    given = os.environ.get("DIRECTORY_TEST_DATABASE_URL")
    if given:
        yield given
        return
    cluster = PrivateCluster(root=Path(tempfile.mkdtemp(prefix="directory-test-")), port=55432)
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with unit_of_work(sessionmaker(engine)) as session:
            seed_all(session, SEED_DIR)
        sync.drain(sessionmaker(engine))  # the seed listings are searchable in every test
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits become savepoints inside the test's transaction."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def client(session_factory: sessionmaker[Session], database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url), session_factory=session_factory)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def bearer(session: Session, role: str) -> dict[str, str]:
    """Authorization headers for a new user with the given role."""
    _, token = create_user(session, email=f"{role}-{os.urandom(4).hex()}@example.org", role=role)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def coordinator(session: Session) -> dict[str, str]:
    return bearer(session, "coordinator")


@pytest.fixture
def mentor(session: Session) -> dict[str, str]:
    return bearer(session, "mentor")
