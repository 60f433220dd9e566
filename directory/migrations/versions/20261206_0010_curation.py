"""curation: a listing's change history (HSDS 3.0 metadata shape), capacity, how it was verified

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "listing_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column(
            "last_action_date", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.Column("last_action_type", sa.String(32), nullable=False),
        sa.Column("field_name", sa.Text(), nullable=False),
        sa.Column("previous_value", sa.Text(), nullable=True),
        sa.Column("replacement_value", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_listing_change_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_change")),
    )
    op.create_index(
        "ix_listing_change_service_date", "listing_change", ["service_id", "last_action_date"]
    )
    op.add_column("service", sa.Column("capacity_status", sa.String(16), nullable=True))
    op.add_column(
        "service", sa.Column("capacity_updated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("service", sa.Column("verification_method", sa.String(16), nullable=True))
    op.add_column("service", sa.Column("verification_note", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_service_capacity_status"),
        "service",
        "capacity_status IN ('accepting', 'waitlist', 'full', 'unknown')",
    )
    op.create_check_constraint(
        op.f("ck_service_verification_method"),
        "service",
        "verification_method IN ('phone', 'website', 'email', 'visit', 'import')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_service_verification_method"), "service", type_="check")
    op.drop_constraint(op.f("ck_service_capacity_status"), "service", type_="check")
    for column in ("verification_note", "verification_method", "capacity_updated_at"):
        op.drop_column("service", column)
    op.drop_column("service", "capacity_status")
    op.drop_index("ix_listing_change_service_date", table_name="listing_change")
    op.drop_table("listing_change")
