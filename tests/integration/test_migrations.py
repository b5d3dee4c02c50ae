from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import uuid
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


async def test_migration_0026_gives_every_unit_with_cases_a_counter(resources: Resources) -> None:
    """Upgrading a database that already has cases gives each of their units a counter, and from then on every
    change to a case moves its unit's counter."""
    for target in ("0025", "head"):
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "alembic", "downgrade" if target == "0025" else "upgrade", target],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
    async with resources.unit_of_work() as session:
        with_cases = set((await session.scalars(text("SELECT DISTINCT unit_id FROM report_cases"))).all())
        counted = {
            r.unit_id: r.version for r in await session.execute(text("SELECT unit_id, version FROM unit_case_versions"))
        }
        unit, case_id = (await session.execute(text("SELECT unit_id, id FROM report_cases LIMIT 1"))).one()
        await session.execute(text("UPDATE report_cases SET escalations = escalations WHERE id = :id"), {"id": case_id})
    async with resources.unit_of_work() as session:
        moved = await session.scalar(text("SELECT version FROM unit_case_versions WHERE unit_id = :u"), {"u": unit})

    assert with_cases
    assert counted == dict.fromkeys(with_cases, 1)
    assert moved == 2


async def test_migration_0012_puts_every_stored_phone_in_one_form_and_settles_collisions(resources: Resources) -> None:
    """Phones stored before phonenumbers (+62 followed by the national 0, as the old rules kept it) are rewritten;
    where two accounts then hold one number, the one holding it in the final form keeps it."""
    # given: accounts as the old rules stored them, numbers unique to this test
    digits = [f"{n:04d}" for n in random.sample(range(1000, 10000), 4)]
    old = {
        "dropped": (f"+620812{digits[0]}1111", "a"),  # an e-mail: loses the phone to `keeper`
        "keeper": (f"+62812{digits[0]}1111", "b"),
        "rewritten": (f"+620812{digits[1]}2222", None),
        "stuck": (f"+620812{digits[2]}3333", None),  # no e-mail: keeps its old spelling
        "holder": (f"+62812{digits[2]}3333", None),
        "invalid": (f"+999{digits[3]}4444", None),
    }
    ids = {name: uuid.uuid4() for name in old}
    async with resources.unit_of_work() as session:
        for name, (phone, email) in old.items():
            await session.execute(
                text(
                    "INSERT INTO users (id, email, phone, password_hash, display_name, role)"
                    " VALUES (:id, :email, :phone, 'x', 'Lama', 'CITIZEN')"
                ),
                {"id": ids[name], "email": email and f"{email}-{digits[0]}@example.id", "phone": phone},
            )

    # when: the migration runs again on them
    for target in ("0012-1", "head"):
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "alembic", "downgrade" if target != "head" else "upgrade", target],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip

    # then
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT id, phone FROM users WHERE id = ANY(:ids)"), {"ids": list(ids.values())}
        )
        phones = {name: phone for user_id, phone in rows for name in ids if ids[name] == user_id}
        await session.execute(text("DELETE FROM users WHERE id = ANY(:ids)"), {"ids": list(ids.values())})
    assert phones == {
        "dropped": None,
        "keeper": f"+62812{digits[0]}1111",
        "rewritten": f"+62812{digits[1]}2222",
        "stuck": f"+620812{digits[2]}3333",
        "holder": f"+62812{digits[2]}3333",
        "invalid": f"+999{digits[3]}4444",
    }
