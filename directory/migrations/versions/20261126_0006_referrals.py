"""referrals: programs, referrals and their append-only events, the audit log

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 01:47:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Events and the audit log are append-only, in the database too. Only an event's encrypted
# text may change (re-encrypted under a new key, or stripped by the retention purge); events go
# away only with their referral (an erasure request); audit rows never.
APPEND_ONLY = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE FUNCTION referral_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.referral_id, NEW.seq, NEW.type, NEW.at, NEW.actor_id,
        NEW.data) IS NOT DISTINCT FROM (OLD.id, OLD.referral_id, OLD.seq, OLD.type, OLD.at,
        OLD.actor_id, OLD.data) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'referral events are append-only';
END $$;
CREATE TRIGGER referral_event_append_only BEFORE UPDATE ON referral_event
    FOR EACH ROW EXECUTE FUNCTION referral_event_append_only();
"""
revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "program",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program")),
        sa.UniqueConstraint("name", name=op.f("uq_program_name")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("program_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_actor_id"), "audit_log", ["actor_id"], unique=False)
    op.create_index(op.f("ix_audit_log_program_id"), "audit_log", ["program_id"], unique=False)
    op.create_index(op.f("ix_audit_log_referral_id"), "audit_log", ["referral_id"], unique=False)
    op.create_table(
        "referral",
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("mentor_id", sa.Uuid(), nullable=False),
        sa.Column("mentee_ref", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("needs", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("contact_preference", sa.String(length=24), nullable=False),
        sa.Column("consent", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("sub_status", sa.String(length=32), nullable=True),
        sa.Column("follow_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "contact_preference IN ('mentee-will-contact', 'mentor-will-contact', 'service-may-contact', 'do-not-contact')",
            name=op.f("ck_referral_contact"),
        ),
        sa.CheckConstraint("priority IN ('routine', 'urgent')", name=op.f("ck_referral_priority")),
        sa.CheckConstraint(
            "status IN ('requested', 'accepted', 'rejected', 'cancelled', 'in-progress', 'on-hold', 'completed', 'failed', 'entered-in-error')",
            name=op.f("ck_referral_status"),
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["user_account.id"], name=op.f("fk_referral_mentor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_referral_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_referral_service_id_service")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
        sa.UniqueConstraint(
            "mentor_id", "idempotency_key", name=op.f("uq_referral_mentor_id_idempotency_key")
        ),
    )
    op.create_index(
        "ix_referral_follow_up", "referral", ["mentor_id", "follow_up_at"], unique=False
    )
    op.create_index(op.f("ix_referral_mentee_ref"), "referral", ["mentee_ref"], unique=False)
    op.create_index(op.f("ix_referral_program_id"), "referral", ["program_id"], unique=False)
    op.create_index(op.f("ix_referral_service_id"), "referral", ["service_id"], unique=False)
    op.create_table(
        "referral_event",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("text", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"], name=op.f("fk_referral_event_actor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral.id"],
            name=op.f("fk_referral_event_referral_id_referral"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_event")),
        sa.UniqueConstraint("referral_id", "seq", name=op.f("uq_referral_event_referral_id_seq")),
    )
    op.create_index(
        op.f("ix_referral_event_referral_id"), "referral_event", ["referral_id"], unique=False
    )
    op.add_column("user_account", sa.Column("program_id", sa.Uuid(), nullable=True))
    op.create_index(
        op.f("ix_user_account_program_id"), "user_account", ["program_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_user_account_program_id_program"),
        "user_account",
        "program",
        ["program_id"],
        ["id"],
    )
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    op.execute("DROP TRIGGER referral_event_append_only ON referral_event")
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION referral_event_append_only(), audit_log_append_only()")
    op.drop_constraint(
        op.f("fk_user_account_program_id_program"), "user_account", type_="foreignkey"
    )
    op.drop_index(op.f("ix_user_account_program_id"), table_name="user_account")
    op.drop_column("user_account", "program_id")
    op.drop_index(op.f("ix_referral_event_referral_id"), table_name="referral_event")
    op.drop_table("referral_event")
    op.drop_index(op.f("ix_referral_service_id"), table_name="referral")
    op.drop_index(op.f("ix_referral_program_id"), table_name="referral")
    op.drop_index(op.f("ix_referral_mentee_ref"), table_name="referral")
    op.drop_index("ix_referral_follow_up", table_name="referral")
    op.drop_table("referral")
    op.drop_index(op.f("ix_audit_log_referral_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_program_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("program")
