"""search_outbox.meili_synced_at: which changes Meilisearch has confirmed, row by row

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 01:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "search_outbox", sa.Column("meili_synced_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_search_outbox_meili_pending",
        "search_outbox",
        ["id"],
        postgresql_where=sa.text("meili_synced_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_search_outbox_meili_pending", table_name="search_outbox")
    op.drop_column("search_outbox", "meili_synced_at")
