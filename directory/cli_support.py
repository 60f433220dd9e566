"""What every part of the ``directory`` command shares: failing with one line, the engine."""

from __future__ import annotations

import typer
from sqlalchemy.engine import Engine

from directory.config import get_settings
from directory.db import database_url, make_engine
from directory.pgcluster import PrivateCluster


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned Exit (code 1)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def private_cluster() -> PrivateCluster | None:
    """The private cluster, unless a database URL is configured."""
    settings = get_settings()
    return None if settings.database_url else PrivateCluster.from_settings(settings)


def engine() -> Engine:
    """An engine for the configured database; fails when the private one is not running."""
    cluster = private_cluster()
    if cluster is not None and not cluster.running():
        raise fail("the private database is not running: run `directory db start` first")
    return make_engine(database_url(get_settings()))
