"""`jsc backup`: PostgreSQL through pgBackRest (full, differential and incremental backups plus the WAL archive,
in S3), photos through the bucket's own versioning.

    jsc backup take [--type full|diff|incr]   a backup now (incr by default: pgBackRest makes a full one first)
    jsc backup list                           backups and the span of time a restore can reach
    jsc backup check                          the WAL archive works; the photo bucket keeps versions
    jsc backup restore --to TIME              stop PostgreSQL, restore it as it was at TIME, start it
    jsc backup restore-photos --to TIME       make every photo object as it was at TIME
    jsc backup keep-photos                    switch the photo bucket's versioning on (scripts/stack.py does)
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from domain.backups import Step, photo_restore_plan
from domain.settings import Settings

PROMOTE_TIMEOUT_S = 600.0


def pgbackrest_config(
    *,
    stanza: str,
    pg_data: Path,
    pg_port: int,
    socket_dir: Path,
    pg_user: str,
    s3_host: str,
    s3_port: int,
    ca_file: Path,
    bucket: str,
    repo_path: str,
    access_key: str,
    secret_key: str,
    region: str,
    work_dir: Path,
) -> str:
    """pgbackrest.conf for one cluster whose repository is an S3 bucket behind TLS (pgBackRest speaks only HTTPS
    to S3), at ``s3_host``, whose certificate ``ca_file`` holds or signs."""
    lines = {
        "repo1-type": "s3",
        "repo1-s3-endpoint": s3_host,
        "repo1-storage-port": str(s3_port),
        "repo1-storage-ca-file": str(ca_file),
        "repo1-s3-uri-style": "path",
        "repo1-s3-bucket": bucket,
        "repo1-s3-region": region,
        "repo1-s3-key": access_key,
        "repo1-s3-key-secret": secret_key,
        "repo1-path": repo_path,
        "repo1-retention-full": "2",
        "compress-type": "lz4",
        "start-fast": "y",
        "process-max": "2",
        "log-path": str(work_dir / "log"),
        "lock-path": str(work_dir / "lock"),
        "spool-path": str(work_dir / "spool"),
        "log-level-console": "warn",
        "log-level-file": "info",
    }
    cluster = {
        "pg1-path": str(pg_data),
        "pg1-port": str(pg_port),
        "pg1-socket-path": str(socket_dir),
        "pg1-user": pg_user,
    }
    body = "".join(f"{k}={v}\n" for k, v in lines.items())
    return f"[global]\n{body}\n[{stanza}]\n" + "".join(f"{k}={v}\n" for k, v in cluster.items())


def archive_command(config: Path, stanza: str) -> str:
    return f"pgbackrest --config={config} --stanza={stanza} archive-push %p"


class Pgbackrest:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def command(self, *args: str) -> list[str]:
        cmd = ["pgbackrest", f"--stanza={self.settings.backup_stanza}"]
        if self.settings.backup_pgbackrest_config is not None:
            cmd.insert(1, f"--config={self.settings.backup_pgbackrest_config}")
        return [*_as_user(self.settings), *cmd, *args]

    def run(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        password = make_url(self.settings.database_url).password
        env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
        return subprocess.run(self.command(*args), env=env, text=True, capture_output=capture, check=False)


def _as_user(settings: Settings) -> list[str]:
    user = settings.backup_run_as or ("postgres" if os.geteuid() == 0 else None)
    if user is None or user == pwd.getpwuid(os.geteuid()).pw_name:
        return []
    return ["runuser", "-u", user, "--"]


def _fail(result: subprocess.CompletedProcess[str], what: str) -> int:
    print(f"jsc: {what} failed (pgbackrest exit {result.returncode})", file=sys.stderr)
    if result.stderr:
        print(result.stderr.strip(), file=sys.stderr)
    return 1


def take(settings: Settings, kind: str) -> int:
    result = Pgbackrest(settings).run("backup", f"--type={kind}")
    if result.returncode != 0:
        return _fail(result, "backup")
    newest = _backups(settings)[-1]
    print(f"jsc: backup {newest['label']} ({newest['type']}) taken, {_size(newest)}")
    return 0


def _info(settings: Settings) -> dict[str, Any]:
    result = Pgbackrest(settings).run("info", "--output=json", capture=True)
    if result.returncode != 0:
        raise SystemExit(_fail(result, "pgbackrest info"))
    stanzas: list[dict[str, Any]] = json.loads(result.stdout)
    return stanzas[0] if stanzas else {}


def _backups(settings: Settings) -> list[dict[str, Any]]:
    return list(_info(settings).get("backup", []))


def _size(backup: dict[str, Any]) -> str:
    info = backup.get("info", {})
    return (
        f"{info.get('size', 0) / 1e6:.1f} MB of data, {info.get('repository', {}).get('delta', 0) / 1e6:.1f} MB stored"
    )


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def list_backups(settings: Settings) -> int:
    info = _info(settings)
    backups = info.get("backup", [])
    if not backups:
        print(f"jsc: no backups in stanza {settings.backup_stanza} ({info.get('status', {}).get('message', '')})")
        return 0
    for b in backups:
        stamp = b["timestamp"]
        print(f"{b['label']:<36} {b['type']:<5} {_when(stamp['start'])} .. {_when(stamp['stop'])}  {_size(b)}")
    archive: dict[str, Any] = next(iter(info.get("archive", [])), {})
    print(
        f"jsc: restorable from {_when(backups[0]['timestamp']['stop'])} up to the last archived WAL "
        f"({archive.get('max', 'none')}); status: {info.get('status', {}).get('message', '?')}"
    )
    return 0


def check(settings: Settings) -> int:
    result = Pgbackrest(settings).run("check", capture=True)
    if result.returncode != 0:
        return _fail(result, "pgbackrest check (WAL archiving)")
    print("jsc: WAL archiving works (pgbackrest check switched a WAL segment and found it in the repository)")
    from domain.adapters.versions import BucketVersions

    status = BucketVersions(settings).versioning()
    if status != "Enabled":
        print(f"jsc: the photo bucket {settings.s3_bucket} keeps no versions ({status}): jsc backup keep-photos")
        return 1
    print(f"jsc: the photo bucket {settings.s3_bucket} keeps versions ({settings.photo_versions_keep_days} days)")
    return 0


def _pg_ctl(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    assert settings.backup_pg_data is not None
    cmd = [str(settings.backup_pg_bin / "pg_ctl"), "-D", str(settings.backup_pg_data), *args]
    return subprocess.run([*_as_user(settings), *cmd], text=True, capture_output=True, check=False)


def _wait_promoted(settings: Settings) -> None:
    """Until the restored cluster has replayed up to the target and left recovery (it accepts reads before)."""
    url = make_url(settings.database_url)
    conninfo = psycopg.conninfo.make_conninfo(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database
    )
    deadline = time.monotonic() + PROMOTE_TIMEOUT_S
    while True:
        try:
            with psycopg.connect(conninfo, connect_timeout=5) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row is not None and not row[0]:
                    return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("jsc: the restored cluster is still in recovery; see its log")
        time.sleep(0.2)


def restore(settings: Settings, to: datetime) -> int:
    target = to.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    data = settings.backup_pg_data
    if data is not None:
        _pg_ctl(settings, "-m", "fast", "-w", "stop")
    result = Pgbackrest(settings).run(
        "restore", "--delta", "--type=time", f"--target={target}", "--target-action=promote", capture=True
    )
    if result.returncode != 0:
        return _fail(result, "restore")
    if data is None:
        print(f"jsc: restored to {target}; start PostgreSQL: it replays the WAL up to then and promotes")
        return 0
    logs = data.parent / "logs"
    started = _pg_ctl(
        settings, "-w", "-t", "600", *(["-l", str(logs / "postgresql.log")] if logs.is_dir() else []), "start"
    )
    if started.returncode != 0:
        print(f"jsc: PostgreSQL did not start after the restore: {started.stderr or started.stdout}", file=sys.stderr)
        return 1
    _wait_promoted(settings)
    print(f"jsc: PostgreSQL restored to {target} and open for writes")
    return 0


def restore_photos(settings: Settings, to: datetime, prefix: str = "") -> int:
    from domain.adapters.versions import BucketVersions

    bucket = BucketVersions(settings)
    steps = photo_restore_plan(bucket.versions(prefix), as_of=to)
    for step in steps:
        bucket.apply(step)
    brought = sum(1 for s in steps if s.step is Step.BRING_BACK)
    print(
        f"jsc: photos under {prefix or '/'} as at {to.isoformat()}: {brought} brought back, "
        f"{len(steps) - brought} deleted (as versions: a restore can itself be undone)"
    )
    return 0


def keep_photos(settings: Settings) -> int:
    from domain.adapters.versions import BucketVersions

    BucketVersions(settings).keep_versions(noncurrent_days=settings.photo_versions_keep_days)
    print(
        f"jsc: bucket {settings.s3_bucket} keeps versions; old ones expire "
        f"{settings.photo_versions_keep_days} days after they were replaced"
    )
    return 0
