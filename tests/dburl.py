"""Database URLs for tests that open their own connections."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def libpq_url(url: str, database: str | None = None) -> str:
    """A libpq URL (``postgresql://``) for psycopg, optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)
