"""search_result: what a search result shows, out of search_document (a narrower table to search)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 17:10:00

The bodies move as they are (no rebuild needed): each into ``search_result``, and its
``capacity_status`` (the ``accepting`` filter) into a column of ``search_document``. Dropping a
column leaves its data in the rows until the table is rewritten, so the column is dropped in
the same ALTER TABLE as the new one is filled: that rewrites the table once, in its order (the
rebuild's, by place), without the bodies, computing the new column from the old rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_result",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"],
            ["search_document.id"],
            name=op.f("fk_search_result_id_search_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_result")),
    )
    op.execute("INSERT INTO search_result (id, body) SELECT id, body FROM search_document")
    op.add_column("search_document", sa.Column("capacity_status", sa.Text(), nullable=True))
    op.execute(
        "ALTER TABLE search_document DROP COLUMN body,"
        " ALTER COLUMN capacity_status TYPE text USING body->>'capacity_status'"
    )
    op.execute("ANALYZE search_document, search_result")


def downgrade() -> None:
    op.add_column(
        "search_document",
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.execute("UPDATE search_document d SET body = r.body FROM search_result r WHERE r.id = d.id")
    op.execute("DELETE FROM search_document WHERE body IS NULL")  # none: each had its result
    op.alter_column("search_document", "body", nullable=False)
    op.drop_column("search_document", "capacity_status")
    op.drop_table("search_result")
