"""Test session: a fresh database on the project's own test stack, migrated by Alembic, Jakarta loaded.

`make test` starts the stack (scripts/stack.py up --profile test) and exports its env file; nothing here
mocks the database or the object store.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".stack" / "test" / "env"


def _load_stack_env() -> None:
    if "JSC_DATABASE_URL" in os.environ:
        return
    if not ENV_FILE.exists():
        raise pytest.UsageError("no test stack: run `make test`, or `make stack-test-up` then `make test-only`")
    for line in ENV_FILE.read_text().splitlines():
        key, _, value = line.partition("=")
        os.environ.setdefault(key, value)


_load_stack_env()
os.environ.setdefault("JSC_ENVIRONMENT", "test")
# The workers other tests start would otherwise sample every camera the suite made and alert their units;
# tests/integration/test_cctv_watch.py turns it on for its own workers.
os.environ.setdefault("JSC_CCTV_WATCH_ENABLED", "false")

from domain import jakarta  # noqa: E402
from domain.resources import Resources  # noqa: E402
from domain.settings import Settings, get_settings  # noqa: E402


async def _recreate_database(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password, database="postgres"
    )
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            parsed.database,
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}"')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[None]:
    await _recreate_database(settings.database_url)
    # Every test session runs the real migrations, so every migration is tested.
    await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, check=True, capture_output=True
    )
    res = Resources.create(settings)
    async with res.unit_of_work() as session:
        await jakarta.load_jakarta(session, data_dir=settings.jakarta_data_dir)
    await res.close()
    return


@pytest.fixture(scope="session")
async def resources(settings: Settings, database: None) -> AsyncIterator[Resources]:
    res = Resources.create(settings)
    yield res
    await res.close()
