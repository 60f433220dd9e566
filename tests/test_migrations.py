"""The migrations and the models describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine

from directory import migrate
from directory.migrate import include_object
from directory.models import metadata


def test_models_match_the_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        assert compare_metadata(context, metadata) == []
        assert migrate.current_revision(connection) == migrate.head_revision()


def test_the_first_migration_creates_the_extensions(engine: Engine) -> None:
    with engine.connect() as connection:
        names = set(connection.scalars(text("SELECT extname FROM pg_extension")))
    assert {"postgis", "pg_trgm", "unaccent"} <= names
