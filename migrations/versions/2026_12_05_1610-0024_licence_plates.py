"""Licence plates of busway and no-stopping violators: the ENFORCEMENT staff role, a per-rule `read_plates` switch
(off by default), the plates read with an alert (their own table, outside every alert payload) and the audit of
every look at them

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = "'CITIZEN', 'OFFICER', 'AUDITOR', 'ADMIN'"
NEW_ROLES = f"{OLD_ROLES}, 'ENFORCEMENT'"
# Roles are text with a CHECK (domain.models.base.text_enum): the users' role and an account event's two roles.
ROLE_CHECKS = (
    ("users", "role", "role"),
    ("account_events", "from_role", "from_role"),
    ("account_events", "to_role", "to_role"),
)


def _roles(values: str) -> None:
    for table, column, name in ROLE_CHECKS:
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, f"{column} IN ({values})")


def upgrade() -> None:
    _roles(NEW_ROLES)
    op.add_column(
        "cctv_watch_rules",
        sa.Column(
            "read_plates",
            sa.Boolean(),
            server_default="false",
            nullable=False,
            comment="BUSWAY and NO_STOPPING only: read the violators' plates with each alert",
        ),
    )
    op.create_check_constraint(
        op.f("ck_cctv_watch_rules_plates_for_violations"),
        "cctv_watch_rules",
        "NOT read_plates OR kind IN ('BUSWAY', 'NO_STOPPING')",
    )
    op.create_table(
        "cctv_alert_plates",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("track", sa.Integer(), nullable=False, comment="the alert's object (objects[].track) it was read on"),
        sa.Column("text", sa.String(length=16), nullable=False, comment="normalised: 'B 1234 XYZ'"),
        sa.Column("confidence", sa.Float(), nullable=False, comment="the OCR's mean character confidence, 0-1"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["cctv_alerts.id"], name=op.f("fk_cctv_alert_plates_alert_id_cctv_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cctv_alert_plates")),
        sa.UniqueConstraint("alert_id", "track", name=op.f("uq_cctv_alert_plates_alert_id_track")),
    )
    op.create_table(
        "plate_read_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("reader_id", sa.Uuid(), nullable=False),
        sa.Column(
            "client_address", sa.String(length=64), nullable=True, comment="the reader's address as the API saw it"
        ),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("plates", sa.SmallInteger(), nullable=False, comment="how many plates the read returned"),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["reader_id"], ["users.id"], name=op.f("fk_plate_read_events_reader_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_read_events")),
    )
    op.create_index(op.f("ix_plate_read_events_alert_id"), "plate_read_events", ["alert_id"])
    op.create_index(op.f("ix_plate_read_events_reader_id"), "plate_read_events", ["reader_id"])


def downgrade() -> None:
    op.drop_table("plate_read_events")
    op.drop_table("cctv_alert_plates")
    op.drop_constraint(op.f("ck_cctv_watch_rules_plates_for_violations"), "cctv_watch_rules", type_="check")
    op.drop_column("cctv_watch_rules", "read_plates")
    # Enforcement staff read what auditors read, plates apart; with the plates gone they become auditors (and so
    # do the roles in their account history), which gives none of them more than they had.
    op.execute("UPDATE users SET role = 'AUDITOR' WHERE role = 'ENFORCEMENT'")
    op.execute("UPDATE account_events SET from_role = 'AUDITOR' WHERE from_role = 'ENFORCEMENT'")
    op.execute("UPDATE account_events SET to_role = 'AUDITOR' WHERE to_role = 'ENFORCEMENT'")
    _roles(OLD_ROLES)
