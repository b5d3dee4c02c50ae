from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, text

from domain.models import Report
from domain.resources import Resources

ROOT = Path(__file__).resolve().parents[2]


def test_models_and_migrations_agree(database: None) -> None:
    # `alembic check` autogenerates against the migrated database and fails on any difference.
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "check"], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


CASE_COLUMNS = (
    "report_id, unit_id, category_id, arrival, arrived_at, first_response_at, first_completed_at, ended_at, ending,"
    " reopenings, escalations"
)


async def test_migration_0009_builds_the_cases_of_existing_history(resources: Resources) -> None:
    """Upgrading a database that already has reports replays their history into report_cases, giving the rows
    the trigger gave (ratings and the units' own deadlines did not exist before 0009, so they are not compared)."""
    async with resources.unit_of_work() as session:
        report_id = await session.scalar(select(Report.id).limit(1))
        assert report_id is not None, "the tests before this one filed reports"
        before = (await session.execute(text(f"SELECT {CASE_COLUMNS} FROM report_cases ORDER BY id"))).all()
    for target in ("0008", "head"):
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "alembic", "downgrade" if target == "0008" else "upgrade", target],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
    async with resources.unit_of_work() as session:
        after = (await session.execute(text(f"SELECT {CASE_COLUMNS} FROM report_cases ORDER BY id"))).all()
    assert len(before) > 0
    assert after == before
