"""public map: confidential reports, report_cells kept by a trigger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:00:37.785178+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import execute_script

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# One report's share of its grid cell: +1 when it appears (or moves in), -1 when it leaves. Confidential
# reports are never counted; sensitive categories count at a position rounded to 0.001 degrees.
CELL_FUNCTIONS = """
CREATE FUNCTION jsc_report_cells_apply(r reports, delta integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lon float8 := ST_X(r.location);
    lat float8 := ST_Y(r.location);
BEGIN
    IF r.confidential THEN
        RETURN;
    END IF;
    IF (SELECT c.sensitive FROM categories c WHERE c.id = r.category_id) THEN
        lon := round(lon::numeric, 3)::float8;
        lat := round(lat::numeric, 3)::float8;
    END IF;
    INSERT INTO report_cells AS rc (cell_x, cell_y, category_id, status, count, sum_lon, sum_lat)
    VALUES (floor(lon / 0.005)::integer, floor(lat / 0.005)::integer, r.category_id, r.status,
            delta, delta * lon, delta * lat)
    ON CONFLICT (cell_x, cell_y, category_id, status) DO UPDATE
        SET count = rc.count + excluded.count,
            sum_lon = rc.sum_lon + excluded.sum_lon,
            sum_lat = rc.sum_lat + excluded.sum_lat;
END;
$$;

CREATE FUNCTION jsc_report_cells_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM jsc_report_cells_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM jsc_report_cells_apply(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER reports_cells_insert_delete AFTER INSERT OR DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION jsc_report_cells_trigger();

CREATE TRIGGER reports_cells_update AFTER UPDATE OF status, category_id, location, confidential ON reports
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category_id IS DISTINCT FROM NEW.category_id
          OR NOT ST_Equals(OLD.location, NEW.location) OR OLD.confidential IS DISTINCT FROM NEW.confidential)
    EXECUTE FUNCTION jsc_report_cells_trigger();
"""

BACKFILL = """
INSERT INTO report_cells (cell_x, cell_y, category_id, status, count, sum_lon, sum_lat)
SELECT floor(p.lon / 0.005)::integer, floor(p.lat / 0.005)::integer, p.category_id, p.status, count(*), sum(p.lon), sum(p.lat)
FROM (
    SELECT r.category_id, r.status,
        CASE WHEN c.sensitive THEN round(ST_X(r.location)::numeric, 3)::float8 ELSE ST_X(r.location) END AS lon,
        CASE WHEN c.sensitive THEN round(ST_Y(r.location)::numeric, 3)::float8 ELSE ST_Y(r.location) END AS lat
    FROM reports r JOIN categories c ON c.id = r.category_id
    WHERE NOT r.confidential
) p
GROUP BY 1, 2, 3, 4
"""


def upgrade() -> None:
    op.create_table(
        "report_cells",
        sa.Column("cell_x", sa.Integer(), nullable=False),
        sa.Column("cell_y", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
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
                name="cell_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("sum_lon", sa.Float(), nullable=False),
        sa.Column("sum_lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_report_cells_category_id_categories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("cell_x", "cell_y", "category_id", "status", name=op.f("pk_report_cells")),
    )
    op.add_column(
        "categories",
        sa.Column(
            "confidential",
            sa.Boolean(),
            server_default="false",
            nullable=False,
            comment="its reports are never public (terrorism threats)",
        ),
    )
    op.add_column(
        "reports",
        sa.Column(
            "confidential",
            sa.Boolean(),
            server_default="false",
            nullable=False,
            comment="staff only: absent from every public view",
        ),
    )
    execute_script(CELL_FUNCTIONS)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER reports_cells_update ON reports")
    op.execute("DROP TRIGGER reports_cells_insert_delete ON reports")
    op.execute("DROP FUNCTION jsc_report_cells_trigger()")
    op.execute("DROP FUNCTION jsc_report_cells_apply(reports, integer)")
    op.drop_column("reports", "confidential")
    op.drop_column("categories", "confidential")
    op.drop_table("report_cells")
