"""Staff accounts: closing (users.closed_at), the token_version every access token carries, the account_events
audit of closing and moving them, and a NOTIFY on account_changes when an account's powers change

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 18:41:16.323571+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import execute_script

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("CITIZEN", "OFFICER", "AUDITOR", "ADMIN")

# Every API process LISTENs on account_changes (api/access.py): it forgets the account's cached state and ends the
# account's subscriptions that no longer may run. Whatever changes the row (a mutation, jsc, SQL by hand) is heard.
ACCOUNT_NOTIFY = """
CREATE OR REPLACE FUNCTION jsc_account_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('account_changes', json_build_object('userId', OLD.id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER users_changed_notify
    AFTER UPDATE OF role, unit_id, token_version, closed_at ON users FOR EACH ROW
    WHEN (
        OLD.role IS DISTINCT FROM NEW.role OR OLD.unit_id IS DISTINCT FROM NEW.unit_id
        OR OLD.token_version IS DISTINCT FROM NEW.token_version OR OLD.closed_at IS DISTINCT FROM NEW.closed_at
    )
    EXECUTE FUNCTION jsc_account_changed_notify();
CREATE TRIGGER users_deleted_notify AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION jsc_account_changed_notify();
"""


def _role(name: str) -> sa.Enum:
    return sa.Enum(*ROLES, name=name, native_enum=False, create_constraint=True, length=24)


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column(
            "closed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="staff accounts closed by an admin: no login, no session, no push",
        ),
    )
    op.add_column(
        "users",
        sa.Column(
            "token_version",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="in every access token; bumped when the account's powers change, which ends the tokens issued "
            "before",
        ),
    )
    op.create_table(
        "account_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True, comment="the admin; NULL for the jsc command (an operator)"),
        sa.Column(
            "kind",
            sa.Enum("CLOSED", "MOVED", name="account_event_kind", native_enum=False, create_constraint=True, length=24),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("from_role", _role("from_role"), nullable=False),
        sa.Column("to_role", _role("to_role"), nullable=False),
        sa.Column("from_unit_id", sa.Integer(), nullable=True),
        sa.Column("to_unit_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_account_events_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["from_unit_id"], ["units.id"], name=op.f("fk_account_events_from_unit_id_units")),
        sa.ForeignKeyConstraint(["to_unit_id"], ["units.id"], name=op.f("fk_account_events_to_unit_id_units")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_events")),
    )
    op.create_index(op.f("ix_account_events_user_id"), "account_events", ["user_id"], unique=False)
    execute_script(ACCOUNT_NOTIFY)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS users_deleted_notify ON users")
    op.execute("DROP TRIGGER IF EXISTS users_changed_notify ON users")
    op.execute("DROP FUNCTION IF EXISTS jsc_account_changed_notify()")
    op.drop_index(op.f("ix_account_events_user_id"), table_name="account_events")
    op.drop_table("account_events")
    op.drop_column("users", "token_version")
    op.drop_column("users", "closed_at")
