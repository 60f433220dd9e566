"""Database URLs for tests that open their own connections, and databases of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker

from directory import migrate
from directory.config import DEFAULT_SEED_DIR
from directory.db import make_engine, unit_of_work
from directory.listings.seed import seed_all
from directory.search import sync


def libpq_url(url: str, database: str | None = None) -> str:
    """A libpq URL (``postgresql://``) for psycopg, optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def seeded_and_indexed(engine: Engine) -> None:
    """The whole seed (the demo region included), and the search index of it."""
    with unit_of_work(sessionmaker(engine)) as session:
        seed_all(session, DEFAULT_SEED_DIR)
    sync.drain(sessionmaker(engine))


@contextmanager
def fresh_database(
    database_url: str, name: str, seed: Callable[[Engine], object] = seeded_and_indexed
) -> Iterator[str]:
    """A new database ``name`` on the test server, migrated and filled by ``seed``; its URL.
    Dropped at the end, and first if an interrupted run left it."""
    admin = libpq_url(database_url)
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(f'CREATE DATABASE "{name}"')
    url = libpq_url(database_url, name)
    try:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            seed(engine)
        finally:
            engine.dispose()
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)
