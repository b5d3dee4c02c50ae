"""Engine and session factory. Use cases receive a session and flush; only the edges commit."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any

import asyncpg
from opentelemetry import trace
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from domain import log_redaction, metrics
from domain.settings import Settings

# At DEBUG SQLAlchemy logs every row it reads: password hashes, device tokens, whatever a table holds.
ROWS = log_redaction.Redact(drop=lambda record: record.msg == "Row %r")
_TRACER = trace.get_tracer(__name__)


def create_engine(settings: Settings) -> AsyncEngine:
    log_redaction.install(ROWS, "sqlalchemy.engine.Engine")
    return create_async_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_pre_ping=True,
        # Statement parameters hold device tokens and token hashes; hidden from the SQL log and from the text of
        # every error, which the API logs with its traceback.
        hide_parameters=True,
    )


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
    The pool is opened on first use, on the running loop.
    """

    def __init__(self, settings: Settings) -> None:
        self._dsn = psycopg_dsn(settings.database_url)
        self._size = settings.public_reads_pool_size
        self._timeout_ms = settings.public_reads_timeout_ms
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._in_use = metrics.DB_POOL_IN_USE.labels("public_reads")
        metrics.DB_POOL_SIZE.labels("public_reads").set(self._size)

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._size,
                        reset=_keep_session_state,
                        server_settings={
                            "default_transaction_read_only": "on",
                            "plan_cache_mode": "force_custom_plan",
                            "jit": "off",
                            "statement_timeout": str(self._timeout_ms),
                            "application_name": "jsc-public-reads",
                        },
                    )
        return self._pool

    async def rows(self, sql: str, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        query, names = _positional(sql)
        pool = await self._get_pool()
        self._in_use.inc()
        try:
            with _statement_span(query):
                return await pool.fetch(query, *(params[name] for name in names))
        finally:
            self._in_use.dec()

    async def scalar(self, sql: str, params: Mapping[str, Any]) -> Any:
        query, names = _positional(sql)
        pool = await self._get_pool()
        self._in_use.inc()
        try:
            with _statement_span(query):
                return await pool.fetchval(query, *(params[name] for name in names))
        finally:
            self._in_use.dec()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


def _statement_span(query: str) -> AbstractContextManager[trace.Span]:
    """A span for one statement of the public reads, which bypass SQLAlchemy (and so its instrumentation); a
    no-op while tracing is off. The text only: the parameters are the caller's box and filters."""
    verb = query.lstrip().split(None, 1)[0].upper() if query.strip() else "SQL"
    return _TRACER.start_as_current_span(
        f"{verb} public-reads",
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": query},
    )
