"""report_events: NOTIFY on every public report created or moved to another status

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 23:00:00+00:00

The payload is public (the live map): no reporter, confidential reports never sent, sensitive categories at
a position rounded to 0.001 degrees. NOTIFY is transactional: listeners hear of a report once it committed.
"""

from collections.abc import Sequence

from alembic import op

from migrations.helpers import execute_script

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY = """
CREATE FUNCTION jsc_report_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    category categories;
    lon float8 := ST_X(NEW.location);
    lat float8 := ST_Y(NEW.location);
BEGIN
    IF NEW.confidential THEN
        RETURN NULL;
    END IF;
    SELECT * INTO category FROM categories c WHERE c.id = NEW.category_id;
    IF category.sensitive THEN
        lon := round(lon::numeric, 3)::float8;
        lat := round(lat::numeric, 3)::float8;
    END IF;
    PERFORM pg_notify('report_events', json_build_object(
        'kind', CASE WHEN TG_OP = 'INSERT' THEN 'CREATED' ELSE 'STATUS_CHANGED' END,
        'id', NEW.id, 'lon', lon, 'lat', lat, 'category', category.code, 'status', NEW.status,
        'createdAt', NEW.created_at
    )::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER reports_events_insert AFTER INSERT ON reports
    FOR EACH ROW EXECUTE FUNCTION jsc_report_events_notify();

CREATE TRIGGER reports_events_update AFTER UPDATE OF status ON reports
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION jsc_report_events_notify();
"""


def upgrade() -> None:
    execute_script(NOTIFY)


def downgrade() -> None:
    op.execute("DROP TRIGGER reports_events_update ON reports")
    op.execute("DROP TRIGGER reports_events_insert ON reports")
    op.execute("DROP FUNCTION jsc_report_events_notify()")
