"""The database password is set apart from the URL, so any character works."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from directory.config import Settings
from directory.db import database_url, sqlalchemy_url

AWKWARD = "p@ss:w/rd#%?&= +é"


@pytest.mark.parametrize("password", [AWKWARD, "p@ss:w/rd#%", "%40", "plain"])
def test_any_password_survives_the_url(password: str) -> None:
    settings = Settings(
        database_url="postgresql://directory@db:5432/directory", database_password=password
    )
    parsed = sqlalchemy_url(database_url(settings))  # what make_engine connects with
    assert parsed.password == password
    assert (parsed.drivername, parsed.username, parsed.host, parsed.port, parsed.database) == (
        "postgresql+psycopg",
        "directory",
        "db",
        5432,
        "directory",
    )


def test_the_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIRECTORY_DATABASE_URL", "postgresql://directory:old@db/directory")
    monkeypatch.setenv("DIRECTORY_DATABASE_PASSWORD", AWKWARD)
    assert make_url(database_url(Settings())).password == AWKWARD  # it replaces the URL's


def test_without_a_password_the_url_is_as_given() -> None:
    given = "postgresql://someone:se%40cret@localhost:5433/db"
    assert database_url(Settings(database_url=given)) == given
