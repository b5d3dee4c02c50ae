"""report_events: every change a public view shows, including a report leaving the public (hidden, made
confidential, deleted), a report moving (point, category, unit) and a category made sensitive

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:00:00+00:00

Before this, only a new report and a status change were announced: a hidden report stayed in every API process's
map cache until the answer expired, and live subscribers never heard that it was gone.

Kinds: CREATED (filed), STATUS_CHANGED (its status, and perhaps its unit), UPDATED (its point or category
changed, or only its unit, or it became public again; `previous` is where the public saw it before, when it did),
REMOVED (no longer public: the event carries the report as the public last saw it, never anything newer).
Positions are public ones: sensitive categories rounded to 0.001 degrees. A category made sensitive (or not), or
renamed, changes the public point or code of every report in it: RESET tells each API process to forget what it
cached and its subscribers to load the map again.
"""

from collections.abc import Sequence

from migrations.helpers import execute_script

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY = """
CREATE FUNCTION jsc_report_public_view(r reports) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    category categories;
    lon float8 := ST_X(r.location);
    lat float8 := ST_Y(r.location);
BEGIN
    IF r.confidential THEN
        RETURN NULL;
    END IF;
    SELECT * INTO category FROM categories c WHERE c.id = r.category_id;
    IF category.sensitive THEN
        lon := round(lon::numeric, 3)::float8;
        lat := round(lat::numeric, 3)::float8;
    END IF;
    RETURN jsonb_build_object(
        'id', r.id, 'lon', lon, 'lat', lat, 'category', category.code, 'status', r.status,
        'createdAt', r.created_at
    );
END;
$$;

CREATE OR REPLACE FUNCTION jsc_report_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was jsonb;
    now_public jsonb;
    kind text;
    payload jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        was := jsc_report_public_view(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        now_public := jsc_report_public_view(NEW);
    END IF;
    IF was IS NULL AND now_public IS NULL THEN
        RETURN NULL;
    ELSIF now_public IS NULL THEN
        kind := 'REMOVED';
        payload := was;
    ELSIF TG_OP = 'INSERT' THEN
        kind := 'CREATED';
        payload := now_public;
    ELSIF was IS NOT NULL AND was - 'status' = now_public - 'status' AND was->'status' <> now_public->'status' THEN
        -- A disposition changes the unit too, which the public payload does not show.
        kind := 'STATUS_CHANGED';
        payload := now_public;
    ELSE
        -- A unit alone counts too: the map's unitIds filter shows the report in other answers now.
        kind := 'UPDATED';
        payload := now_public || jsonb_build_object('previous', was);
    END IF;
    PERFORM pg_notify('report_events', (payload || jsonb_build_object('kind', kind))::text);
    RETURN NULL;
END;
$$;

DROP TRIGGER reports_events_update ON reports;
CREATE TRIGGER reports_events_update AFTER UPDATE OF status, category_id, location, confidential, unit_id ON reports
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category_id IS DISTINCT FROM NEW.category_id
          OR NOT ST_Equals(OLD.location, NEW.location) OR OLD.confidential IS DISTINCT FROM NEW.confidential
          OR OLD.unit_id IS DISTINCT FROM NEW.unit_id)
    EXECUTE FUNCTION jsc_report_events_notify();
CREATE TRIGGER reports_events_delete AFTER DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION jsc_report_events_notify();

CREATE FUNCTION jsc_category_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('report_events', json_build_object('kind', 'RESET', 'category', NEW.code)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER categories_events_update AFTER UPDATE OF sensitive, code ON categories
    FOR EACH ROW WHEN (OLD.sensitive IS DISTINCT FROM NEW.sensitive OR OLD.code IS DISTINCT FROM NEW.code)
    EXECUTE FUNCTION jsc_category_events_notify();
"""

NOTIFY_0005 = """
DROP TRIGGER categories_events_update ON categories;
DROP FUNCTION jsc_category_events_notify();
CREATE OR REPLACE FUNCTION jsc_report_events_notify() RETURNS trigger
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

DROP TRIGGER reports_events_delete ON reports;
DROP TRIGGER reports_events_update ON reports;
CREATE TRIGGER reports_events_update AFTER UPDATE OF status ON reports
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION jsc_report_events_notify();
DROP FUNCTION jsc_report_public_view(reports);
"""


def upgrade() -> None:
    execute_script(NOTIFY)


def downgrade() -> None:
    execute_script(NOTIFY_0005)
