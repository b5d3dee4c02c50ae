"""Benchmark: deliver N queued notifications through the push worker to a local FCM; prints messages/s.

Requirement: at least 500 messages/s on the 2-core machine. The local FCM (tests/fakes/fcm.py: the HTTP v1
send API and the OAuth token endpoint) runs in this process, the worker (`python -m cli.main worker`) in its
own, pointed at it with JSC_FIREBASE_CREDENTIALS_FILE and JSC_FCM_ENDPOINT, exactly as a deployment points it
at Google. Run it with a stack profile's environment (see docs/benchmarks.md):

    .venv/bin/python scripts/stack.py up --profile bench
    set -a; . .stack/bench/env; set +a
    .venv/bin/python bench/notify.py --notifications 10000

What happens: the database is migrated and Jakarta loaded (idempotent); U users with one device each get
N notifications between them, written straight into the outbox (not timed); the worker is started and
left idle; then one delivery job is deferred and the clock runs until every notification is SENT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import CpuGroups, code_version, cpu_report, data_directory, prepare_database, spawn, stop  # noqa: E402
from tests.fakes.fcm import FakeFcm  # noqa: E402

RUN_MARK = "bench-notify"
# Seeded rows are not due until the timed phase starts, so the worker's periodic sweep cannot start early.
NOT_YET = datetime(9999, 1, 1, tzinfo=UTC)


def libpq_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def seed(dsn: str, *, users: int, notifications: int) -> str:
    """Users with one device each and the notifications, straight into the outbox; returns the run id."""
    run = uuid.uuid4().hex[:8]
    conn = await asyncpg.connect(dsn)
    try:
        # Anything a previous run left pending would be delivered in this one and skew it.
        await conn.execute(
            "UPDATE notifications SET push_status = 'FAILED', push_error = 'abandoned by bench/notify.py'"
            " WHERE push_status IN ('PENDING', 'SENDING')"
        )
        user_ids = [uuid.uuid4() for _ in range(users)]
        await conn.copy_records_to_table(
            "users",
            records=[(u, f"{RUN_MARK}-{run}-{i}@example.id", "x", "Warga", "CITIZEN") for i, u in enumerate(user_ids)],
            columns=["id", "email", "password_hash", "display_name", "role"],
        )
        await conn.copy_records_to_table(
            "devices",
            records=[(u, f"{RUN_MARK}-{run}-token-{i:06d}", "ANDROID") for i, u in enumerate(user_ids)],
            columns=["user_id", "token", "platform"],
        )
        await conn.copy_records_to_table(
            "notifications",
            records=[
                (
                    user_ids[n % users],
                    "STATUS_CHANGED",
                    f"Laporan #{n}: Proses",
                    "Petugas kelurahan sedang menangani laporan Anda",
                    json.dumps({"kind": "STATUS_CHANGED", "status": "IN_PROGRESS", "run": run}),
                    "PENDING",
                    NOT_YET,
                )
                for n in range(notifications)
            ],
            columns=["user_id", "kind", "title", "body", "data", "push_status", "push_next_at"],
        )
    finally:
        await conn.close()
    return run


async def counts(conn: asyncpg.Connection, run: str) -> dict[str, int]:
    rows = await conn.fetch("SELECT push_status, count(*) FROM notifications WHERE data->>'run' = $1 GROUP BY 1", run)
    return {r[0]: r[1] for r in rows}


async def release(dsn: str, run: str) -> None:
    """Makes the run's notifications due and defers one delivery job, as the events that wrote them would."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE notifications SET push_next_at = now() WHERE data->>'run' = $1", run)
        await conn.execute(
            "SELECT jsc_defer_jobs($1::jsonb)",
            json.dumps(
                [
                    {
                        "queue": "notifications",
                        "task": "notifications.deliver",
                        "queueing_lock": "notifications.deliver",
                        "args": {},
                    }
                ]
            ),
        )
    finally:
        await conn.close()


async def bench(opts: argparse.Namespace, dsn: str, log_dir: Path) -> int:
    with FakeFcm() as fcm:
        env_file = fcm.write_service_account(log_dir)
        os.environ["JSC_FIREBASE_CREDENTIALS_FILE"] = str(env_file)
        os.environ["JSC_FCM_ENDPOINT"] = fcm.url
        print(f"setup: {opts.users} users with one device each, {opts.notifications} notifications in the outbox")
        started = time.perf_counter()
        run = await seed(dsn, users=opts.users, notifications=opts.notifications)
        print(f"setup: done in {time.perf_counter() - started:.1f}s")
        worker = spawn([sys.executable, "-m", "cli.main", "worker"], log_dir / "worker.log")
        conn = await asyncpg.connect(dsn)
        try:
            await asyncio.sleep(opts.worker_start_s)  # imports and connections, not timed
            if worker.poll() is not None:
                raise SystemExit(f"bench: the worker exited; see {log_dir / 'worker.log'}")
            groups = CpuGroups(roots={"worker": [worker.pid], "fake FCM + bench": [os.getpid()]})
            if pg_dir := await data_directory(dsn):
                groups.matchers["postgres"] = f"-D {pg_dir}"
            if s3_port := urlsplit(os.environ.get("JSC_S3_ENDPOINT_URL", "")).port:
                groups.matchers["seaweedfs"] = f"-s3.port={s3_port} "
            cpu_before = groups.snapshot()
            requests_before = fcm.send_requests
            started = time.perf_counter()
            await release(dsn, run)
            deadline = started + opts.timeout
            while (done := await counts(conn, run)).get("SENT", 0) < opts.notifications:
                if time.perf_counter() > deadline or worker.poll() is not None:
                    print(f"bench: gave up: {done}", file=sys.stderr)
                    return 1
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            cpu_after = groups.snapshot()
            messages = fcm.send_requests - requests_before
        finally:
            await conn.close()
            stop(worker)
    print()
    print(f"notifications    {opts.notifications} to {opts.users} users (one device each), all SENT")
    print(f"fcm requests     {messages}")
    print(f"code             {code_version()}")
    print(f"elapsed          {elapsed:.2f} s")
    print(f"throughput       {opts.notifications / elapsed:.1f} messages/s")
    print("cpu during the timed phase")
    print("\n".join(cpu_report(cpu_before, cpu_after, elapsed)))
    print(f"logs             {log_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=10_000, help="queued notifications (default 10000)")
    parser.add_argument("--users", type=int, default=1_000, help="users they go to, one device each (default 1000)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds (default 300)")
    parser.add_argument("--worker-start-s", type=float, default=3.0, help="wait for the worker to start (default 3)")
    parser.add_argument("--log-dir", type=Path, help="where the worker log goes (default: a new temp dir)")
    opts = parser.parse_args(argv)
    database_url = os.environ.get("JSC_DATABASE_URL")
    if not database_url:
        raise SystemExit("bench: no JSC_DATABASE_URL; load a stack's env first (see docs/benchmarks.md)")
    prepare_database()
    log_dir = Path(opts.log_dir or tempfile.mkdtemp(prefix="jsc-bench-notify-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(bench(opts, libpq_dsn(database_url), log_dir))


if __name__ == "__main__":
    raise SystemExit(main())
