"""provenance.format: which ingest format read the raw record (for remapping without re-reading)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("provenance", sa.Column("format", sa.String(length=32), nullable=True))
    op.create_index("ix_provenance_format", "provenance", ["format"])


def downgrade() -> None:
    op.drop_index("ix_provenance_format", table_name="provenance")
    op.drop_column("provenance", "format")
