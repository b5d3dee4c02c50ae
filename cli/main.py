"""`jsc` command line: data import, staff accounts (create, close, move), the worker, backups."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from domain import accounts, jakarta, staff
from domain.errors import DomainError
from domain.models import Role, Unit
from domain.resources import Resources
from domain.settings import get_settings
from domain.telemetry import configure_logging

log = logging.getLogger("jsc")
WORKER_RESTART_MAX_S = 30.0
# `jsc api`'s processes unless --workers says otherwise: what `make run` starts, and bench/soak.py by default.
API_WORKERS = 1


async def load_jakarta_command(force: bool) -> int:
    res = Resources.create(get_settings())
    try:
        total = len(jakarta.read_features(res.settings.jakarta_data_dir))
        # delay: the bar appears only while rows are imported, not on a run that finds them loaded.
        with tqdm(total=total, unit="kelurahan", desc="Importing kelurahan", file=sys.stderr, delay=0.5) as bar:
            async with res.unit_of_work() as session:
                result = await jakarta.load_jakarta(
                    session, data_dir=res.settings.jakarta_data_dir, progress=lambda n: bar.update(n), force=force
                )
        if result.skipped:
            print("jsc: Jakarta boundaries already loaded; catalogue refreshed")
            return 0
        print(
            f"jsc: loaded {result.kelurahan} kelurahan, {result.kecamatan} kecamatan, {result.kota} kota, "
            f"{result.units} units, {result.categories} categories"
        )
        return 0
    finally:
        await res.close()


async def create_user_command(ns: argparse.Namespace) -> int:
    role = Role(ns.role.upper())
    password = ns.password or getpass.getpass("Password for the new account: ")
    res = Resources.create(get_settings())
    try:
        async with res.unit_of_work() as session:
            unit_id = None
            if ns.unit:
                unit_id = await session.scalar(select(Unit.id).where(Unit.code == ns.unit))
                if unit_id is None:
                    print(
                        f"jsc: no unit with code {ns.unit!r} (e.g. kel-31.73.04.1001, sudin-sda-31.73)",
                        file=sys.stderr,
                    )
                    return 2
            user = await accounts.sign_up(
                session,
                email=ns.email,
                phone=ns.phone,
                password=password,
                display_name=ns.name,
                role=role,
                unit_id=unit_id,
            )
        print(f"jsc: created {role.value.lower()} {user.id} ({user.email or user.phone})")
        return 0
    except DomainError as exc:
        print(f"jsc: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await res.close()


# The staff accounts `make run` makes on the dev stack, so that the officer app can be tried at once: the lurah
# of Tomang, the camat of Grogol Petamburan above it, and an admin.
DEMO_STAFF = (
    ("lurah.tomang@demo.jakarta.go.id", "Lurah Tomang (demo)", Role.OFFICER, "kel-31.73.02.1003"),
    ("camat.grogol@demo.jakarta.go.id", "Camat Grogol Petamburan (demo)", Role.OFFICER, "kec-31.73.02"),
    ("admin@demo.jakarta.go.id", "Admin (demo)", Role.ADMIN, None),
)


async def demo_staff_command(password: str) -> int:
    """Makes the demo staff accounts that do not exist yet; the ones that do are left as they are."""
    res = Resources.create(get_settings())
    try:
        async with res.unit_of_work() as session:
            for email, name, role, unit_code in DEMO_STAFF:
                if await accounts.find_by_login(session, email) is not None:
                    continue
                unit_id = None
                if unit_code is not None:
                    unit_id = await session.scalar(select(Unit.id).where(Unit.code == unit_code))
                await accounts.sign_up(
                    session,
                    email=email,
                    phone=None,
                    password=password,
                    display_name=name,
                    role=role,
                    unit_id=unit_id,
                )
        for email, name, _, _ in DEMO_STAFF:
            print(f"jsc: demo account {email} ({name})")
        return 0
    except DomainError as exc:
        print(f"jsc: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await res.close()


async def _account_id(session: AsyncSession, login: str) -> uuid.UUID | None:
    """An account by its id, e-mail address or phone number."""
    try:
        return uuid.UUID(login)
    except ValueError:
        user = await accounts.find_by_login(session, login)
        return user.id if user else None


async def staff_account_command(ns: argparse.Namespace) -> int:
    """close-account and move-account: done as the operator (the audit row names no admin)."""
    res = Resources.create(get_settings())
    try:
        async with res.unit_of_work() as session:
            user_id = await _account_id(session, ns.user)
            if user_id is None:
                print(f"jsc: no account {ns.user!r} (give its id, e-mail address or phone number)", file=sys.stderr)
                return 2
            if ns.command == "close-account":
                user = await staff.close_staff_account(
                    session, actor_id=None, user_id=user_id, reason=ns.reason, now=datetime.now(UTC)
                )
                print(f"jsc: closed {user.role.value.lower()} {user.id} ({user.email or user.phone})")
                return 0
            unit_id = None
            if ns.unit:
                unit_id = await session.scalar(select(Unit.id).where(Unit.code == ns.unit))
                if unit_id is None:
                    print(f"jsc: no unit with code {ns.unit!r}", file=sys.stderr)
                    return 2
            user = await staff.move_staff_account(
                session,
                actor_id=None,
                user_id=user_id,
                role=Role(ns.role.upper()),
                unit_id=unit_id,
                reason=ns.reason,
                now=datetime.now(UTC),
            )
            unit = f" in {ns.unit}" if ns.unit else ""
            print(f"jsc: {user.id} ({user.email or user.phone}) is now {user.role.value.lower()}{unit}")
            return 0
    except DomainError as exc:
        print(f"jsc: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await res.close()


def api_command(host: str, port: int, workers: int, keep_alive_s: int) -> int:
    """uvicorn serving `api.main.serve` in each of its worker processes.

    The app, not uvicorn, decides whom X-Forwarded-For is believed from (JSC_TRUSTED_PROXIES, api/proxies.py);
    logging is the app's own (domain/telemetry.py), so uvicorn's configuration of it is left out.
    """
    import uvicorn

    uvicorn.run(
        "api.main:serve",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_keep_alive=keep_alive_s,
        proxy_headers=False,
        server_header=False,
        log_config=None,
    )
    return 0


async def worker_command(concurrency: int, queues: list[str] | None) -> int:
    """Runs the procrastinate worker until SIGINT or SIGTERM, which let running jobs finish.

    procrastinate stops a worker whose listener, heartbeat or periodic deferrer fails, which is what a PostgreSQL
    restart or failover does to them; left at that, every worker would exit at once. Here it is started again,
    after a wait that doubles up to WORKER_RESTART_MAX_S while the database stays away. A database unreachable
    at start-up still ends the command (procrastinate's pool gives up after 30 s).
    """
    from domain import cctv_watch, metrics
    from domain.heap import freeze_startup_objects, time_collections
    from domain.photos import keep_uploads_backstop
    from domain.telemetry import configure_tracing, trace_engines
    from workers.metrics import MetricsServer, count_jobs
    from workers.observability import traced_job
    from workers.queue import QUEUES
    from workers.runtime import app, resources

    trace_engines(configure_tracing(resources().settings, "jsc-worker"), resources().engine)

    try:
        await keep_uploads_backstop(resources().storage, resources().settings)
    except Exception:  # a backstop the store cannot take now must not keep the worker down
        log.warning("could not set the lifecycle rule on uploads/; will try again at the next start", exc_info=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop_gracefully() -> None:
        stopping.set()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)  # a second signal stops at once, as procrastinate's own handler does

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_gracefully)
    options: dict[str, Any] = {
        "concurrency": concurrency,
        "install_signal_handlers": False,
        "worker_middleware": [traced_job],
    }
    if queues:
        options["queues"] = queues
    if not queues or cctv_watch.QUEUE in queues:
        # Samples are handed out ahead and scheduled at their due time: procrastinate's NOTIFY comes at the
        # hand-out, so without a short poll a sample would start up to its default 5 s late.
        options["fetch_job_polling_interval"] = cctv_watch.POLL_S
    wait_s = 1.0
    count_jobs()
    settings = resources().settings
    server = None
    if settings.worker_metrics_port and settings.metrics_token is not None:
        server = MetricsServer(resources(), set(QUEUES.values()))
        await server.start()
    async with app.open_async():
        # The worker's start-up objects out of full garbage collections (domain/heap.py): the cctv workers' were
        # 90-130 ms pauses every ~20 s, each one late to every sample it held up.
        log.info("worker: %d start-up objects left out of full garbage collections", freeze_startup_objects())
        time_collections()
        try:
            while not stopping.is_set():
                started = loop.time()
                run = asyncio.create_task(app.run_worker_async(**options))
                stop = asyncio.create_task(stopping.wait())
                await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                if not run.done():
                    run.cancel()  # procrastinate's graceful stop: running jobs finish first
                    with contextlib.suppress(asyncio.CancelledError):
                        await run
                    break
                failure = run.exception()
                if loop.time() - started > WORKER_RESTART_MAX_S:
                    wait_s = 1.0
                log.warning("the worker stopped (%s); starting it again in %.0f s", failure or "see above", wait_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), wait_s)
                wait_s = min(wait_s * 2, WORKER_RESTART_MAX_S)
        finally:
            if server is not None:
                await server.stop()
            await resources().close()
            metrics.process_ended()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """`jsc`'s command line (deploy/'s units and tests/unit/test_deploy.py hold its commands to it)."""
    parser = argparse.ArgumentParser(prog="jsc", description="Jakarta citizen-reporting backend")
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load-jakarta", help="import kelurahan, kecamatan, kota, units and categories")
    load.add_argument("--force", action="store_true", help="re-import the boundaries even if loaded")
    user = sub.add_parser("create-user", help="create an officer, auditor or admin account")
    user.add_argument("--role", required=True, choices=["officer", "auditor", "admin", "citizen"])
    user.add_argument("--email")
    user.add_argument("--phone")
    user.add_argument("--name", required=True)
    user.add_argument("--unit", help="unit code for officers, e.g. kel-31.73.04.1001")
    user.add_argument("--password", help="read from the terminal when left out")
    close = sub.add_parser("close-account", help="close a staff account for good (sessions, devices, assignments)")
    close.add_argument("--user", required=True, help="account id, e-mail address or phone number")
    close.add_argument("--reason", required=True, help="why, for the audit trail")
    move = sub.add_parser("move-account", help="give a staff account another role or unit")
    move.add_argument("--user", required=True, help="account id, e-mail address or phone number")
    move.add_argument("--role", required=True, choices=["officer", "auditor", "admin"])
    move.add_argument("--unit", help="unit code for officers, e.g. kel-31.73.04.1001")
    move.add_argument("--reason", required=True, help="why, for the audit trail")
    demo_staff = sub.add_parser("demo-staff", help="make the demo lurah, camat and admin accounts if missing")
    demo_staff.add_argument("--password", required=True, help="their password")
    serve = sub.add_parser("api", help="serve the API (uvicorn; logs and traces as the settings say)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default JSC_API_PORT)")
    serve.add_argument(
        "--workers", type=int, default=API_WORKERS, help=f"API processes (default {API_WORKERS}; deploy/README.md)"
    )
    worker = sub.add_parser("worker", help="run a procrastinate worker")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--queue", action="append", help="only this queue (repeatable), e.g. cctv; default all")
    demo_parser = sub.add_parser("demo-data", help="simulate years of reports for all of Jakarta (demo, benchmarks)")
    demo_parser.add_argument("--reports", type=int, default=100_000, help="reports to add (default 100000)")
    demo_parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    demo_parser.add_argument("--years", type=float, default=2.0, help="years of history up to now (default 2)")
    demo_parser.add_argument("--auditor-password", help="password of the demo auditor (default: a random one, shown)")
    camera = sub.add_parser("cctv", help="CCTV cameras: import a registry, simulate an archive")
    camera_sub = camera.add_subparsers(dest="cctv_command", required=True)
    importing = camera_sub.add_parser("import", help="create or update cameras from a GeoJSON FeatureCollection")
    importing.add_argument("file", type=Path)
    sim = camera_sub.add_parser("simulate", help="cut a local video into a camera's archive segments")
    sim.add_argument("--camera", required=True, help="code of an ARCHIVE camera")
    sim.add_argument("--video", required=True, type=Path)
    sim.add_argument(
        "--start", type=datetime.fromisoformat, help="time of the first frame (ISO, with zone; default now)"
    )
    backup = sub.add_parser("backup", help="PostgreSQL backups (pgBackRest) and photo versions: take, list, restore")
    backup_sub = backup.add_subparsers(dest="backup_command", required=True)
    taking = backup_sub.add_parser("take", help="take a backup now")
    taking.add_argument("--type", default="incr", choices=["full", "diff", "incr"], help="default incr")
    backup_sub.add_parser("list", help="backups and how far back a restore can go")
    backup_sub.add_parser("check", help="WAL archiving works and the photo bucket keeps versions")
    backup_sub.add_parser("keep-photos", help="switch the photo bucket's versioning on, old versions expiring")
    for name, what in (("restore", "PostgreSQL (stopped, restored, started)"), ("restore-photos", "photo objects")):
        restoring = backup_sub.add_parser(name, help=f"bring {what} back as they were at a time")
        restoring.add_argument("--to", required=True, type=datetime.fromisoformat, help="ISO time with zone")
        if name == "restore-photos":
            restoring.add_argument("--prefix", default="", help="only the keys under this prefix (default all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging(get_settings())
    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.command == "backup":
        from cli import backup as backup_cli

        settings = get_settings()
        if ns.backup_command in ("restore", "restore-photos") and ns.to.tzinfo is None:
            parser.error("--to needs a time zone, e.g. 2026-12-01T08:00:00+07:00")
        if ns.backup_command == "take":
            return backup_cli.take(settings, ns.type)
        if ns.backup_command == "list":
            return backup_cli.list_backups(settings)
        if ns.backup_command == "check":
            return backup_cli.check(settings)
        if ns.backup_command == "keep-photos":
            return backup_cli.keep_photos(settings)
        if ns.backup_command == "restore":
            return backup_cli.restore(settings, ns.to)
        return backup_cli.restore_photos(settings, ns.to, ns.prefix)
    if ns.command == "cctv":
        from cli import cctv as cctv_cli

        if ns.cctv_command == "import":
            return asyncio.run(cctv_cli.import_cameras(ns.file))
        if ns.start is not None and ns.start.tzinfo is None:
            parser.error("--start needs a time zone, e.g. 2026-12-01T08:00:00+07:00")
        return asyncio.run(cctv_cli.simulate(ns.camera, ns.video, ns.start))
    if ns.command == "demo-data":
        from cli.demo import demo_data_command

        if ns.reports < 1 or ns.years <= 0:
            parser.error("--reports must be at least 1 and --years more than 0")
        return asyncio.run(demo_data_command(ns.reports, ns.seed, ns.years, ns.auditor_password))
    if ns.command == "api":
        if ns.workers < 1:
            parser.error("--workers must be at least 1")
        settings = get_settings()
        return api_command(ns.host, ns.port or settings.api_port, ns.workers, settings.api_keep_alive_s)
    if ns.command == "load-jakarta":
        return asyncio.run(load_jakarta_command(ns.force))
    if ns.command == "create-user":
        return asyncio.run(create_user_command(ns))
    if ns.command == "demo-staff":
        return asyncio.run(demo_staff_command(ns.password))
    if ns.command in ("close-account", "move-account"):
        return asyncio.run(staff_account_command(ns))
    lower_priority(get_settings().worker_nice)
    return asyncio.run(worker_command(ns.concurrency, ns.queue))


def lower_priority(nice: int) -> None:
    """This process at least `nice`, before it starts a thread: Linux keeps a niceness per thread, and a new
    thread takes its creator's (so the event loop's executors and procrastinate's threads all have it)."""
    if nice > os.getpriority(os.PRIO_PROCESS, 0):
        os.setpriority(os.PRIO_PROCESS, 0, nice)


if __name__ == "__main__":
    sys.exit(main())
