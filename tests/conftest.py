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


def _own_database_and_bucket() -> None:
    """Under pytest-xdist (`make test` runs the suite in two processes), each process has a database and a
    bucket of its own on the one test stack: a sweep of uploads/ or a count over the reports of one never sees
    the other's. The API and worker processes the tests start inherit this environment."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    url = make_url(os.environ["JSC_DATABASE_URL"])
    base = url.database or "jsc_test"
    os.environ["JSC_DATABASE_URL"] = url.set(database=f"{base}_{worker}").render_as_string(hide_password=False)
    os.environ["JSC_S3_BUCKET"] = f"{os.environ.get('JSC_S3_BUCKET', 'jsc')}-{worker}"


_load_stack_env()
_own_database_and_bucket()
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


def _ensure_bucket(settings: Settings) -> None:
    """The bucket of this test process: the stack made `jsc`; an xdist process's own is made here (the app sets
    its lifecycle rule on uploads/ itself, as on any bucket)."""
    import boto3
    from botocore.config import Config

    secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
    s3 = boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret, region_name=settings.s3_region, config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    if settings.s3_bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=settings.s3_bucket)


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[None]:
    await _recreate_database(settings.database_url)
    await asyncio.to_thread(_ensure_bucket, settings)
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
