"""One DataLoader per access pattern, made per request, so nested fields cost one query per level."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from api.context import Context
from domain import cctv, command_center, community, workflow
from domain.models import (
    Camera,
    CameraWatch,
    CameraZone,
    CctvEvidence,
    Photo,
    Report,
    ReportComment,
    ReportStatusChange,
    User,
    WatchRule,
)
from domain.reference import ReferenceData

M = TypeVar("M")
T = TypeVar("T")


def later(pending: Awaitable[T]) -> T:
    """What a sync resolver returns when its answer needs a query after all.

    graphql-core awaits whatever a resolver returns, so a field whose answer is often known at once (a staff-only
    field asked by the public, a viewer's flag asked without a viewer) is a sync resolver that answers at once
    then, and returns the awaitable only when it has to wait: an async resolver costs a coroutine, strawberry's
    async wrapper and a gather per object even when it awaits nothing. Typed as its result, which it is to
    strawberry and to the client.
    """
    return cast(T, pending)


class Loaders:
    """One operation's data loaders. Each loader's function refers back to this object (its context, its
    queries): a cycle, which `close` breaks when the operation ends, so that the loaders and every row they
    cached are freed then by reference counting, not left for the cyclic collector's pauses (docs/benchmarks.md)."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self.user = self._by_id(User, User.id)
        self.camera_watch = self._by_id(CameraWatch, CameraWatch.camera_id)
        self.photos_of_report = self._grouped(Photo, Photo.report_id, order=(Photo.position,))
        self.history_of_report = self._grouped(
            ReportStatusChange,
            ReportStatusChange.report_id,
            order=(ReportStatusChange.at, ReportStatusChange.id),
        )
        self.evidence_of_report = DataLoader(load_fn=self._evidence)
        self.duplicates_of_report = self._grouped(Report, Report.duplicate_of_id, order=(Report.created_at,))
        self.comments_page = DataLoader(load_fn=self._comments)
        self.support_count = DataLoader(load_fn=self._support_counts)
        self.supported_by_me = DataLoader(load_fn=self._supported_by_me)
        self.followed_by_me = DataLoader(load_fn=self._followed_by_me)
        self.zones_of_camera = self._grouped(CameraZone, CameraZone.camera_id, order=(CameraZone.name,))
        self.rules_of_camera = self._grouped(WatchRule, WatchRule.camera_id, order=(WatchRule.id,))
        self.camera_latest = DataLoader(load_fn=self._camera_latest)

    def close(self) -> None:
        vars(self).clear()

    async def _comments(
        self, keys: list[tuple[uuid.UUID, tuple[datetime, uuid.UUID] | None, int]]
    ) -> Sequence[list[ReportComment]]:
        """A page of comments per (report, after, limit): one query each (a report list rarely asks for them)."""

        async def run(session: AsyncSession) -> list[list[ReportComment]]:
            return [
                await community.comments_page(session, report_id=report_id, after=after, limit=limit)
                for report_id, after, limit in keys
            ]

        return await self._context.db(run)

    async def _support_counts(self, keys: list[uuid.UUID]) -> Sequence[int]:
        counts = await self._context.db(lambda session: community.support_counts(session, keys))
        return [counts.get(key, 0) for key in keys]

    async def _supported_by_me(self, keys: list[uuid.UUID]) -> Sequence[bool]:
        viewer = self._context.viewer_id()
        if viewer is None:
            return [False] * len(keys)
        mine = await self._context.db(lambda session: community.supported_by(session, viewer, keys))
        return [key in mine for key in keys]

    async def _followed_by_me(self, keys: list[uuid.UUID]) -> Sequence[bool]:
        viewer = self._context.viewer_id()
        if viewer is None:
            return [False] * len(keys)
        followed = await self._context.db(lambda session: workflow.followed_by(session, viewer, keys))
        return [key in followed for key in keys]

    async def _evidence(self, keys: list[uuid.UUID]) -> Sequence[list[tuple[CctvEvidence, Camera]]]:
        rows = await self._context.db(lambda session: cctv.evidence_of_reports(session, keys))
        groups: dict[uuid.UUID, list[tuple[CctvEvidence, Camera]]] = defaultdict(list)
        for evidence, camera in rows:
            groups[evidence.report_id].append((evidence, camera))
        return [groups.get(key, []) for key in keys]

    async def _camera_latest(self, keys: list[int]) -> Sequence[command_center.CameraLatest]:
        found = await self._context.db(lambda session: command_center.latest_of_cameras(session, keys))
        return [found.get(key, command_center.CameraLatest()) for key in keys]

    def reference(self, read: Callable[[ReferenceData], T]) -> T:
        """`read` over the process's reference snapshot (domain/reference.py), for the fields that point at its
        rows (a report's category, kelurahan, unit...): no query per request.

        While the snapshot is current, that is a dict lookup answered at once. Through a DataLoader, as before,
        each such field cost a coroutine, a future and a gather per object: about 40 µs against 8 µs for a sync
        field (docs/benchmarks.md, "GraphQL cost per field"). When the snapshot is stale the answer is an
        awaitable that loads it first: graphql-core awaits what any resolver returns, so the field keeps its type.
        """
        cache = self._context.resources.reference
        snapshot = cache.current()
        if snapshot is not None:
            return read(snapshot)

        async def loaded() -> T:
            return read(await cache.get())

        return cast(T, loaded())

    def _by_id(self, model: type[M], column: Any) -> DataLoader[Any, M | None]:
        async def load(keys: list[Any]) -> Sequence[M | None]:
            async def run(session: AsyncSession) -> dict[Any, M]:
                rows = await session.scalars(select(model).where(column.in_(keys)))
                return {getattr(row, column.key): row for row in rows}

            found = await self._context.db(run)
            return [found.get(key) for key in keys]

        return DataLoader(load_fn=load)

    def _grouped(self, model: type[M], column: Any, *, order: tuple[Any, ...]) -> DataLoader[uuid.UUID, list[M]]:
        async def load(keys: list[uuid.UUID]) -> Sequence[list[M]]:
            async def run(session: AsyncSession) -> dict[Any, list[M]]:
                rows = await session.scalars(select(model).where(column.in_(keys)).order_by(*order))
                groups: dict[Any, list[M]] = defaultdict(list)
                for row in rows:
                    groups[getattr(row, column.key)].append(row)
                return groups

            groups = await self._context.db(run)
            return [groups.get(key, []) for key in keys]

        return DataLoader(load_fn=load)
