"""Engine and session factory. Use cases receive a session and flush; only the edges commit."""

from __future__ import annotations

import asyncio
import copy
import math
import re
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any

import asyncpg
from opentelemetry import trace
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from domain import cpu_turns, log_redaction, metrics
from domain.replica import Fallback, Position, ReplicaMetrics, Verdict, judge, parse_lsn
from domain.settings import Settings

# At DEBUG SQLAlchemy logs every row it reads: password hashes, device tokens, whatever a table holds.
ROWS = log_redaction.Redact(drop=lambda record: record.msg == "Row %r")
_TRACER = trace.get_tracer(__name__)


def create_engine(settings: Settings) -> AsyncEngine:
    log_redaction.install(ROWS, "sqlalchemy.engine.Engine")
    return _off_cpu_while_executing(
        create_async_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_pool_size,
            pool_pre_ping=True,
            # Statement parameters hold device tokens and token hashes; hidden from the SQL log and from the text
            # of every error, which the API logs with its traceback.
            hide_parameters=True,
        )
    )


def _off_cpu_while_executing(engine: AsyncEngine) -> AsyncEngine:
    """A public read through the ORM does not count at the CPU while a statement runs (domain/cpu_turns.py): the
    asyncpg adapter reads every row before the statement returns, so the wait is the whole round trip; a
    statement that failed ends it too."""
    event.listen(engine.sync_engine, "before_cursor_execute", _statement_starts)
    event.listen(engine.sync_engine, "after_cursor_execute", _statement_ended)
    event.listen(engine.sync_engine, "handle_error", _statement_ended)
    return engine


def _statement_starts(*_: Any) -> None:
    cpu_turns.leave()


def _statement_ended(*_: Any) -> None:
    cpu_turns.back()


def create_replica_engine(settings: Settings) -> AsyncEngine:
    """The ORM's engine on the read replica: read-only at the server, like PublicReads' connections."""
    assert settings.read_replica_url is not None
    engine = create_async_engine(
        settings.read_replica_url,
        pool_size=settings.database_pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args={
            "timeout": CHECK_TIMEOUT_S * 5,
            "server_settings": {
                "default_transaction_read_only": "on",
                "statement_timeout": str(settings.public_reads_timeout_ms),
                "application_name": "jsc-replica-orm",
            },
        },
    )
    return _off_cpu_while_executing(engine)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def psycopg_dsn(database_url: str) -> str:
    """The libpq form of the SQLAlchemy URL, for procrastinate's psycopg connection."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


# `:name` parameters, not `::type` casts.
_NAMED_PARAM = re.compile(r"(?<!:):(?!:)([A-Za-z_]\w*)")


@lru_cache(maxsize=256)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """The query with `$n` for each distinct `:name`, and the names in order (queries come from a few shapes)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED_PARAM.sub(number, sql), tuple(names)


async def _keep_session_state(_connection: asyncpg.Connection) -> None:
    """These connections never change their session (read-only, no LISTEN, no locks): nothing to reset."""


# The replica failed a read for a reason of its own (it went away, shuts down, or cancelled the query to replay
# WAL): the read is run again on the primary. A statement timeout is not among them: the primary would time out too.
REPLICA_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TransactionRollbackError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# The same failures as SQLSTATEs, for the ORM reads (SQLAlchemy wraps the driver's errors).
REPLICA_FAILURE_STATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01", "53300"})
# A check that takes longer than this finds the replica down.
CHECK_TIMEOUT_S = 2.0


class _Pool:
    """An asyncpg pool set up for public reads, opened on first use, on the running loop (see PublicReads)."""

    def __init__(self, database_url: str, *, size: int, timeout_ms: int, application_name: str) -> None:
        self._dsn = psycopg_dsn(database_url)
        self._size = size
        self._timeout_ms = timeout_ms
        self._application_name = application_name
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._size,
                        reset=_keep_session_state,
                        timeout=CHECK_TIMEOUT_S * 5,
                        server_settings={
                            "default_transaction_read_only": "on",
                            "plan_cache_mode": "force_custom_plan",
                            "jit": "off",
                            "statement_timeout": str(self._timeout_ms),
                            "application_name": self._application_name,
                        },
                    )
        return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


REPLICA_STATE_SQL = """
SELECT pg_is_in_recovery() AS in_recovery,
       pg_last_wal_replay_lsn()::text AS replay_lsn,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age_s
"""


class ReplicaGate:
    """The replica's last verdict (domain/replica.py), renewed at most once every JSC_READ_REPLICA_CHECK_S."""

    def __init__(self, settings: Settings, primary: _Pool, replica: _Pool) -> None:
        self._primary = primary
        self._replica = replica
        self._check_s = settings.read_replica_check_s
        self._max_lag_s = settings.read_replica_max_lag_s
        self.metrics = ReplicaMetrics(configured=True, state="unknown")
        self._verdict = Verdict(False, None, Fallback.DOWN)
        self._checked_at = -math.inf
        self._checking = asyncio.Lock()

    async def verdict(self) -> Verdict:
        """The last verdict; the first caller after the period ends checks again (the others do not wait, except
        before the first check: there is no verdict to use yet)."""
        stale = time.monotonic() - self._checked_at >= self._check_s
        if stale and (not self._checking.locked() or self.metrics.checked_at is None):
            async with self._checking:
                if time.monotonic() - self._checked_at >= self._check_s:
                    await self.check()
        return self._verdict

    async def check(self) -> Verdict:
        """Asks the primary for its WAL position, then the replica how far it has replayed."""
        error = None
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                primary_lsn = await (await self._primary.get()).fetchval("SELECT pg_current_wal_insert_lsn()::text")
                row = await (await self._replica.get()).fetchrow(REPLICA_STATE_SQL)
            verdict = judge(
                Position(
                    primary_lsn=parse_lsn(primary_lsn) or 0,
                    in_recovery=row["in_recovery"],
                    replay_lsn=parse_lsn(row["replay_lsn"]),
                    replay_age_s=row["replay_age_s"],
                ),
                max_lag_s=self._max_lag_s,
            )
        except (*REPLICA_FAILURES, asyncpg.PostgresError) as exc:
            verdict, error = Verdict(False, None, Fallback.DOWN), f"{type(exc).__name__}: {exc}"[:300]
        self._verdict, self._checked_at = verdict, time.monotonic()
        self.metrics.record(verdict, error=error)
        if verdict.lag_s is not None:
            metrics.REPLICA_LAG.set(verdict.lag_s)
        return verdict

    def failed(self, exc: BaseException) -> None:
        """A read on the replica failed: the next read checks again before using it."""
        self._checked_at = -math.inf
        self.metrics.count_fallback(Fallback.ERROR)
        metrics.REPLICA_FALLBACK.labels(Fallback.ERROR.value).inc()
        self.metrics.last_error = f"{type(exc).__name__}: {exc}"[:300]

    async def target(self) -> bool:
        """True when a read may go to the replica; otherwise the fallback is counted by its reason."""
        verdict = await self.verdict()
        if not verdict.healthy:
            reason = verdict.reason or Fallback.DOWN
            self.metrics.count_fallback(reason)
            metrics.REPLICA_FALLBACK.labels(reason.value).inc()
        return verdict.healthy


class PublicReads:
    """Autocommit, read-only connections for the public map, its tiles and statistics, and the auditors'
    figures: one round trip a query.

    A public read needs no transaction of its own, so it skips what a session costs (a ping, BEGIN and COMMIT),
    and each connection is set up once for these queries:
    - read-only at the server: nothing sent through here can write;
    - custom plans: a generic (cached) plan estimates every box alike and picks the wrong index for it (the
      newest 100 of the 2 x 2 km box at Monas among 1,000,000 reports: 29 ms with the generic plan, 2 ms with
      a plan made for the box);
    - no JIT: compiling would cost more than these queries take;
    - a statement timeout, so that no public query can hold a connection for long.

    With JSC_READ_REPLICA_URL set, each read goes to the streaming replica while its gate says so (ReplicaGate),
    else to the primary; a read the replica fails is run again on the primary. ``on_primary()`` is the same
    reads pinned to the primary, for a caller that must see its own writes.
    """

    def __init__(self, settings: Settings) -> None:
        size, timeout_ms = settings.public_reads_pool_size, settings.public_reads_timeout_ms
        self._primary = _Pool(
            settings.database_url, size=size, timeout_ms=timeout_ms, application_name="jsc-public-reads"
        )
        self._replica: _Pool | None = None
        self.gate: ReplicaGate | None = None
        self.metrics = ReplicaMetrics()
        if settings.read_replica_url:
            self._replica = _Pool(
                settings.read_replica_url, size=size, timeout_ms=timeout_ms, application_name="jsc-replica-reads"
            )
            self.gate = ReplicaGate(settings, self._primary, self._replica)
            self.metrics = self.gate.metrics
        self._pinned = False
        self._in_use = metrics.DB_POOL_IN_USE.labels("public_reads")
        metrics.DB_POOL_SIZE.labels("public_reads").set(size)

    def on_primary(self) -> PublicReads:
        """The same pools, every read on the primary."""
        pinned = copy.copy(self)
        pinned.gate, pinned._pinned = None, True
        return pinned

    async def _fetch(self, method: str, sql: str, params: Mapping[str, Any]) -> Any:
        self._in_use.inc()
        try:
            # The wait for a connection and for the rows is not this process's CPU: the public lane's turn
            # goes to another read meanwhile (domain/cpu_turns.py).
            with cpu_turns.off_cpu(), _statement_span(sql):
                return await self._route(method, sql, params)
        finally:
            self._in_use.dec()

    async def _route(self, method: str, sql: str, params: Mapping[str, Any]) -> Any:
        query, names = _positional(sql)
        args = [params[name] for name in names]
        if self.gate is not None and self._replica is not None and await self.gate.target():
            try:
                result = await getattr(await self._replica.get(), method)(query, *args)
            except REPLICA_FAILURES as exc:
                self.gate.failed(exc)
            else:
                self.metrics.replica_reads_total += 1
                return result
        return await getattr(await self._primary.get(), method)(query, *args)

    async def rows(self, sql: str, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._fetch("fetch", sql, params)
        return rows

    async def scalar(self, sql: str, params: Mapping[str, Any]) -> Any:
        return await self._fetch("fetchval", sql, params)

    async def close(self) -> None:
        if self._pinned:
            return
        await self._primary.close()
        if self._replica is not None:
            await self._replica.close()


def _statement_span(query: str) -> AbstractContextManager[trace.Span]:
    """A span for one statement of the public reads, which bypass SQLAlchemy (and so its instrumentation); a
    no-op while tracing is off. The text only: the parameters are the caller's box and filters."""
    verb = query.lstrip().split(None, 1)[0].upper() if query.strip() else "SQL"
    return _TRACER.start_as_current_span(
        f"{verb} public-reads",
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": query},
    )
