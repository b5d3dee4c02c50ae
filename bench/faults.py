"""Faults under load: nothing filed is lost, nothing is delivered twice to the inbox.

    .venv/bin/python bench/faults.py            # or `make faults`; --quick for the short version the tests run

It brings up a stack of its own (`scripts/stack.py up --profile faults`: ports 484xx, its own PostgreSQL cluster
and SeaweedFS), recreates the database, migrates it and loads Jakarta, then starts a real uvicorn API, real
workers (`python -m cli.main worker`) pointed at a local FCM (tests/fakes/fcm.py) and officers with registered
phones for every unit the load's reports go to. Citizens upload photos through presigned POSTs and file reports
with clientRequestId keys, retrying a request that failed (transport error, 5xx, a masked server error) with the
same key, as the app does. Meanwhile, one after another and overlapping:

1. worker-kill: SIGKILL every worker while jobs run, start new ones;
2. s3-down: kill SeaweedFS while photos are processed, start it again with `stack.py up`;
3. pg-restart: stop PostgreSQL (fast shutdown) while reports are filed, start it again;
4. fcm-503: FCM answers 503 for a while, and the workers are SIGKILLed in the middle of it.

After the load, it waits (bounded) for the system to settle, deferring the photo and notification sweeps as the
workers' minute cron does, then checks with SQL and S3 that every report the clients filed exists once and is
routed, every photo is READY with both processed objects in S3, every notification is SENT and reached FCM at
least once, and the inbox holds one row per (event, recipient). It prints the counts and what each fault did,
exits 1 if anything is lost, duplicated in the inbox or left pending, and stops all it started, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import stack  # noqa: E402  (scripts/stack.py: the profile's folders, ports and PostgreSQL commands)

from bench.common import (  # noqa: E402
    kelurahan_centroids,
    phone_jpeg,
    post_graphql,
    post_photo,
    spawn,
    stop,
    wait_healthy,
)
from tests.factories import LOG_IN, REQUEST_UPLOAD, SIGN_UP  # noqa: E402
from tests.fakes.fcm import FakeFcm, _Reply  # noqa: E402

T = TypeVar("T")
PROFILE = "faults"
OUTBOX_ID_KEY = "outbox_id"  # domain/adapters/push.py; not imported so that this process never loads firebase-admin
CATEGORIES = ("garbage", "flood", "damaged-road", "fire")
OFFICERS_PER_UNIT = 2
# A refusal a client may see while the object store is down or catching up: the photo is there, try again.
RETRY_CODES = frozenset({"PHOTO_NOT_UPLOADED"})

CREATE_REPORT = """
mutation Create($input: CreateReportInput!) {
  createReport(input: $input) {
    report { id kelurahan { code } unit { code } photos { id status } }
    errors { code message field }
  }
}
"""

REGISTER_DEVICE = """
mutation Register($token: String!) {
  registerDevice(token: $token, platform: ANDROID) { registered errors { code } }
}
"""


@dataclass(frozen=True)
class Plan:
    """How much load and how long each fault lasts; --quick is the version the test suite runs."""

    citizens: int
    places: int  # kelurahan the load's reports are filed in (each with several categories, so units)
    pace_s: float  # each citizen's pause between two reports
    workers: int
    warmup_s: float  # load before the first fault, and between two faults
    s3_down_s: float
    pg_down_s: float
    fcm_down_s: float
    cooldown_s: float  # load after the last fault
    settle_s: float  # how long the system gets to finish everything after the load


FULL = Plan(citizens=12, places=6, pace_s=1.5, workers=2, warmup_s=20, s3_down_s=25, pg_down_s=8, fcm_down_s=40,
            cooldown_s=20, settle_s=180)  # fmt: skip
QUICK = Plan(citizens=4, places=3, pace_s=1.0, workers=2, warmup_s=3, s3_down_s=5, pg_down_s=3,
             fcm_down_s=10, cooldown_s=3, settle_s=150)  # fmt: skip


class Retryable(Exception):
    """A failure a real client answers by sending the same request again."""


class Refused(Exception):
    """An answer that no retry will change (a domain error the load did not expect)."""


@dataclass
class Filing:
    citizen: int
    client_request_id: str
    photo_key: str | None = None
    attempts: int = 0
    ids_seen: set[str] = field(default_factory=set)
    refused: str | None = None


@dataclass
class Fault:
    name: str
    started: float
    ended: float | None = None
    notes: list[str] = field(default_factory=list)
    restarted: datetime | None = None  # when new workers were started, if they were


@dataclass
class Run:
    t0: float = field(default_factory=time.monotonic)
    filings: list[Filing] = field(default_factory=list)
    retries: list[tuple[float, str, str]] = field(default_factory=list)  # (t, operation, reason)
    faults: list[Fault] = field(default_factory=list)
    tickets: int = 0
    uploads: int = 0
    filing: bool = True
    give_up_at: float = float("inf")  # clients stop retrying then (set when the load ends)
    exits: list[str] = field(default_factory=list)  # processes of ours that ended without being killed

    def now(self) -> float:
        return time.monotonic() - self.t0

    def note(self, fault: Fault, text: str) -> None:
        fault.notes.append(f"t={self.now():5.1f}s {text}")
        print(f"faults: [{fault.name}] {text}", flush=True)


class RecordingFcm(FakeFcm):
    """The local FCM, also keeping every send request's time, status and outbox id."""

    def __init__(self) -> None:
        super().__init__(project_id="jsc-faults")
        self.attempts: list[tuple[float, int, str | None]] = []

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        reply = super().handle(method, path, headers, body)
        if path.endswith("/messages:send"):
            outbox_id = None
            with contextlib.suppress(ValueError, KeyError, TypeError):
                outbox_id = json.loads(body)["message"]["data"][OUTBOX_ID_KEY]
            self.attempts.append((time.monotonic(), reply.status, outbox_id))
        return reply


# --- the stack and the processes --------------------------------------------------------------------


class Stack:
    def __init__(self, log_dir: Path) -> None:
        self.profile = stack.Profile(PROFILE)
        self.log_dir = log_dir
        self.env: dict[str, str] = {}
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.worker_env: dict[str, str] = {}
        self.started_workers = 0

    def up(self) -> None:
        """`stack.py up --profile faults`: starts what is down (both at first, SeaweedFS after s3-down)."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "stack.py"), "up", "--profile", PROFILE],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"stack.py up failed: {done.stdout}{done.stderr}")
        self.env = stack.read_env(self.profile)

    def down(self) -> None:
        self.stop_processes()
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "stack.py"), "down", "--profile", PROFILE],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.profile.api_port}"

    @property
    def dsn(self) -> str:
        return self.env["JSC_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1)

    def start_api(self) -> None:
        args = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1"]
        self.api = spawn([*args, "--port", str(self.profile.api_port)], self.log_dir / "api.log")

    def start_workers(self, count: int) -> None:
        for _ in range(count):
            self.started_workers += 1
            log = self.log_dir / f"worker-{self.started_workers}.log"
            with log.open("ab") as out:
                self.workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "cli.main", "worker"],
                        cwd=ROOT,
                        env={**os.environ, **self.worker_env},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )

    def kill_workers(self) -> int:
        killed = 0
        for proc in self.workers:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                killed += 1
        self.workers = []
        return killed

    def kill_seaweedfs(self) -> int | None:
        pid = stack.pid_alive(self.profile.pidfile("weed"))
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while stack.port_open(self.profile.s3_port) and time.monotonic() < deadline:
                time.sleep(0.1)
        return pid

    def pg_stop(self) -> None:
        stack.pg_stop(self.profile)

    def pg_start(self) -> None:
        stack.pg_start(self.profile)

    def reap(self) -> list[str]:
        """The workers (and the API) that ended by themselves since the last call."""
        gone = [f"worker pid {p.pid} exited with {p.returncode}" for p in self.workers if p.poll() is not None]
        self.workers = [p for p in self.workers if p.poll() is None]
        if self.api is not None and self.api.poll() is not None:
            gone.append(f"the API exited with {self.api.returncode}")
            self.api = None
        return gone

    def stop_processes(self) -> None:
        for proc in self.workers:
            stop(proc)
        self.workers = []
        if self.api is not None:
            stop(self.api)
            self.api = None


def template_name() -> str:
    """The migrated, loaded database to copy, named by what made it: the migrations and the Jakarta data."""
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "migrations").rglob("*.py"), *(ROOT / "data" / "jakarta").iterdir()]):
        digest.update(path.name.encode() + path.read_bytes())
    return f"jsc_faults_template_{digest.hexdigest()[:12]}"


async def fresh_database(st: Stack) -> str:
    """A fresh database for each run, so that every count below is this run's: a copy of a template migrated and
    loaded the way `scripts/stack.py run` does (`alembic upgrade head`, `jsc load-jakarta`), made once for each
    version of the migrations and the data. Returns how it was made."""
    dsn = st.dsn
    name = dsn.rsplit("/", 1)[1]
    template = template_name()
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        templates = [r[0] for r in await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'jsc\\_faults\\_template\\_%'")]  # fmt: skip
        made = "copied from " + template
        if template not in templates:
            for old in templates:
                await admin.execute(f'DROP DATABASE "{old}"')
            await drop_and_create(admin, template)
            env = {**os.environ, "JSC_DATABASE_URL": st.env["JSC_DATABASE_URL"].rsplit("/", 1)[0] + "/" + template}
            await asyncio.to_thread(migrate_and_load, env)
            made = "migrated and loaded into " + template + ", then copied"
        await drop_and_create(admin, name, template=template)
    finally:
        await admin.close()
    return made


async def drop_and_create(admin: asyncpg.Connection, name: str, *, template: str | None = None) -> None:
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def migrate_and_load(env: dict[str, str]) -> None:
    for args in (["-m", "alembic", "upgrade", "head"], ["-m", "cli.main", "load-jakarta"]):
        done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise RuntimeError(f"`{' '.join(args[1:])}` failed with exit code {done.returncode}")


# --- the set-up: places, officers with phones, citizens ---------------------------------------------


async def officers_for_places(run_id: str, count: int, seed: int) -> tuple[list[tuple[float, float, str]], int]:
    """Places (lat, lon, category) for the load, and officers for each unit they route to, made with the
    domain's own functions (as `jsc create-user` does). Returns the places and how many officers were made."""
    from domain import accounts, routing
    from domain.models import Role
    from domain.resources import Resources
    from domain.settings import get_settings

    rng = random.Random(seed)
    centroids = rng.sample(kelurahan_centroids(), count)
    res = Resources.create(get_settings())
    places: list[tuple[float, float, str]] = []
    units: set[int] = set()
    try:
        reference = await res.reference.get()
        async with res.unit_of_work() as session:
            for lat, lon in centroids:
                area = await routing.locate(
                    session, lat=lat, lon=lon, max_distance_m=res.settings.nearest_kelurahan_max_m
                )
                if area is None:
                    continue
                for code in CATEGORIES:
                    category = reference.active_category(code)
                    assert category is not None, code
                    units.add(routing.first_unit(reference, category, area).id)
                    places.append((lat, lon, code))
            for n, unit_id in enumerate(sorted(units)):
                for k in range(OFFICERS_PER_UNIT):
                    await accounts.sign_up(
                        session,
                        email=f"officer-{run_id}-{n}-{k}@jakarta.go.id",
                        phone=None,
                        password="correct horse battery",
                        display_name=f"Petugas {n}-{k}",
                        role=Role.OFFICER,
                        unit_id=unit_id,
                    )
    finally:
        await res.close()
    return places, len(units) * OFFICERS_PER_UNIT


async def register_phones(client: httpx.AsyncClient, run_id: str, emails: list[str]) -> None:
    for n, email in enumerate(emails):
        body = (await client.post("/graphql", json={"query": LOG_IN, "variables": {"login": email,
                "password": "correct horse battery"}})).json()  # fmt: skip
        token = body["data"]["logIn"]["session"]["accessToken"]
        done = await gql(client, REGISTER_DEVICE, {"token": f"faults-{run_id}-phone-{n}"}, token)
        if not done["registerDevice"]["registered"]:
            raise RuntimeError(f"registerDevice failed: {done}")


async def sign_up_citizens(client: httpx.AsyncClient, run_id: str, count: int) -> list[str]:
    tokens = []
    for n in range(count):
        variables = {"input": {"email": f"warga-{run_id}-{n}@example.id", "password": "correct horse battery",
                               "displayName": f"Warga {n}"}}  # fmt: skip
        tokens.append((await gql(client, SIGN_UP, variables))["signUp"]["session"]["accessToken"])
    return tokens


# --- the clients ------------------------------------------------------------------------------------


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
    try:
        response = await post_graphql(client, query, variables, token)
    except httpx.TransportError as exc:
        raise Retryable(type(exc).__name__) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise Retryable(f"HTTP {response.status_code}")
    if response.status_code != 200:
        raise Refused(f"HTTP {response.status_code}: {response.text[:200]}")
    body = response.json()
    if body.get("errors"):
        # A masked server error (the database or the object store went away mid-request): the app retries.
        raise Retryable("server error: " + str(body["errors"][0].get("message"))[:40])
    return body["data"]


async def retrying(run: Run, operation: str, attempt: Callable[[], Awaitable[T]]) -> T:
    wait = 0.25
    while True:
        try:
            return await attempt()
        except Retryable as exc:
            run.retries.append((run.now(), operation, str(exc)))
            if time.monotonic() > run.give_up_at:
                raise Refused(f"{operation}: still failing at the deadline: {exc}") from exc
            await asyncio.sleep(wait * random.uniform(0.8, 1.2))
            wait = min(wait * 2, 4.0)


async def upload_photo(run: Run, api: httpx.AsyncClient, s3: httpx.AsyncClient, token: str, jpeg: bytes) -> str:
    async def ticket() -> dict[str, Any]:
        data = await gql(api, REQUEST_UPLOAD, {"contentType": "image/jpeg", "byteSize": len(jpeg)}, token)
        payload = data["requestPhotoUpload"]
        if payload["errors"]:
            raise Refused(str(payload["errors"]))
        return dict(payload["upload"])

    upload = await retrying(run, "requestPhotoUpload", ticket)
    run.tickets += 1

    async def post() -> None:
        try:
            response = await post_photo(s3, upload, jpeg)
        except httpx.TransportError as exc:
            raise Retryable(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise Retryable(f"S3 HTTP {response.status_code}")
        if response.status_code not in (200, 204):
            raise Refused(f"S3 HTTP {response.status_code}: {response.text[:200]}")

    await retrying(run, "s3 upload", post)
    run.uploads += 1
    return str(upload["key"])


async def file_report(
    run: Run, api: httpx.AsyncClient, filing: Filing, token: str, place: tuple[float, float, str]
) -> None:
    lat, lon, category = place
    variables = {
        "input": {
            "clientRequestId": filing.client_request_id,
            "category": category,
            "description": f"Laporan uji gangguan {filing.client_request_id[:8]}",
            "location": {"lat": lat, "lon": lon, "accuracyM": 10.0},
            "photoKeys": [filing.photo_key],
            "anonymous": False,
        }
    }

    async def attempt() -> None:
        filing.attempts += 1
        payload = (await gql(api, CREATE_REPORT, variables, token))["createReport"]
        if payload["errors"]:
            code = payload["errors"][0]["code"]
            if code in RETRY_CODES:
                raise Retryable(code)
            raise Refused(code)
        filing.ids_seen.add(payload["report"]["id"])

    try:
        await retrying(run, "createReport", attempt)
    except Refused as exc:
        filing.refused = str(exc)


async def citizen(
    run: Run, n: int, token: str, places: list[tuple[float, float, str]], plan: Plan, api_url: str
) -> None:
    rng = random.Random(n)
    jpeg = phone_jpeg()
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api, httpx.AsyncClient(timeout=30) as s3:
        while run.filing:
            filing = Filing(citizen=n, client_request_id=str(uuid.uuid4()))
            run.filings.append(filing)
            try:
                filing.photo_key = await upload_photo(run, api, s3, token, jpeg)
            except Refused as exc:
                filing.refused = f"photo: {exc}"
                continue
            await file_report(run, api, filing, token, rng.choice(places))
            await asyncio.sleep(plan.pace_s * rng.uniform(0.5, 1.5))


# --- the faults -------------------------------------------------------------------------------------


async def scalar(st: Stack, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(st.dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def wait_until(check: Callable[[], Awaitable[bool]], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            if await check():
                return True
        await asyncio.sleep(0.1)
    return False


async def workers_registered(st: Stack, count: int) -> bool:
    found = await scalar(st, "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '30s'")
    return int(found) >= count


async def first_job_started(st: Stack, since: datetime) -> float | None:
    """Seconds from `since` to the first job started after it, if one was."""
    at = await scalar(st, "SELECT min(at) FROM procrastinate_events WHERE type = 'started' AND at > $1", since)
    return None if at is None else (at - since).total_seconds()


async def jobs_doing(st: Stack) -> int:
    return int(await scalar(st, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"))


async def worker_kill(run: Run, st: Stack, plan: Plan) -> None:
    fault = Fault("worker-kill", run.now())
    run.faults.append(fault)

    async def busy() -> bool:
        return await jobs_doing(st) > 0

    caught = await wait_until(busy, 20)
    doing = await jobs_doing(st)
    killed = st.kill_workers()
    run.note(fault, f"SIGKILL {killed} workers with {doing} jobs running{'' if caught else ' (none caught running)'}")
    await asyncio.sleep(3)
    await restart_workers(run, st, plan, fault)
    fault.ended = run.now()


async def restart_workers(run: Run, st: Stack, plan: Plan, fault: Fault) -> None:
    """New workers, and a wait (bounded) until they run jobs: on a busy machine their imports take a while, and
    the next fault should find them at work."""
    launched = fault.restarted = datetime.now(UTC)
    st.start_workers(plan.workers)
    took: float | None = None

    async def working() -> bool:
        nonlocal took
        took = await first_job_started(st, launched)
        return took is not None

    await wait_until(working, 120)
    run.note(fault, f"started {plan.workers} new workers: " + ("no job in 120s" if took is None else
             f"the first job {took:.0f}s after launch"))  # fmt: skip


async def s3_down(run: Run, st: Stack, plan: Plan) -> None:
    fault = Fault("s3-down", run.now())
    run.faults.append(fault)

    async def processing() -> bool:
        return int(await scalar(st, "SELECT count(*) FROM photos WHERE status = 'ATTACHED'")) > 0

    await wait_until(processing, 20)
    waiting = await scalar(st, "SELECT count(*) FROM photos WHERE status = 'ATTACHED'")
    pid = st.kill_seaweedfs()
    run.note(fault, f"SIGKILL SeaweedFS (pid {pid}) with {waiting} photos waiting to be processed")
    await asyncio.sleep(plan.s3_down_s)
    started = time.monotonic()
    await asyncio.to_thread(st.up)
    fault.ended = run.now()
    run.note(fault, f"stack.py up: S3 answering again after {time.monotonic() - started:.1f}s")


async def pg_restart(run: Run, st: Stack, plan: Plan) -> None:
    fault = Fault("pg-restart", run.now())
    run.faults.append(fault)
    before = sum(1 for f in run.filings if f.ids_seen)
    started = time.monotonic()
    await asyncio.to_thread(st.pg_stop)
    run.note(fault, f"pg_ctl stop -m fast after {before} reports were confirmed ({time.monotonic() - started:.1f}s)")
    await asyncio.sleep(plan.pg_down_s)
    await asyncio.to_thread(st.pg_start)
    fault.ended = run.now()
    run.note(fault, f"pg_ctl start: PostgreSQL back after {time.monotonic() - started:.1f}s down")


async def fcm_503(run: Run, st: Stack, plan: Plan, fcm: RecordingFcm) -> None:
    fault = Fault("fcm-503", run.now())
    run.faults.append(fault)
    fcm.go_down()
    down_at = time.monotonic()
    run.note(fault, "FCM answers 503 UNAVAILABLE to every send")

    async def refusing(since: float) -> bool:
        return sum(1 for at, status, _ in fcm.attempts if at >= since and status == 503) >= 2

    await asyncio.sleep(plan.fcm_down_s / 2)
    await wait_until(lambda: refusing(down_at), 60)  # the workers are caught sending
    sending = await scalar(st, "SELECT count(*) FROM notifications WHERE push_status = 'SENDING'")
    killed = st.kill_workers()
    run.note(fault, f"SIGKILL {killed} workers in the middle of sending ({sending} notifications SENDING)")
    await restart_workers(run, st, plan, fault)
    restarted_at = time.monotonic()
    await asyncio.sleep(max(0.0, down_at + plan.fcm_down_s - time.monotonic()))

    async def retried_out() -> bool:
        # The new workers meet the outage too, until the outbox has tried one message 5 times (firebase-admin sends
        # each once; the outbox's backoff is 1 s doubling to 10 s here).
        tries = Counter(i for at, status, i in fcm.attempts if at >= restarted_at and status == 503)
        return max(tries.values(), default=0) >= 5

    await wait_until(retried_out, 60)
    fcm.go_up()
    up_at = time.monotonic()
    fault.ended = run.now()
    refused = [a for a in fcm.attempts if down_at <= a[0] < up_at]
    run.note(fault, f"FCM up again: {len(refused)} sends refused with 503 ({len({a[2] for a in refused})} ids)")


async def inject(run: Run, st: Stack, plan: Plan, fcm: RecordingFcm) -> None:
    await asyncio.sleep(plan.warmup_s)
    await worker_kill(run, st, plan)
    await after(run, st, plan.warmup_s)
    await s3_down(run, st, plan)
    await after(run, st, plan.warmup_s)
    await pg_restart(run, st, plan)
    await after(run, st, plan.warmup_s)
    await fcm_503(run, st, plan, fcm)
    await after(run, st, plan.cooldown_s)


async def after(run: Run, st: Stack, seconds: float) -> None:
    """Load without a fault for a while, then a note of which processes survived the last fault."""
    await asyncio.sleep(seconds)
    fault = run.faults[-1]
    note = f"{len(st.workers)} workers running {seconds:.0f}s later"
    run.note(fault, note)


async def watch(run: Run, st: Stack) -> None:
    """Records every process of ours that ends by itself: a worker must ride out a fault, not exit."""
    while True:
        for exit_ in st.reap():
            run.exits.append(f"t={run.now():.0f}s {exit_}")
            print(f"faults: {exit_}", flush=True)
        await asyncio.sleep(0.5)


# --- settling and checking --------------------------------------------------------------------------

SWEEPS = json.dumps(
    [
        {"queue": "maintenance", "task": task, "queueing_lock": task, "args": {"timestamp": 0}, "scheduled_at": None}
        for task in ("photos.sweep", "notifications.sweep")
    ]
)


async def outstanding(st: Stack, fcm: RecordingFcm) -> dict[str, int]:
    conn = await asyncpg.connect(st.dsn)
    try:
        photos = await conn.fetchval("SELECT count(*) FROM photos WHERE status = 'ATTACHED'")
        pending = await conn.fetchval("SELECT count(*) FROM notifications WHERE push_status IN ('PENDING', 'SENDING')")
        sent = {str(r["id"]) for r in await conn.fetch("SELECT id FROM notifications WHERE push_status = 'SENT'")}
    finally:
        await conn.close()
    received = {a[2] for a in fcm.attempts if a[1] == 200}
    return {"photos ATTACHED": photos, "notifications pending": pending, "SENT not at FCM": len(sent - received)}


async def settle(run: Run, st: Stack, fcm: RecordingFcm, within_s: float) -> tuple[bool, float]:
    """Waits until nothing is left to do; defers the sweeps every 10 s, as the minute cron does less often."""
    started = time.monotonic()
    last_sweep = 0.0
    left: dict[str, int] = {}
    while time.monotonic() - started < within_s:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            left = await outstanding(st, fcm)
            if not any(left.values()):
                return True, time.monotonic() - started
            if time.monotonic() - last_sweep > 10:
                await scalar(st, "SELECT jsc_defer_jobs($1::jsonb)", SWEEPS)
                last_sweep = time.monotonic()
        await asyncio.sleep(1)
    print(f"faults: not settled after {within_s:.0f}s: {left}", flush=True)
    return False, time.monotonic() - started


def s3_missing(env: dict[str, str], keys: list[str]) -> list[str]:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    client = boto3.client(
        "s3",
        endpoint_url=env["JSC_S3_ENDPOINT_URL"],
        aws_access_key_id=env["JSC_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["JSC_S3_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    missing = []
    for key in keys:
        try:
            client.head_object(Bucket=env["JSC_S3_BUCKET"], Key=key)
        except ClientError:
            missing.append(key)
    return missing


async def check(run: Run, st: Stack, fcm: RecordingFcm) -> tuple[dict[str, int], list[str]]:
    """The counts, and every problem found (empty: nothing lost, nothing duplicated in the inbox)."""
    problems: list[str] = []
    conn = await asyncpg.connect(st.dsn)
    try:
        reports = {
            r["client_request_id"]: r
            for r in await conn.fetch(
                "SELECT id, client_request_id, kelurahan_id, kecamatan_id, kota_id, unit_id FROM reports"
            )
        }
        photo_rows = await conn.fetch("SELECT status, image_key, thumb_key, report_id FROM photos")
        notifications = await conn.fetch("SELECT id, push_status FROM notifications")
        inbox_duplicates = await conn.fetchval(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM notifications"
            " GROUP BY report_id, user_id, kind HAVING count(*) > 1) d"
        )
        # Each report's unit has OFFICERS_PER_UNIT officers: each must have exactly one NEW_REPORT row.
        missing_inbox = await conn.fetchval(
            "SELECT count(*) FROM reports r JOIN users u ON u.unit_id = r.unit_id AND u.role = 'OFFICER'"
            " WHERE NOT EXISTS (SELECT 1 FROM notifications n"
            "  WHERE n.report_id = r.id AND n.user_id = u.id AND n.kind = 'NEW_REPORT')"
        )
        expected_inbox = await conn.fetchval(
            "SELECT count(*) FROM reports r JOIN users u ON u.unit_id = r.unit_id AND u.role = 'OFFICER'"
        )
        jobs = dict(await conn.fetch("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1"))
    finally:
        await conn.close()

    confirmed = [f for f in run.filings if f.ids_seen]
    for f in run.filings:
        if len(f.ids_seen) > 1:
            problems.append(f"{f.client_request_id}: the client was given {len(f.ids_seen)} different report ids")
        stored = reports.get(f.client_request_id)
        if f.ids_seen and (stored is None or str(stored["id"]) not in f.ids_seen):
            problems.append(f"{f.client_request_id}: confirmed as {f.ids_seen} but not stored")
        if f.refused:
            problems.append(f"{f.client_request_id}: {f.refused}")
        elif not f.ids_seen and f.photo_key is not None:
            problems.append(f"{f.client_request_id}: never confirmed")
    unrouted = [r for r in reports.values() if None in (r["kelurahan_id"], r["kecamatan_id"], r["kota_id"],
                                                         r["unit_id"])]  # fmt: skip
    if unrouted:
        problems.append(f"{len(unrouted)} reports without a kelurahan, kecamatan, kota or unit")
    attached = [p for p in photo_rows if p["report_id"] is not None]
    photo_statuses = Counter(p["status"] for p in attached)
    if set(photo_statuses) - {"READY"}:
        problems.append(f"photos of reports not READY: {dict(photo_statuses)}")
    ready_keys = [k for p in attached if p["status"] == "READY" for k in (p["image_key"], p["thumb_key"])]
    missing_objects = await asyncio.to_thread(s3_missing, st.env, ready_keys)
    if missing_objects:
        problems.append(f"{len(missing_objects)} processed objects missing from S3, e.g. {missing_objects[0]}")
    push = Counter(n["push_status"] for n in notifications)
    if set(push) - {"SENT"}:
        problems.append(f"notifications not SENT: {dict(push)}")
    if inbox_duplicates:
        problems.append(f"{inbox_duplicates} duplicate inbox rows")
    if missing_inbox:
        problems.append(f"{missing_inbox} officers' inbox rows missing")
    delivered = [a[2] for a in fcm.attempts if a[1] == 200]
    ids = {str(n["id"]) for n in notifications}
    not_at_fcm = ids - set(delivered)
    if not_at_fcm:
        problems.append(f"{len(not_at_fcm)} notifications never reached FCM")
    stray = set(delivered) - ids
    if stray:
        problems.append(f"FCM received {len(stray)} ids that are not notifications")
    left_jobs = {k: v for k, v in jobs.items() if k in ("todo", "doing", "failed")}
    counts = {
        "reports filed by clients": len(run.filings),
        "  confirmed to the client": len(confirmed),
        "  client retries (all requests)": len(run.retries),
        "  createReport retries": sum(1 for r in run.retries if r[1] == "createReport"),
        "  filings retried at least once": sum(1 for f in run.filings if f.attempts > 1),
        "reports stored": len(reports),
        "  routed (kelurahan + unit)": len(reports) - len(unrouted),
        "photo tickets / uploads": run.tickets,
        "photos uploaded": run.uploads,
        "photos of reports": len(attached),
        "  processed (READY, both objects in S3)": photo_statuses["READY"] - len(missing_objects) // 2,
        "notifications (inbox rows)": len(notifications),
        "  expected (report x unit officer)": expected_inbox,
        "  push SENT": push["SENT"],
        "  duplicate inbox rows": int(inbox_duplicates),
        "FCM send requests": len(fcm.attempts),
        "FCM messages received": len(delivered),
        "  distinct notification ids": len(set(delivered)),
        "  duplicates at FCM (dropped by the app)": len(delivered) - len(set(delivered)),
        "lost reports": sum(1 for f in run.filings if f.ids_seen and f.client_request_id not in reports)
        + sum(1 for f in run.filings if not f.ids_seen),
        "lost photos": len(attached) - photo_statuses["READY"] + len(missing_objects) // 2,
        "lost notifications (inbox)": missing_inbox,
        "lost notifications (push)": len(not_at_fcm),
        **{f"procrastinate jobs {k}": v for k, v in sorted(left_jobs.items())},
    }
    return counts, problems


def fault_table(run: Run, fcm: RecordingFcm, delivery_lag: dict[str, float]) -> list[str]:
    lines = []
    for fault in run.faults:
        end = (fault.ended or run.now()) + 5
        during = [r for r in run.retries if fault.started <= r[0] <= end]
        reasons = Counter(f"{op}: {reason}" for _, op, reason in during)
        lines.append(f"{fault.name} (t={fault.started:.0f}s..{fault.ended or 0:.0f}s)")
        lines.extend(f"    {note}" for note in fault.notes)
        top = ", ".join(f"{n}x {reason}" for reason, n in reasons.most_common(4)) or "none"
        lines.append(f"    client retries in the window: {len(during)} ({top})")
        if fault.name in delivery_lag:
            lines.append(f"    slowest push of a notification made in the window: {delivery_lag[fault.name]:.1f}s")
    bursts = _refusal_spans(fcm)
    if bursts:
        tries, span = max((b[1], b[0]) for b in bursts)
        lines.append(
            f"503s to one message in quick succession: up to {tries} over {span:.1f}s ({len(bursts)} runs, median "
            f"{statistics.median(b[1] for b in bursts):.0f}); firebase-admin sends each message once "
            "(domain/adapters/push.py), so these are the outbox's own retries"
        )
    return lines


def _refusal_spans(fcm: RecordingFcm) -> list[tuple[float, int]]:
    """For each message refused with 503: how long, and how many tries, each run of refusals less than 6 s apart
    took (before 55a6ea6, firebase-admin's own retries, 0, 1, 2 and 4 s apart; now the outbox's backoff)."""
    by_id: dict[str, list[float]] = defaultdict(list)
    for at, status, outbox_id in fcm.attempts:
        if outbox_id is not None and status == 503:
            by_id[outbox_id].append(at)
    spans = []
    for times in by_id.values():
        first = last = times[0]
        count = 1
        for at in times[1:]:
            if at - last < 6:
                last, count = at, count + 1
                continue
            spans.append((last - first, count))
            first = last = at
            count = 1
        spans.append((last - first, count))
    return spans


async def delivery_lags(st: Stack, run: Run) -> dict[str, float]:
    """Per fault: the longest time from a notification's creation to its push, among those made in its window."""
    conn = await asyncpg.connect(st.dsn)
    try:
        out = {}
        origin = datetime.now(UTC).timestamp() - run.now()
        for fault in run.faults:
            lag = await conn.fetchval(
                "SELECT max(extract(epoch FROM pushed_at - created_at)) FROM notifications"
                " WHERE created_at BETWEEN to_timestamp($1) AND to_timestamp($2)",
                origin + fault.started,
                origin + (fault.ended or run.now()),
            )
            if lag is not None:
                out[fault.name] = float(lag)
        return out
    finally:
        await conn.close()


# --- the whole run ----------------------------------------------------------------------------------


async def scenario(st: Stack, plan: Plan, fcm: RecordingFcm, credentials: Path) -> tuple[int, dict[str, Any]]:
    """The whole run; returns the exit status and what was found (counts, problems, the raw timeline)."""
    run_id = uuid.uuid4().hex[:8]
    started = time.monotonic()
    made = await fresh_database(st)
    print(f"faults: database {made} in {time.monotonic() - started:.0f}s", flush=True)
    st.worker_env = {
        "JSC_FIREBASE_CREDENTIALS_FILE": str(credentials),
        "JSC_FCM_ENDPOINT": fcm.url,
        # Shorter than the defaults (60 s, 5 s, 600 s) so that the run settles in minutes, not hours.
        "JSC_PUSH_LEASE_S": "20",
        "JSC_PUSH_BACKOFF_BASE_S": "1",
        "JSC_PUSH_BACKOFF_MAX_S": "10",
    }
    # Started first: importing them takes a while on a busy machine, and the officers are made meanwhile.
    st.start_api()
    st.start_workers(plan.workers)
    places, officers = await officers_for_places(run_id, count=plan.places, seed=8)
    async with httpx.AsyncClient(base_url=st.api_url, timeout=30) as client:
        await wait_healthy(client, [st.api] if st.api else [], within_s=60)
        emails = [f"officer-{run_id}-{n}-{k}@jakarta.go.id" for n in range(officers // OFFICERS_PER_UNIT)
                  for k in range(OFFICERS_PER_UNIT)]  # fmt: skip
        await register_phones(client, run_id, emails)
        tokens = await sign_up_citizens(client, run_id, plan.citizens)
    ready = await wait_until(lambda: workers_registered(st, plan.workers), 120)
    print(
        f"faults: {len(places)} places, {officers} officers with a phone, {plan.citizens} citizens; "
        f"{'workers ready' if ready else 'workers NOT ready'} {time.monotonic() - started:.0f}s after the start",
        flush=True,
    )

    run = Run()
    clients = [asyncio.create_task(citizen(run, n, token, places, plan, st.api_url)) for n, token in enumerate(tokens)]
    watcher = asyncio.create_task(watch(run, st))
    try:
        await inject(run, st, plan, fcm)
    finally:
        run.filing = False
    # Clients finish what they started, retrying until the settle budget runs out.
    run.give_up_at = time.monotonic() + plan.settle_s
    await asyncio.wait_for(asyncio.gather(*clients), timeout=plan.settle_s + 60)
    load_s = run.now()
    print(f"faults: load over after {load_s:.0f}s; waiting for the system to settle", flush=True)
    settled, settle_s = await settle(run, st, fcm, plan.settle_s)
    watcher.cancel()
    counts, problems = await check(run, st, fcm)
    problems.extend(f"{e} (not killed by the run)" for e in run.exits)
    lags = await delivery_lags(st, run)
    raw = {
        "faults": [{"name": f.name, "started": f.started, "ended": f.ended, "notes": f.notes} for f in run.faults],
        "retries": run.retries,
        "fcm_sends": [(at - run.t0, status, outbox_id) for at, status, outbox_id in fcm.attempts],
    }
    summary = {"counts": counts, "problems": problems, "settled": settled, "raw": raw}

    width = max(len(k) for k in counts)
    print("\n== counts ==")
    for key, value in counts.items():
        print(f"{key:<{width}}  {value:>7}")
    print("\n== faults ==")
    for line in fault_table(run, fcm, lags):
        print(line)
    print(f"\nload {load_s:.0f}s, settled {'in' if settled else 'NOT within'} {settle_s:.0f}s")
    if problems:
        print("\n== problems ==")
        for problem in problems[:30]:
            print(f"  {problem}")
        return 1, summary
    print("OK: nothing lost, nothing duplicated in the inbox, nothing pending")
    return 0, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small load and short faults (the test suite's)")
    parser.add_argument("--citizens", type=int, help="concurrent citizens filing reports")
    parser.add_argument("--counts-json", type=Path, help="also write the counts and problems to this file")
    ns = parser.parse_args(argv)
    plan = QUICK if ns.quick else FULL
    if ns.citizens:
        plan = Plan(**{**plan.__dict__, "citizens": ns.citizens})

    def on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    log_dir = Path(tempfile.mkdtemp(prefix="jsc-faults-"))
    st = Stack(log_dir)
    started = time.monotonic()
    status = 1
    try:
        st.up()
        print(f"faults: stack up in {time.monotonic() - started:.0f}s", flush=True)
        os.environ.update(st.env)
        with RecordingFcm() as fcm:
            credentials = fcm.write_service_account(log_dir)
            status, summary = asyncio.run(scenario(st, plan, fcm, credentials))
        (log_dir / "run.json").write_text(json.dumps(summary, default=str))
        if ns.counts_json is not None:
            ns.counts_json.write_text(json.dumps({k: v for k, v in summary.items() if k != "raw"}, indent=1))
    except KeyboardInterrupt:
        print("faults: interrupted; stopping everything", file=sys.stderr)
        status = 130
    finally:
        st.down()
        print(f"faults: stack down; whole run {time.monotonic() - started:.0f}s; logs in {log_dir}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
