"""Schema migrations (Alembic), run from the CLI, the tests and the health check.

Alembic itself is imported only to migrate: which migration the code and the database are at is
read without it (``directory db status`` and the health check; Alembic and the scripts it loads
would be most of their time), and Alembic decides whenever that reading is not plain."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from directory.config import PACKAGE_DIR

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

# PostGIS owns these tables; autogenerate must never touch them.
EXTENSION_TABLES = frozenset({"spatial_ref_sys"})
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default
# A PostgreSQL URL as SQLAlchemy reads it (``sqlalchemy_url`` in directory.db), driver and all.
POSTGRES_SCHEME = re.compile(r"^(?:postgresql|postgres)(?:\+psycopg2?)?://")
USER_PASSWORD = re.compile(r"^(?P<user>[^:/]*):(?P<password>[^@]*)@")  # SQLAlchemy's reading
IDENTITY_LINE = re.compile(r"^(revision|down_revision|branch_labels|depends_on)\b[^=\n]*=.*$", re.M)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic filter: leave the extensions' own tables alone."""
    return not (type_ == "table" and name in EXTENSION_TABLES)


def alembic_config(connection: Connection | None = None) -> Config:
    """The project's Alembic configuration, optionally bound to an open connection.

    Built in code, not read from ``alembic.ini`` (which is only for developers' ``alembic``
    commands in a checkout), so that an installed package finds its migrations too."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Upgrade the database to the newest migration."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def head_revision() -> str | None:
    """The newest migration in the code."""
    chain = _script_chain()
    heads = set(chain) - set(chain.values()) if chain else set()
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory  # no scripts, several heads, a merge: Alembic's

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at (None when it has none)."""
    from sqlalchemy import inspect, text  # loaded already: the connection is SQLAlchemy's

    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(found) <= 1:
        return found[0] if found else None
    from alembic.runtime.migration import MigrationContext  # several: Alembic's error

    return MigrationContext.configure(connection).get_current_revision()


def libpq_url(url: str) -> str | None:
    """A configured database URL as libpq reads it (SQLAlchemy's driver name dropped; the
    query's ``host`` and ``port`` are libpq's own), or None when it is not PostgreSQL's. A
    password is read as SQLAlchemy reads it (anything up to the ``@``: ``/``, ``?`` and ``#``
    too, percent escapes undone) and given to libpq escaped."""
    scheme = POSTGRES_SCHEME.match(url)
    if scheme is None:
        return None
    rest = url[scheme.end() :]
    if (login := USER_PASSWORD.match(rest)) is not None:
        password = quote(unquote(login["password"]), safe="")
        rest = f"{login['user']}:{password}@{rest[login.end() :]}"
    return "postgresql://" + rest


def revision_at(url: str, *, connect_timeout: float, password: str | None = None) -> str | None:
    """``current_revision`` of the database at a plain ``postgresql://`` URL, asked with the
    driver alone (``directory db status``, which SQLAlchemy's import would make slow);
    ``password``, when given, over the URL's."""
    import psycopg

    timeout = max(1, round(connect_timeout))  # libpq's whole seconds, as the engine's
    if password is not None:
        url = psycopg.conninfo.make_conninfo(url, password=password)
    with psycopg.connect(url, connect_timeout=timeout) as connection:
        table = connection.execute("SELECT to_regclass(%s)", (VERSION_TABLE,)).fetchone()
        if table is None or table[0] is None:
            return None
        found = [row[0] for row in connection.execute(f"SELECT version_num FROM {VERSION_TABLE}")]
    if len(found) > 1:
        raise RuntimeError(f"{VERSION_TABLE} has {len(found)} rows: a branched history")
    return found[0] if found else None


def _script_chain() -> dict[str, str | None] | None:
    """Each migration script's revision and the one it revises, read from the scripts' text
    (the files Alembic loads: ``*.py`` but ``__init__.py``); None unless each names a revision
    of its own revising one known or none, with no branch labels or dependencies."""
    chain: dict[str, str | None] = {}
    for script in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        if script.name == "__init__.py" or script.name.startswith(".#"):
            continue
        names = _identity(script.read_text(encoding="utf-8"))
        if names is None or "down_revision" not in names:
            return None
        revision, down = names.get("revision"), names["down_revision"]
        if not (isinstance(revision, str) and isinstance(down, str | None)):
            return None
        plain = names.get("branch_labels") is None and names.get("depends_on") is None
        if revision in chain or not plain:
            return None
        chain[revision] = down
    return chain if all(down is None or down in chain for down in chain.values()) else None


def _identity(source: str) -> dict[str, object] | None:
    """A script's ``revision``, ``down_revision``, ``branch_labels`` and ``depends_on``, from
    the lines that assign them, as Alembic's template writes them (parsing only these lines is
    most of the time saved); None when one is not a one-line literal, or is assigned twice."""
    found: dict[str, object] = {}
    for line in IDENTITY_LINE.finditer(source):
        try:
            node = ast.parse(line.group(0)).body[0]
            if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
                return None
            value = ast.literal_eval(node.value)
        except (SyntaxError, ValueError, TypeError):
            return None
        if line.group(1) in found:
            return None
        found[line.group(1)] = value
    return found
