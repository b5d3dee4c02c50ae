"""foundation: PostGIS, procrastinate's schema, boundaries, catalogue, accounts, reports, photos

Revision ID: 0001
Revises:
Create Date: 2026-11-23 16:25:54.392989+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from procrastinate.schema import SchemaManager

from migrations.helpers import execute_script

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    # The job queue's tables live in the same database so a job can be deferred next to the data it names.
    execute_script(SchemaManager.get_schema())
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "per_kota",
            sa.Boolean(),
            nullable=False,
            comment="one office per kota (Suku Dinas) or one for the city",
        ),
        sa.Column(
            "external",
            sa.Boolean(),
            nullable=False,
            comment="outside the city government (PAM Jaya, PLN, Polri)",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
    )
    op.create_geospatial_table(
        "kota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "code",
            sa.String(length=16),
            nullable=False,
            comment="Kemendagri code, e.g. 31.73",
        ),
        sa.Column("bps_code", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("official_name", sa.String(length=200), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kota")),
        sa.UniqueConstraint("code", name=op.f("uq_kota_code")),
    )
    op.create_geospatial_index(
        "idx_kota_geom",
        "kota",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_id", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column(
            "first_handler",
            sa.Enum(
                "KELURAHAN",
                "KECAMATAN",
                "KOTA",
                "AGENCY",
                "EXTERNAL",
                name="unit_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column(
            "sensitive",
            sa.Boolean(),
            nullable=False,
            comment="location is coarsened in public views",
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_categories_agency_code_agencies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_categories_code")),
    )
    op.create_geospatial_table(
        "kecamatan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("bps_code", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kota_id", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["kota_id"], ["kota.id"], name=op.f("fk_kecamatan_kota_id_kota")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kecamatan")),
        sa.UniqueConstraint("code", name=op.f("uq_kecamatan_code")),
    )
    op.create_geospatial_index(
        "idx_kecamatan_geom",
        "kecamatan",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_kecamatan_kota_id"), "kecamatan", ["kota_id"], unique=False)
    op.create_geospatial_table(
        "kelurahan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("bps_code", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kecamatan_id", sa.Integer(), nullable=False),
        sa.Column("kota_id", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["kecamatan_id"],
            ["kecamatan.id"],
            name=op.f("fk_kelurahan_kecamatan_id_kecamatan"),
        ),
        sa.ForeignKeyConstraint(["kota_id"], ["kota.id"], name=op.f("fk_kelurahan_kota_id_kota")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kelurahan")),
        sa.UniqueConstraint("code", name=op.f("uq_kelurahan_code")),
    )
    op.create_geospatial_index(
        "idx_kelurahan_geom",
        "kelurahan",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_kelurahan_kecamatan_id"), "kelurahan", ["kecamatan_id"], unique=False)
    op.create_index(op.f("ix_kelurahan_kota_id"), "kelurahan", ["kota_id"], unique=False)
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "KELURAHAN",
                "KECAMATAN",
                "KOTA",
                "AGENCY",
                "EXTERNAL",
                name="unit_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=240), nullable=False),
        sa.Column("kelurahan_id", sa.Integer(), nullable=True),
        sa.Column("kecamatan_id", sa.Integer(), nullable=True),
        sa.Column("kota_id", sa.Integer(), nullable=True),
        sa.Column("agency_code", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_units_agency_code_agencies"),
        ),
        sa.ForeignKeyConstraint(
            ["kecamatan_id"],
            ["kecamatan.id"],
            name=op.f("fk_units_kecamatan_id_kecamatan"),
        ),
        sa.ForeignKeyConstraint(
            ["kelurahan_id"],
            ["kelurahan.id"],
            name=op.f("fk_units_kelurahan_id_kelurahan"),
        ),
        sa.ForeignKeyConstraint(["kota_id"], ["kota.id"], name=op.f("fk_units_kota_id_kota")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
    )
    op.create_index(op.f("ix_units_kecamatan_id"), "units", ["kecamatan_id"], unique=False)
    op.create_index(op.f("ix_units_kelurahan_id"), "units", ["kelurahan_id"], unique=False)
    op.create_index(op.f("ix_units_kota_id"), "units", ["kota_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True, comment="stored lower-case"),
        sa.Column(
            "phone",
            sa.String(length=20),
            nullable=True,
            comment="E.164, e.g. +6281234567890",
        ),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "CITIZEN",
                "OFFICER",
                "AUDITOR",
                "ADMIN",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(role = 'OFFICER') = (unit_id IS NOT NULL)",
            name=op.f("ck_users_officer_has_unit"),
        ),
        sa.CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name=op.f("ck_users_has_login")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_users_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("phone", name=op.f("uq_users_phone")),
    )
    op.create_index(op.f("ix_users_unit_id"), "users", ["unit_id"], unique=False)
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column(
            "token_hash",
            sa.LargeBinary(length=32),
            nullable=False,
            comment="sha256 of the token",
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_refresh_tokens_family_id"),
        "refresh_tokens",
        ["family_id"],
        unique=False,
    )
    op.create_index(op.f("ix_refresh_tokens_user_id"), "refresh_tokens", ["user_id"], unique=False)
    op.create_geospatial_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=True),
        sa.Column("client_request_id", sa.String(length=64), nullable=False),
        sa.Column(
            "fingerprint",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of the submitted content, for retries",
        ),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "location",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("kelurahan_id", sa.Integer(), nullable=False),
        sa.Column("kecamatan_id", sa.Integer(), nullable=False),
        sa.Column("kota_id", sa.Integer(), nullable=False),
        sa.Column(
            "routing_distance_m",
            sa.Float(),
            nullable=False,
            comment="0 inside the kelurahan; else the distance to it (gap or coast)",
        ),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "WAITING",
                "COORDINATION",
                "DISPOSITION",
                "IN_PROGRESS",
                "COMPLETED",
                "REJECTED",
                "DUPLICATE",
                "REOPENED",
                name="report_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_reports_category_id_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["kecamatan_id"],
            ["kecamatan.id"],
            name=op.f("fk_reports_kecamatan_id_kecamatan"),
        ),
        sa.ForeignKeyConstraint(
            ["kelurahan_id"],
            ["kelurahan.id"],
            name=op.f("fk_reports_kelurahan_id_kelurahan"),
        ),
        sa.ForeignKeyConstraint(["kota_id"], ["kota.id"], name=op.f("fk_reports_kota_id_kota")),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
            name=op.f("fk_reports_reporter_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_reports_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint(
            "reporter_id",
            "client_request_id",
            name=op.f("uq_reports_reporter_id_client_request_id"),
        ),
    )
    op.create_geospatial_index(
        "idx_reports_location",
        "reports",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_reports_kecamatan_id"), "reports", ["kecamatan_id"], unique=False)
    op.create_index(
        "ix_reports_kelurahan_created",
        "reports",
        ["kelurahan_id", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_reports_kota_id"), "reports", ["kota_id"], unique=False)
    op.create_index(
        "ix_reports_reporter_created",
        "reports",
        ["reporter_id", "created_at"],
        unique=False,
    )
    op.create_index("ix_reports_unit_status", "reports", ["unit_id", "status"], unique=False)
    op.create_table(
        "photos",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column(
            "upload_key",
            sa.String(length=200),
            nullable=False,
            comment="where the client uploaded it",
        ),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("declared_bytes", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "REQUESTED",
                "ATTACHED",
                "READY",
                "FAILED",
                name="photo_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("image_key", sa.String(length=200), nullable=True),
        sa.Column("thumb_key", sa.String(length=200), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_photos_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_photos_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
        sa.UniqueConstraint("upload_key", name=op.f("uq_photos_upload_key")),
    )
    op.create_index(op.f("ix_photos_owner_id"), "photos", ["owner_id"], unique=False)
    op.create_index(
        "ix_photos_pending",
        "photos",
        ["created_at"],
        unique=False,
        postgresql_where="status = 'ATTACHED'",
    )
    op.create_index("ix_photos_report", "photos", ["report_id", "position"], unique=False)
    op.create_table(
        "report_status_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "WAITING",
                "COORDINATION",
                "DISPOSITION",
                "IN_PROGRESS",
                "COMPLETED",
                "REJECTED",
                "DUPLICATE",
                "REOPENED",
                name="from_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "WAITING",
                "COORDINATION",
                "DISPOSITION",
                "IN_PROGRESS",
                "COMPLETED",
                "REJECTED",
                "DUPLICATE",
                "REOPENED",
                name="to_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("public_note", sa.Text(), nullable=True),
        sa.Column("internal_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_report_status_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_status_changes_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_status_changes")),
    )
    op.create_index(
        op.f("ix_report_status_changes_report_id"),
        "report_status_changes",
        ["report_id"],
        unique=False,
    )


def downgrade() -> None:
    # procrastinate's schema and the PostGIS extension stay: other code may share them.
    op.drop_index(op.f("ix_report_status_changes_report_id"), table_name="report_status_changes")
    op.drop_table("report_status_changes")
    op.drop_index("ix_photos_report", table_name="photos")
    op.drop_index("ix_photos_pending", table_name="photos", postgresql_where="status = 'ATTACHED'")
    op.drop_index(op.f("ix_photos_owner_id"), table_name="photos")
    op.drop_table("photos")
    op.drop_index("ix_reports_unit_status", table_name="reports")
    op.drop_index("ix_reports_reporter_created", table_name="reports")
    op.drop_index(op.f("ix_reports_kota_id"), table_name="reports")
    op.drop_index("ix_reports_kelurahan_created", table_name="reports")
    op.drop_index(op.f("ix_reports_kecamatan_id"), table_name="reports")
    op.drop_geospatial_index(
        "idx_reports_location",
        table_name="reports",
        postgresql_using="gist",
        column_name="location",
    )
    op.drop_geospatial_table("reports")
    op.drop_index(op.f("ix_refresh_tokens_user_id"), table_name="refresh_tokens")
    op.drop_index(op.f("ix_refresh_tokens_family_id"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(op.f("ix_users_unit_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_units_kota_id"), table_name="units")
    op.drop_index(op.f("ix_units_kelurahan_id"), table_name="units")
    op.drop_index(op.f("ix_units_kecamatan_id"), table_name="units")
    op.drop_table("units")
    op.drop_index(op.f("ix_kelurahan_kota_id"), table_name="kelurahan")
    op.drop_index(op.f("ix_kelurahan_kecamatan_id"), table_name="kelurahan")
    op.drop_geospatial_index(
        "idx_kelurahan_geom",
        table_name="kelurahan",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("kelurahan")
    op.drop_index(op.f("ix_kecamatan_kota_id"), table_name="kecamatan")
    op.drop_geospatial_index(
        "idx_kecamatan_geom",
        table_name="kecamatan",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("kecamatan")
    op.drop_table("categories")
    op.drop_geospatial_index("idx_kota_geom", table_name="kota", postgresql_using="gist", column_name="geom")
    op.drop_geospatial_table("kota")
    op.drop_table("agencies")
