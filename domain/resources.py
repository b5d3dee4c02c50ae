"""The composition root shared by the API, the worker and the CLI: one of each adapter per process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain import metrics
from domain.access import AccountStates
from domain.adapters.storage import ObjectStorage, S3Storage
from domain.db import (
    REPLICA_FAILURE_STATES,
    REPLICA_FAILURES,
    PublicReads,
    create_engine,
    create_replica_engine,
    create_session_factory,
)
from domain.performance import FiguresCache
from domain.reference import ReferenceCache
from domain.settings import Settings

T = TypeVar("T")


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: ObjectStorage
    reference: ReferenceCache
    public_reads: PublicReads
    account_states: AccountStates
    figures: FiguresCache
    # Sessions on the read replica (JSC_READ_REPLICA_URL), for the ORM's public reads; None without one.
    replica_engine: AsyncEngine | None = None
    replica_sessions: async_sessionmaker[AsyncSession] | None = None

    @classmethod
    def create(cls, settings: Settings) -> Resources:
        engine = create_engine(settings)
        metrics.watch_pool(engine, "main", settings.database_pool_size)
        sessions = create_session_factory(engine)
        replica_engine = create_replica_engine(settings) if settings.read_replica_url else None
        return cls(
            settings,
            engine,
            sessions,
            S3Storage(settings),
            ReferenceCache(sessions, ttl_s=settings.reference_cache_ttl_s),
            PublicReads(settings),
            AccountStates(sessions, ttl_s=settings.account_state_cache_s),
            FiguresCache(settings.performance_cache_entries),
            replica_engine,
            create_session_factory(replica_engine) if replica_engine else None,
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends normally, rolled back otherwise."""
        async with self.sessions() as session, session.begin():
            yield session

    async def public_read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """A public read through the ORM (Open311's GET): on the replica when its gate allows (the same gate as
        ``public_reads``), else on the primary; a read the replica fails runs again on the primary. Read only:
        nothing is committed."""
        gate = self.public_reads.gate
        if self.replica_sessions is not None and gate is not None and await gate.target():
            try:
                async with self.replica_sessions() as session:
                    result = await work(session)
            except (*REPLICA_FAILURES, DBAPIError) as exc:  # type: ignore[misc]
                if isinstance(exc, DBAPIError) and not _replica_failure(exc):
                    raise
                gate.failed(exc)
            else:
                gate.metrics.replica_reads_total += 1
                return result
        async with self.sessions() as session:
            return await work(session)

    async def close(self) -> None:
        await self.public_reads.close()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()
        await self.engine.dispose()


def _replica_failure(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) in REPLICA_FAILURE_STATES
