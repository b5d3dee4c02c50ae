"""officer workflow: routing rules, SLA, assignment, history kinds, after-photos, followers, devices, notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:00:00+00:00

Reports filed before this migration have no deadlines (due_at NULL): the SLA clock starts with new
reports. The city-wide routing rules are seeded by `jsc load-jakarta` from the category catalogue.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.String(length=4096), nullable=False),
        sa.Column(
            "platform",
            sa.Enum(
                "ANDROID", "IOS", "WEB", name="device_platform", native_enum=False, create_constraint=True, length=24
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_devices_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("token", name=op.f("uq_devices_token")),
    )
    op.create_index(op.f("ix_devices_user_id"), "devices", ["user_id"], unique=False)
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("kota_id", sa.Integer(), nullable=True),
        sa.Column("kecamatan_id", sa.Integer(), nullable=True),
        sa.Column("kelurahan_id", sa.Integer(), nullable=True),
        sa.Column(
            "handler",
            sa.Enum(
                "KELURAHAN",
                "KECAMATAN",
                "KOTA",
                "AGENCY",
                "UNIT",
                name="routing_handler",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("agency_code", sa.String(length=40), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(handler = 'AGENCY') = (agency_code IS NOT NULL)",
            name=op.f("ck_routing_rules_agency_handler_names_agency"),
        ),
        sa.CheckConstraint(
            "(handler = 'UNIT') = (unit_id IS NOT NULL)", name=op.f("ck_routing_rules_unit_handler_names_unit")
        ),
        sa.CheckConstraint(
            "num_nonnulls(kota_id, kecamatan_id, kelurahan_id) <= 1", name=op.f("ck_routing_rules_at_most_one_area")
        ),
        sa.ForeignKeyConstraint(["agency_code"], ["agencies.code"], name=op.f("fk_routing_rules_agency_code_agencies")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_routing_rules_category_id_categories"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["kecamatan_id"], ["kecamatan.id"], name=op.f("fk_routing_rules_kecamatan_id_kecamatan")
        ),
        sa.ForeignKeyConstraint(
            ["kelurahan_id"], ["kelurahan.id"], name=op.f("fk_routing_rules_kelurahan_id_kelurahan")
        ),
        sa.ForeignKeyConstraint(["kota_id"], ["kota.id"], name=op.f("fk_routing_rules_kota_id_kota")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_routing_rules_unit_id_units")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_routing_rules_updated_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
        sa.UniqueConstraint(
            "category_id",
            "kota_id",
            "kecamatan_id",
            "kelurahan_id",
            name=op.f("uq_routing_rules_category_id_kota_id_kecamatan_id_kelurahan_id"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(op.f("ix_routing_rules_category_id"), "routing_rules", ["category_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "push_status",
            sa.Enum(
                "PENDING",
                "SENDING",
                "SENT",
                "NO_DEVICE",
                "INBOX_ONLY",
                "FAILED",
                name="push_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("push_attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "push_next_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
            comment="not before: backoff after a transient error",
        ),
        sa.Column("push_lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("push_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_notifications_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_inbox", "notifications", ["user_id", "id"], unique=False)
    op.create_index(
        "ix_notifications_push_due",
        "notifications",
        ["push_next_at"],
        unique=False,
        postgresql_where="push_status IN ('PENDING', 'SENDING')",
    )
    op.create_index(op.f("ix_notifications_report_id"), "notifications", ["report_id"], unique=False)
    op.create_table(
        "report_followers",
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_followers_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_report_followers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("report_id", "user_id", name=op.f("pk_report_followers")),
    )
    op.create_index(op.f("ix_report_followers_user_id"), "report_followers", ["user_id"], unique=False)
    op.add_column(
        "categories",
        sa.Column(
            "response_hours",
            sa.Float(),
            server_default="8",
            nullable=False,
            comment="SLA: working hours from filing to the first response",
        ),
    )
    op.add_column(
        "categories",
        sa.Column(
            "completion_hours",
            sa.Float(),
            server_default="40",
            nullable=False,
            comment="SLA: working hours from filing to completion",
        ),
    )
    op.add_column(
        "photos",
        sa.Column(
            "kind",
            sa.Enum("REPORT", "AFTER", name="photo_kind", native_enum=False, create_constraint=True, length=24),
            server_default="REPORT",
            nullable=False,
        ),
    )
    op.add_column(
        "report_status_changes",
        sa.Column(
            "kind",
            sa.Enum(
                "STATUS",
                "ASSIGNMENT",
                "ESCALATION",
                "REROUTE",
                name="history_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            server_default="STATUS",
            nullable=False,
        ),
    )
    op.add_column("report_status_changes", sa.Column("from_unit_id", sa.Integer(), nullable=True))
    op.add_column("report_status_changes", sa.Column("to_unit_id", sa.Integer(), nullable=True))
    op.add_column("report_status_changes", sa.Column("assignee_id", sa.Uuid(), nullable=True))
    op.add_column("report_status_changes", sa.Column("escalation_level", sa.SmallInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_report_status_changes_assignee_id_users"),
        "report_status_changes",
        "users",
        ["assignee_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_report_status_changes_from_unit_id_units"), "report_status_changes", "units", ["from_unit_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_report_status_changes_to_unit_id_units"), "report_status_changes", "units", ["to_unit_id"], ["id"]
    )
    op.add_column(
        "reports", sa.Column("assignee_id", sa.Uuid(), nullable=True, comment="the officer of the unit working on it")
    )
    op.add_column("reports", sa.Column("duplicate_of_id", sa.Uuid(), nullable=True))
    op.add_column("reports", sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reports", sa.Column("completion_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "reports",
        sa.Column(
            "due_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="the next deadline: response, then completion; NULL once closed",
        ),
    )
    op.add_column("reports", sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reports", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "reports",
        sa.Column(
            "escalation_level",
            sa.SmallInteger(),
            server_default="0",
            nullable=False,
            comment="0 none, 1 camat (response missed), 2 walikota (completion missed)",
        ),
    )
    op.create_index("ix_reports_kecamatan_due", "reports", ["kecamatan_id", "due_at"], unique=False)
    op.create_index("ix_reports_kelurahan_due", "reports", ["kelurahan_id", "due_at"], unique=False)
    op.create_index("ix_reports_kota_due", "reports", ["kota_id", "due_at"], unique=False)
    op.create_index("ix_reports_open_due", "reports", ["due_at"], unique=False, postgresql_where="due_at IS NOT NULL")
    op.create_index("ix_reports_unit_due", "reports", ["unit_id", "due_at"], unique=False)
    op.create_foreign_key(
        op.f("fk_reports_duplicate_of_id_reports"),
        "reports",
        "reports",
        ["duplicate_of_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_reports_assignee_id_users"), "reports", "users", ["assignee_id"], ["id"], ondelete="SET NULL"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_reports_assignee_id_users"), "reports", type_="foreignkey")
    op.drop_constraint(op.f("fk_reports_duplicate_of_id_reports"), "reports", type_="foreignkey")
    op.drop_index("ix_reports_unit_due", table_name="reports")
    op.drop_index("ix_reports_open_due", table_name="reports", postgresql_where="due_at IS NOT NULL")
    op.drop_index("ix_reports_kota_due", table_name="reports")
    op.drop_index("ix_reports_kelurahan_due", table_name="reports")
    op.drop_index("ix_reports_kecamatan_due", table_name="reports")
    op.drop_column("reports", "escalation_level")
    op.drop_column("reports", "closed_at")
    op.drop_column("reports", "first_response_at")
    op.drop_column("reports", "due_at")
    op.drop_column("reports", "completion_due_at")
    op.drop_column("reports", "response_due_at")
    op.drop_column("reports", "duplicate_of_id")
    op.drop_column("reports", "assignee_id")
    op.drop_constraint(op.f("fk_report_status_changes_to_unit_id_units"), "report_status_changes", type_="foreignkey")
    op.drop_constraint(op.f("fk_report_status_changes_from_unit_id_units"), "report_status_changes", type_="foreignkey")
    op.drop_constraint(op.f("fk_report_status_changes_assignee_id_users"), "report_status_changes", type_="foreignkey")
    op.drop_column("report_status_changes", "escalation_level")
    op.drop_column("report_status_changes", "assignee_id")
    op.drop_column("report_status_changes", "to_unit_id")
    op.drop_column("report_status_changes", "from_unit_id")
    op.drop_column("report_status_changes", "kind")
    op.drop_column("photos", "kind")
    op.drop_column("categories", "completion_hours")
    op.drop_column("categories", "response_hours")
    op.drop_index(op.f("ix_report_followers_user_id"), table_name="report_followers")
    op.drop_table("report_followers")
    op.drop_index(op.f("ix_notifications_report_id"), table_name="notifications")
    op.drop_index(
        "ix_notifications_push_due",
        table_name="notifications",
        postgresql_where="push_status IN ('PENDING', 'SENDING')",
    )
    op.drop_index("ix_notifications_inbox", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index(op.f("ix_routing_rules_category_id"), table_name="routing_rules")
    op.drop_table("routing_rules")
    op.drop_index(op.f("ix_devices_user_id"), table_name="devices")
    op.drop_table("devices")
