"""unmet needs: searches that found nothing, counted by day, need and area (never the words)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unmet_search",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("need", sa.String(64), nullable=False),
        sa.Column("area", sa.String(16), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "need", "area", name=op.f("pk_unmet_search")),
    )


def downgrade() -> None:
    op.drop_table("unmet_search")
