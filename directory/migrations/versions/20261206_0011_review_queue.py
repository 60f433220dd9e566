"""the review queue: change suggestions on listings, and decisions on problem reports

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "change_suggestion",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("suggested_by", sa.Uuid(), nullable=True),
        sa.Column("program_id", sa.Uuid(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'approved', 'rejected')", name=op.f("ck_change_suggestion_status")
        ),
        sa.CheckConstraint(
            "source IN ('user', 'import', 'partner')", name=op.f("ck_change_suggestion_source")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_change_suggestion_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_suggestion")),
    )
    op.create_index(op.f("ix_change_suggestion_service_id"), "change_suggestion", ["service_id"])
    op.create_index(op.f("ix_change_suggestion_created_at"), "change_suggestion", ["created_at"])
    op.add_column("problem_report", sa.Column("decided_by", sa.Uuid(), nullable=True))
    op.add_column(
        "problem_report", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("problem_report", sa.Column("decision_note", sa.Text(), nullable=True))


def downgrade() -> None:
    for column in ("decision_note", "decided_at", "decided_by"):
        op.drop_column("problem_report", column)
    op.drop_index(op.f("ix_change_suggestion_created_at"), table_name="change_suggestion")
    op.drop_index(op.f("ix_change_suggestion_service_id"), table_name="change_suggestion")
    op.drop_table("change_suggestion")
