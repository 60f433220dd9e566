"""What every part of the ``directory`` command shares: failing with one line, the settings, the
engine, one unit of work.

The command line is read before anything runs, so the ``directory`` command's modules import only
Typer and this module at their top; each command imports the services it calls in its own body,
and the helpers here import the settings, the driver and the ORM when first called. ``directory
--help`` so never loads SQLAlchemy, Alembic or the models (``bench/startup.py`` times it,
``tests/test_startup.py`` keeps it so)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from directory.errors import DirectoryError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from directory.config import Settings
    from directory.pgcluster import PrivateCluster


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned Exit (code 1)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def settings() -> Settings:
    """The process-wide settings."""
    from directory.config import get_settings

    return get_settings()


def private_cluster() -> PrivateCluster | None:
    """The private cluster, unless a database URL is configured."""
    from directory.pgcluster import PrivateCluster

    configured = settings()
    return None if configured.database_url else PrivateCluster.from_settings(configured)


def engine() -> Engine:
    """An engine for the configured database; fails when the private one is not running."""
    from directory.db import database_url, make_engine

    cluster = private_cluster()
    if cluster is not None and not cluster.running():
        raise fail("the private database is not running: run `directory db start` first")
    return make_engine(database_url(settings()))


def sessions() -> sessionmaker[Session]:
    """The session factory of the configured database (fails as ``engine`` does)."""
    from directory.db import make_sessionmaker

    return make_sessionmaker(engine())


@contextmanager
def unit(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One transaction (on ``factory``'s database, else the configured one); a refusal (a
    ``DirectoryError``: an unknown email, a bad role) is one line and exit 1."""
    from directory.db import unit_of_work

    try:
        with unit_of_work(factory if factory is not None else sessions()) as session:
            yield session
    except DirectoryError as error:
        raise fail(error.detail) from None
