"""report_cells at three cell sizes (0.005, 0.02, 0.08 degrees) so a whole-city cluster view reads few rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.helpers import execute_script

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Level L cells are 0.005 * 4^L degrees; a level-L cell index is floor(level-0 index / 4^L).
APPLY = """
CREATE OR REPLACE FUNCTION jsc_report_cells_apply(r reports, delta integer) RETURNS void
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
    INSERT INTO report_cells AS rc (level, cell_x, cell_y, category_id, status, count, sum_lon, sum_lat)
    SELECT l.level, floor(lon / l.size)::integer, floor(lat / l.size)::integer, r.category_id, r.status,
           delta, delta * lon, delta * lat
    FROM (VALUES (0, 0.005::float8), (1, 0.02::float8), (2, 0.08::float8)) AS l(level, size)
    ON CONFLICT (level, cell_x, cell_y, category_id, status) DO UPDATE
        SET count = rc.count + excluded.count,
            sum_lon = rc.sum_lon + excluded.sum_lon,
            sum_lat = rc.sum_lat + excluded.sum_lat;
END;
$$;
"""

APPLY_0004 = """
CREATE OR REPLACE FUNCTION jsc_report_cells_apply(r reports, delta integer) RETURNS void
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
"""

COARSER = """
INSERT INTO report_cells (level, cell_x, cell_y, category_id, status, count, sum_lon, sum_lat)
SELECT l.level, floor(rc.cell_x / l.factor)::integer, floor(rc.cell_y / l.factor)::integer, rc.category_id,
       rc.status, sum(rc.count), sum(rc.sum_lon), sum(rc.sum_lat)
FROM report_cells rc CROSS JOIN (VALUES (1, 4.0::float8), (2, 16.0::float8)) AS l(level, factor)
WHERE rc.level = 0 AND rc.count <> 0
GROUP BY 1, 2, 3, 4, 5
"""


def upgrade() -> None:
    op.add_column("report_cells", sa.Column("level", sa.SmallInteger(), server_default="0", nullable=False))
    op.drop_constraint("pk_report_cells", "report_cells", type_="primary")
    op.create_primary_key("pk_report_cells", "report_cells", ["level", "cell_x", "cell_y", "category_id", "status"])
    execute_script(APPLY)
    op.execute(COARSER)


def downgrade() -> None:
    op.execute("DELETE FROM report_cells WHERE level <> 0")
    op.drop_constraint("pk_report_cells", "report_cells", type_="primary")
    op.create_primary_key("pk_report_cells", "report_cells", ["cell_x", "cell_y", "category_id", "status"])
    op.drop_column("report_cells", "level")
    execute_script(APPLY_0004)
