"""Alembic environment: the URL comes from the directory's settings (or a connection passed in)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from directory.config import get_settings
from directory.db import database_url, make_engine
from directory.models import metadata

# PostGIS owns these tables; autogenerate must never touch them.
EXTENSION_TABLES = {"spatial_ref_sys"}


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (type_ == "table" and name in EXTENSION_TABLES)


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(
        context.config.get_main_option("sqlalchemy.url") or database_url(get_settings())
    )
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
