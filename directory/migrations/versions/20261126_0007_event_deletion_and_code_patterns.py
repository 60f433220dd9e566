"""referral events go only with their referral; a program's mentee code pattern

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# A DELETE on referral_event is refused unless it is the cascade of deleting the referral (an
# erasure request): the cascade runs inside the foreign key's own trigger, so this trigger
# then fires one level deeper, and the referral is gone already. TRUNCATE is refused too.
# (This guards against mistakes: the tables' owner can drop a trigger.)
EVENTS_GO_WITH_THEIR_REFERRAL = """
CREATE FUNCTION referral_event_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1
        AND NOT EXISTS (SELECT 1 FROM referral WHERE id = OLD.referral_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'referral events go only with their referral (delete the referral)';
END $$;
CREATE TRIGGER referral_event_no_delete BEFORE DELETE ON referral_event
    FOR EACH ROW EXECUTE FUNCTION referral_event_no_delete();
CREATE TRIGGER referral_event_no_truncate BEFORE TRUNCATE ON referral_event
    FOR EACH STATEMENT EXECUTE FUNCTION referral_event_no_delete();
"""
revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(EVENTS_GO_WITH_THEIR_REFERRAL)
    op.add_column("program", sa.Column("mentee_ref_pattern", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("program", "mentee_ref_pattern")
    op.execute("DROP TRIGGER referral_event_no_truncate ON referral_event")
    op.execute("DROP TRIGGER referral_event_no_delete ON referral_event")
    op.execute("DROP FUNCTION referral_event_no_delete()")
