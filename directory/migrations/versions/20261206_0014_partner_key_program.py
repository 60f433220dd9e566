"""partner keys belong to a program: its coordinators see and revoke them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A key made on a page before now goes to the program its creation was audited under (the
# creator's); one made by the `directory` command, to none (admins only).
FROM_AUDIT = """
UPDATE partner_key AS k SET program_id = a.program_id
FROM audit_log AS a
WHERE a.action = 'key.create' AND a.detail ->> 'key_id' = k.id::text
  AND a.program_id IN (SELECT id FROM program)
"""


def upgrade() -> None:
    op.add_column("partner_key", sa.Column("program_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_partner_key_program_id"), "partner_key", ["program_id"])
    op.create_foreign_key(
        op.f("fk_partner_key_program_id_program"),
        "partner_key",
        "program",
        ["program_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.execute(FROM_AUDIT)


def downgrade() -> None:
    op.drop_constraint(op.f("fk_partner_key_program_id_program"), "partner_key", type_="foreignkey")
    op.drop_index(op.f("ix_partner_key_program_id"), table_name="partner_key")
    op.drop_column("partner_key", "program_id")
