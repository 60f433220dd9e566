"""search_document and search_word: the postgres search backend's index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 01:20:00
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARRAYS = ("needs", "languages", "accessibility", "costs", "regions")
# The minute of the local week (Monday 00:00 = 0) of a moment in a time zone: open_now tests
# search_document.open_minutes against it. NULL for a NULL time zone (hours unknown).
WEEK_MINUTE = """
CREATE FUNCTION week_minute(at timestamptz, tz text) RETURNS integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT (extract(isodow FROM local)::int - 1) * 1440
        + extract(hour FROM local)::int * 60 + extract(minute FROM local)::int
    FROM (SELECT at AT TIME ZONE tz AS local) AS moment
$$
"""


def upgrade() -> None:
    op.execute(WEEK_MINUTE)
    op.create_table(
        "search_document",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        *(sa.Column(name, postgresql.ARRAY(sa.Text()), nullable=False) for name in ARRAYS),
        sa.Column("minimum_age", sa.Integer(), nullable=True),
        sa.Column("maximum_age", sa.Integer(), nullable=True),
        sa.Column(
            "point",
            geoalchemy2.types.Geography(
                geometry_type="POINT", srid=4326, spatial_index=False, from_text="ST_GeogFromText"
            ),
            nullable=True,
        ),
        sa.Column("open_minutes", postgresql.INT4MULTIRANGE(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("last_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tsv", postgresql.TSVECTOR(), nullable=False),
        sa.Column(
            "indexed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('site', 'area')", name=op.f("ck_search_document_kind")),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_search_document_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_document")),
    )
    op.create_index("ix_search_document_service_id", "search_document", ["service_id"])
    op.create_index("ix_search_document_tsv", "search_document", ["tsv"], postgresql_using="gin")
    op.create_index(
        "ix_search_document_point", "search_document", ["point"], postgresql_using="gist"
    )
    for name in ARRAYS:
        op.create_index(
            f"ix_search_document_{name}", "search_document", [name], postgresql_using="gin"
        )
    op.create_table(
        "search_word",
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_word")),
    )
    op.create_index(
        "ix_search_word_trigrams",
        "search_word",
        ["word"],
        postgresql_using="gin",
        postgresql_ops={"word": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_table("search_word")
    op.drop_table("search_document")
    op.execute("DROP FUNCTION week_minute(timestamptz, text)")
