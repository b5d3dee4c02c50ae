"""The restore drill: a backup is only known to work once it has been restored.

A drill cluster of its own (the shared test database stays untouched), archiving its WAL with pgBackRest to the
test stack's SeaweedFS over TLS, and a versioned photo bucket of its own. Reports with photos are filed, a backup is
taken, more are filed, the time is noted, more still are filed and a photo of before is deleted; then the cluster's
data directory is destroyed, `jsc backup restore --to` and `restore-photos --to` bring both back as they were at
the noted time, and SQL and S3 are asked what is there.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import asyncpg
import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from sqlalchemy import select
from sqlalchemy.engine import make_url

from api.app import create_app
from cli import backup
from domain import accounts, jakarta
from domain.models import Role, Unit
from domain.resources import Resources
from domain.settings import Settings
from tests.factories import Api, Citizen, jpeg_with_gps

ROOT = Path(__file__).resolve().parents[2]
STANZA = "drill"
TOMANG_OFFICE = "kel-31.73.02.1003"
# The drill cluster's ports sit above the test stack's: its base plus this (PostgreSQL at base + 82), or a
# hundred more while that port is taken (_free_base).
PORT_OFFSET = 50


def load_stack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("jsc_stack", ROOT / "scripts" / "stack.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Drill:
    settings: Settings
    stack: ModuleType
    profile: object
    s3: object  # a boto3 S3 client, for checking what the bucket holds


def s3_client(settings: Settings):  # type: ignore[no-untyped-def]
    assert settings.s3_secret_access_key is not None
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key.get_secret_value(),
        config=Config(s3={"addressing_style": "path"}),
    )


def empty_prefix(s3, bucket: str, prefix: str) -> None:  # type: ignore[no-untyped-def]
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        versions = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", [])]
        versions += [{"Key": m["Key"], "VersionId": m["VersionId"]} for m in page.get("DeleteMarkers", [])]
        if versions:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": versions, "Quiet": True})


def _free_base(test_base: int) -> int:
    """The first of a few bases above the test stack's whose PostgreSQL port can be bound now. The ports sit in
    Linux's ephemeral range, where one of the suite's own outgoing connections may hold one (CI failed once on
    exactly that: "could not bind ... Address already in use"). Bases stay below the next profile's ports."""
    for offset in range(PORT_OFFSET, PORT_OFFSET + 900, 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", test_base + offset + 32))
            except OSError:
                continue
        return test_base + offset
    pytest.fail("no free port for the drill's PostgreSQL")


@pytest.fixture
def drill(settings: Settings) -> Iterator[Drill]:
    stack = load_stack()
    test = stack.Profile("test")
    if not test.s3_tls or not (test.tls_dir / "cert.pem").exists():
        pytest.fail("the test stack serves no S3 over TLS: restart it (make stack-test-down stack-test-up)")
    profile = stack.Profile("drill", base=_free_base(test.pg_port - 32))
    # The drill uses the test stack's SeaweedFS (its TLS port and certificate) and credentials.
    profile.backups = True
    profile.tls_dir = test.tls_dir
    profile.s3_https_port = test.s3_https_port
    secrets = stack.load_secrets(test)
    stack.pg_stop(profile)  # a drill killed half-way last time
    shutil.rmtree(profile.dir, ignore_errors=True)
    for folder in (profile.dir, profile.run_dir, profile.logs):
        folder.mkdir(parents=True)
        stack.chown_postgres(folder)
    profile.dir.chmod(0o711)
    run = uuid.uuid4().hex[:12]
    repo_path = f"/drill/{run}"
    stack.pg_init(profile, secrets)
    stack.pg_backups_conf(profile, secrets, stanza=STANZA, repo_path=repo_path)
    stack.pg_start(profile)
    stack.pg_ensure_database(profile, secrets, "jsc_drill")
    stack.pgbackrest_stanza(profile, secrets, stanza=STANZA)
    url = make_url(settings.database_url).set(port=profile.pg_port, database="jsc_drill")
    drill_settings = settings.model_copy(
        update={
            "database_url": url.render_as_string(hide_password=False),
            "s3_bucket": f"jsc-drill-{run}",
            "backup_pgbackrest_config": profile.pgbackrest_conf,
            "backup_stanza": STANZA,
            "backup_pg_data": profile.pg_data,
        }
    )
    s3 = s3_client(drill_settings)
    s3.create_bucket(Bucket=drill_settings.s3_bucket)
    try:
        yield Drill(drill_settings, stack, profile, s3)
    finally:
        stack.pg_stop(profile)
        shutil.rmtree(profile.dir, ignore_errors=True)
        empty_prefix(s3, drill_settings.s3_bucket, "")
        s3.delete_bucket(Bucket=drill_settings.s3_bucket)
        empty_prefix(s3, "jsc-backups", repo_path.lstrip("/") + "/")


async def migrate_and_load(settings: Settings) -> None:
    env = {"JSC_DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin"}
    process = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "python"), "-m", "alembic", "upgrade", "head", cwd=ROOT, env=env
    )
    assert await process.wait() == 0
    res = Resources.create(settings)
    try:
        async with res.unit_of_work() as session:
            await jakarta.load_jakarta(session, data_dir=settings.jakarta_data_dir)
            unit_id = await session.scalar(select(Unit.id).where(Unit.code == TOMANG_OFFICE))
            # The lurah's office gets a notification for every report filed at Tomang.
            await accounts.sign_up(
                session,
                email=f"lurah-{uuid.uuid4().hex[:8]}@jakarta.go.id",
                phone=None,
                password="correct horse battery",
                display_name="Lurah Tomang",
                role=Role.OFFICER,
                unit_id=unit_id,
            )
    finally:
        await res.close()


@dataclass
class Filed:
    report_ids: set[str]
    photo_keys: set[str]


async def file_reports(api: Api, citizen: Citizen, n: int) -> Filed:
    filed = Filed(set(), set())
    for _ in range(n):
        key = await api.upload_photo(citizen, jpeg_with_gps(size=(64, 48)))
        payload = await api.create_report(citizen, photo_keys=[key])
        assert payload["errors"] == [], payload
        assert payload["report"]["unit"]["code"] == TOMANG_OFFICE
        filed.report_ids.add(payload["report"]["id"])
        filed.photo_keys.add(key)
    return filed


@pytest.fixture
async def drill_api(drill: Drill) -> AsyncIterator[Api]:
    await migrate_and_load(drill.settings)
    app = create_app(drill.settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test", timeout=30) as client,
    ):
        yield Api(client)


async def next_second() -> datetime:
    """Now, then a wait into the next whole second: S3 keeps an object's LastModified to the second, so what is
    written after the wait is after the time returned, to S3 as to PostgreSQL."""
    now = datetime.now(UTC)
    await asyncio.sleep(1.05 - now.microsecond / 1e6)
    return now


async def rows(settings: Settings, sql: str) -> set[str]:
    url = make_url(settings.database_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    try:
        return {str(record[0]) for record in await conn.fetch(sql)}
    finally:
        await conn.close()


def stored(drill: Drill, key: str) -> bool:
    try:
        drill.s3.head_object(Bucket=drill.settings.s3_bucket, Key=key)  # type: ignore[attr-defined]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey"):
            raise
        return False
    return True


async def test_a_destroyed_database_and_lost_photos_come_back_as_they_were_at_a_point_in_time(
    drill: Drill, drill_api: Api
) -> None:
    # given a versioned photo bucket, reports filed before a backup and after it, up to a noted time
    assert backup.keep_photos(drill.settings) == 0
    citizen = await drill_api.sign_up()
    before_backup = await file_reports(drill_api, citizen, 2)
    assert await asyncio.to_thread(backup.take, drill.settings, "full") == 0
    await next_second()  # pgBackRest keeps a backup's stop time to the second, and restores from one stopped before
    after_backup = await file_reports(drill_api, citizen, 2)
    as_of = await next_second()
    # and, after that time, more reports, and a photo of before it lost from the bucket
    too_late = await file_reports(drill_api, citizen, 2)
    lost = sorted(after_backup.photo_keys)[0]
    drill.s3.delete_object(Bucket=drill.settings.s3_bucket, Key=lost)  # type: ignore[attr-defined]
    assert await asyncio.to_thread(backup.check, drill.settings) == 0  # the WAL of all of it is archived
    wanted = before_backup.report_ids | after_backup.report_ids

    # when the database is destroyed, then restored to the noted time, and the photos too
    drill.stack.pg_stop(drill.profile)
    shutil.rmtree(drill.settings.backup_pg_data)  # type: ignore[arg-type]
    assert await asyncio.to_thread(backup.restore, drill.settings, as_of) == 0
    assert await asyncio.to_thread(backup.restore_photos, drill.settings, as_of) == 0

    # then every report, history row, photo and notification up to that time is there, and nothing after it
    assert await rows(drill.settings, "SELECT id FROM reports") == wanted
    assert await rows(drill.settings, "SELECT report_id FROM report_status_changes") == wanted
    assert await rows(drill.settings, "SELECT count(*) FROM report_status_changes") == {str(len(wanted))}
    assert await rows(drill.settings, "SELECT report_id FROM notifications") == wanted
    keys = before_backup.photo_keys | after_backup.photo_keys
    assert await rows(drill.settings, "SELECT upload_key FROM photos") == keys
    assert {key for key in keys | too_late.photo_keys if stored(drill, key)} == keys
    # and the restored cluster takes writes again
    assert await rows(drill.settings, "SELECT pg_is_in_recovery()") == {"False"}
