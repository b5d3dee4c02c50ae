"""The composition root shared by the API, the worker and the CLI: one of each adapter per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain import metrics
from domain.access import AccountStates
from domain.adapters.storage import ObjectStorage, S3Storage
from domain.db import PublicReads, create_engine, create_session_factory
from domain.performance import FiguresCache
from domain.reference import ReferenceCache
from domain.settings import Settings


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

    @classmethod
    def create(cls, settings: Settings) -> Resources:
        engine = create_engine(settings)
        metrics.watch_pool(engine, "main", settings.database_pool_size)
        sessions = create_session_factory(engine)
        return cls(
            settings,
            engine,
            sessions,
            S3Storage(settings),
            ReferenceCache(sessions, ttl_s=settings.reference_cache_ttl_s),
            PublicReads(settings),
            AccountStates(sessions, ttl_s=settings.account_state_cache_s),
            FiguresCache(settings.performance_cache_entries),
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends normally, rolled back otherwise."""
        async with self.sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.public_reads.close()
        await self.engine.dispose()
