"""Schema migrations (Alembic), run from the CLI, the tests and the health check."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from directory.config import PACKAGE_DIR

# PostGIS owns these tables; autogenerate must never touch them.
EXTENSION_TABLES = frozenset({"spatial_ref_sys"})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic filter: leave the extensions' own tables alone."""
    return not (type_ == "table" and name in EXTENSION_TABLES)


def alembic_config(connection: Connection | None = None) -> Config:
    """The project's Alembic configuration, optionally bound to an open connection.

    Built in code, not read from ``alembic.ini`` (which is only for developers' ``alembic``
    commands in a checkout), so that an installed package finds its migrations too."""
    config = Config()
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Upgrade the database to the newest migration."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def head_revision() -> str | None:
    """The newest migration in the code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at (None when it has none)."""
    return MigrationContext.configure(connection).get_current_revision()
