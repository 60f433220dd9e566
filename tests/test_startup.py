"""The `directory` command starts light: reading its command line loads none of the heavy
libraries, and `db status` none it does not need (bench/startup.py has the times). Each check
runs in a fresh interpreter, where nothing was imported before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from directory import migrate
from directory.accounts import cli as accounts_cli
from directory.accounts.keys import DEFAULT_RATE
from directory.accounts.models import ROLES
from tests.dburl import libpq_url

# What the command line of every command loads without: SQLAlchemy, the driver, the migrations,
# password hashing, geometry, the web app, the settings (Typer itself loads pydantic to read a
# group's options).
NEVER_FOR_HELP = (
    "sqlalchemy",
    "psycopg",
    "alembic",
    "argon2",
    "geoalchemy2",
    "fastapi",
    "pydantic_settings",
    "directory.config",
    "directory.db",
)
# What `db status` loads without: it reads the settings and asks the database with the driver
# alone, nothing more (the private cluster and DIRECTORY_DATABASE_URL alike).
NEVER_FOR_STATUS = (
    "sqlalchemy",
    "alembic",
    "argon2",
    "geoalchemy2",
    "fastapi",
    "directory.models",
    "directory.accounts.models",
    "directory.accounts.passwords",
    "directory.listings",
)

LOADED = """
import json, sys
from directory.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def loaded(*args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules a fresh interpreter has loaded after running `directory ARGS`, and what
    that printed."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    *printed, modules = result.stdout.strip().splitlines()
    return set(json.loads(modules)), "\n".join(printed)


def heavy(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {m for m in modules if any(m == n or m.startswith(n + ".") for n in names)}


def test_importing_the_command_loads_nothing_heavy() -> None:
    code = "import sys, directory.cli; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert heavy(set(result.stdout.split()), NEVER_FOR_HELP) == set()


@pytest.mark.parametrize(
    "command", [(), ("db",), ("users",), ("keys", "create"), ("ingest",), ("serve",)]
)
def test_help_loads_nothing_heavy(command: tuple[str, ...]) -> None:
    modules, printed = loaded(*command, "--help")
    assert "Usage:" in printed
    assert heavy(modules, NEVER_FOR_HELP) == set()


def test_db_status_loads_only_what_it_needs(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    env |= {"DIRECTORY_DATABASE_URL": database_url, "DIRECTORY_DATA_DIR": str(tmp_path)}
    modules, printed = loaded("db", "status", env=env)
    assert "state: running" in printed and ": current" in printed
    assert heavy(modules, NEVER_FOR_STATUS) == set()


@pytest.mark.parametrize(
    ("configured", "read"),
    [
        (
            "postgresql+psycopg://u:p%40ss@db:5433/dir?sslmode=require",
            "postgresql://u:p%40ss@db:5433/dir?sslmode=require",
        ),
        (
            "postgresql://u@/dir?host=/run/pg&port=5432",
            "postgresql://u@/dir?host=/run/pg&port=5432",
        ),
        ("postgres://u@db/dir", "postgresql://u@db/dir"),
        # a password as SQLAlchemy reads it (up to the @, escapes undone), escaped for libpq
        ("postgresql://app:ab/cd?e#f@db:5432/dir", "postgresql://app:ab%2Fcd%3Fe%23f@db:5432/dir"),
        ("postgresql://app:p%40ss@db/dir", "postgresql://app:p%40ss@db/dir"),
        ("postgresql+psycopg2://u@db/dir", "postgresql://u@db/dir"),
        ("mysql://u@db/dir", None),
        ("postgresql+asyncpg://u@db/dir", None),
    ],
)
def test_the_configured_url_as_libpq_reads_it(configured: str, read: str | None) -> None:
    assert migrate.libpq_url(configured) == read


def test_db_status_names_a_url_that_is_not_postgresqls(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECTORY_")}
    env |= {"DIRECTORY_DATABASE_URL": "mysql://u@db/dir", "DIRECTORY_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "directory", "db", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DIRECTORY_DATABASE_URL is not a PostgreSQL URL" in result.stderr


def test_the_private_clusters_status_needs_no_sqlalchemy(database_url: str, engine: Engine) -> None:
    code = (
        "import sys; from directory import migrate;"
        f"print(migrate.revision_at({libpq_url(database_url)!r}, connect_timeout=5));"
        "print(' '.join(sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    revision, modules = result.stdout.splitlines()
    assert revision == migrate.head_revision()
    assert heavy(set(modules.split()), ("sqlalchemy", "alembic")) == set()


def test_the_help_texts_constants_are_the_services() -> None:
    assert accounts_cli.ROLES == ROLES
    assert accounts_cli.DEFAULT_RATE == DEFAULT_RATE


def test_revisions_read_without_alembic_are_alembics(database_url: str, engine: Engine) -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate.head_revision() == scripts.get_current_head()
    with engine.connect() as connection:
        expected = MigrationContext.configure(connection).get_current_revision()
        assert migrate.current_revision(connection) == expected
    assert migrate.revision_at(libpq_url(database_url), connect_timeout=5) == expected


def script(folder: Path, revision: str, down: str | tuple[str, ...] | None) -> None:
    (folder / f"{revision}.py").write_text(
        f'revision: str = "{revision}"\ndown_revision: str | None = {down!r}\n'
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    pass\n"
    )


def test_a_history_that_is_not_one_chain_is_alembics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "versions").mkdir()
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)
    assert migrate.head_revision() is None  # no scripts
    script(tmp_path / "versions", "a1", None)
    script(tmp_path / "versions", "b2", "a1")
    assert migrate.head_revision() == "b2"
    script(tmp_path / "versions", "c3", "a1")  # a branch: two heads
    with pytest.raises(CommandError, match="multiple heads"):
        migrate.head_revision()
    script(tmp_path / "versions", "d4", ("b2", "c3"))  # their merge
    assert migrate.head_revision() == "d4"
