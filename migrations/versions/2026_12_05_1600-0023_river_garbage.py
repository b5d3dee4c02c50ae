"""River garbage (issue 17 §2, experimental): the WATER zone purpose and the RIVER_GARBAGE alert and rule kind

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 16:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# After migration 0021.
OLD_ALERT_KINDS = (
    "'CROWD', 'CONGESTION', 'NO_STOPPING', "
    "'CAMERA_OFFLINE', 'CAMERA_BLACK', 'CAMERA_FROZEN', 'CAMERA_COVERED', 'CAMERA_MOVED', 'BUSWAY'"
)
OLD_RULE_KINDS = "'CROWD', 'CONGESTION', 'NO_STOPPING', 'BUSWAY'"
OLD_PURPOSES = "'BUSWAY', 'NO_STOPPING', 'CROWD_AREA'"


def _check(table: str, name: str, column: str, values: str) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, f"{column} IN ({values})")


def upgrade() -> None:
    _check("cctv_alerts", "alert_kind", "kind", f"{OLD_ALERT_KINDS}, 'RIVER_GARBAGE'")
    _check("cctv_watch_rules", "watch_rule_kind", "kind", f"{OLD_RULE_KINDS}, 'RIVER_GARBAGE'")
    _check("cctv_zones", "zone_purpose", "purpose", f"{OLD_PURPOSES}, 'WATER'")


def downgrade() -> None:
    op.execute("DELETE FROM cctv_alerts WHERE kind = 'RIVER_GARBAGE'")
    op.execute("DELETE FROM cctv_watch_rules WHERE kind = 'RIVER_GARBAGE'")
    op.execute("DELETE FROM cctv_zones WHERE purpose = 'WATER'")
    _check("cctv_alerts", "alert_kind", "kind", OLD_ALERT_KINDS)
    _check("cctv_watch_rules", "watch_rule_kind", "kind", OLD_RULE_KINDS)
    _check("cctv_zones", "zone_purpose", "purpose", OLD_PURPOSES)
