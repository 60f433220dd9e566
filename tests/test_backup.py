"""`directory backup` and `restore`: a backup restored into an empty database gives the same
listings, accounts, index and migration; a restore over a changed database brings it back; a
broken file changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from directory.backup import BackupError, backup, restore
from tests.dburl import libpq_url

TABLES = ("service", "organization", "location", "phone", "search_document", "alembic_version")
COPY = "directory_restore_test"


def counts(url: str) -> dict[str, object]:
    with psycopg.connect(libpq_url(url)) as conn:
        found: dict[str, object] = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in TABLES
        }
        found["version"] = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        found["names"] = conn.execute(
            "SELECT md5(string_agg(name, ',' ORDER BY id)) FROM service"
        ).fetchone()
    return found


@pytest.fixture
def empty_database(database_url: str, engine: Engine) -> Iterator[str]:
    """A new database beside the test one (which ``engine`` migrated and seeded)."""
    admin = libpq_url(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{COPY}"')
        conn.execute(f'CREATE DATABASE "{COPY}"')
    try:
        yield libpq_url(database_url, COPY)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')


def test_a_backup_restores_into_an_empty_database(
    database_url: str, empty_database: str, tmp_path: Path
) -> None:
    file = tmp_path / "directory.dump"
    assert backup(libpq_url(database_url), file) > 1000
    restore(empty_database, file)
    original = counts(database_url)
    assert original["service"] and counts(empty_database) == original
    with psycopg.connect(empty_database, autocommit=True) as conn:  # changed, then restored
        conn.execute("DELETE FROM search_document")
        conn.execute("UPDATE service SET name = 'changed'")
    restore(empty_database, file)
    assert counts(empty_database) == original


def test_a_broken_file_changes_nothing(
    database_url: str, empty_database: str, tmp_path: Path
) -> None:
    file = tmp_path / "directory.dump"
    backup(libpq_url(database_url), file)
    restore(empty_database, file)
    before = counts(empty_database)
    broken = tmp_path / "broken.dump"
    broken.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    with pytest.raises(BackupError, match="pg_restore failed"):
        restore(empty_database, broken)
    assert counts(empty_database) == before
    with pytest.raises(BackupError, match="not a file"):
        restore(empty_database, tmp_path / "missing.dump")


def test_the_commands(database_url: str, empty_database: str, tmp_path: Path) -> None:
    def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
        env["DIRECTORY_DATABASE_URL"] = url
        command = [sys.executable, "-m", "directory", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    file = tmp_path / "nightly.dump"
    made = run(libpq_url(database_url), "backup", str(file))
    assert made.returncode == 0 and "backed up to" in made.stdout, made.stderr
    restored = run(empty_database, "restore", str(file), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert counts(empty_database) == counts(database_url)
    missing = run(empty_database, "restore", str(tmp_path / "none.dump"), "--yes")
    assert missing.returncode == 1 and missing.stderr.startswith("error:")
    assert "Traceback" not in missing.stderr
