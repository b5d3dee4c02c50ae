"""Per-request state: the viewer, one lazily opened session, the jobs it asks for, the loaders."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from api.errors import ClientError, ErrorCode, unauthenticated
from api.live import MapCache, ReportEventHub
from domain.adapters.storage import ObjectStorage
from domain.db import PublicReads
from domain.jobs import JobBuffer
from domain.resources import Resources
from domain.security import AccessClaims
from domain.settings import Settings
from domain.staff import STAFF_ROLES
from domain.telemetry import REQUEST_ID, new_request_id
from workers.queue import defer_in_transaction

if TYPE_CHECKING:
    from api.access import AccountWatch
    from api.loaders import Loaders

T = TypeVar("T")


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | None
    resources: Resources
    viewer: AccessClaims | None
    # Why a token that came with the request does not count: expired, or its account closed or changed.
    viewer_problem: str | None = None
    live: ReportEventHub | None = None
    alerts: ReportEventHub | None = None
    map_cache: MapCache | None = None
    accounts: AccountWatch | None = None
    # A WebSocket's connection_init payload (strawberry sets it): where a browser puts its bearer token.
    connection_params: dict[str, object] | None = None
    # The one api/observability.py gave the request (so in its log lines and span as well).
    request_id: str = field(default_factory=lambda: REQUEST_ID.get() or new_request_id())
    jobs: JobBuffer = field(default_factory=JobBuffer)
    rollback_only: bool = False
    # A mutation ran in this request (api/extensions.py): later reads must see its writes.
    wrote: bool = False
    # Run once the operation's transaction has committed (never after a rollback).
    on_commit: list[Callable[[], None]] = field(default_factory=list)
    _session: AsyncSession | None = None
    # Sibling fields resolve concurrently; an AsyncSession must only be used by one coroutine at a time.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def for_next_operation(self) -> Context:
        """The same request and viewer with nothing of this operation's: its session, jobs and callbacks."""
        return dataclasses.replace(
            self, jobs=JobBuffer(), rollback_only=False, on_commit=[], _session=None, _lock=asyncio.Lock()
        )

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def public_reads(self) -> PublicReads:
        """The public reads: on the read replica when there is a healthy one, on the primary once this request
        has written (a batch's later operations see what an earlier one wrote)."""
        reads = self.resources.public_reads
        return reads.on_primary() if self.wrote else reads

    @property
    def storage(self) -> ObjectStorage:
        return self.resources.storage

    @cached_property
    def loaders(self) -> Loaders:
        from api.loaders import Loaders

        return Loaders(self)

    async def db(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._lock:
            if self._session is None:
                self._session = self.resources.sessions()
                await self._session.begin()
            return await work(self._session)

    async def finish(self, *, commit: bool) -> None:
        """Ends the operation's transaction; its jobs are deferred in it, so they exist only if it commits."""
        if (loaders := self.__dict__.pop("loaders", None)) is not None:
            loaders.close()
        session, self._session = self._session, None
        if session is None:
            self.jobs.drain()
            return
        try:
            if commit and not self.rollback_only:
                if self.jobs.requests:
                    await defer_in_transaction(session, self.jobs.drain())
                await session.commit()
                for callback in self.on_commit:
                    callback()
            else:
                await session.rollback()
                self.jobs.drain()
        finally:
            await session.close()

    def require_viewer(self) -> AccessClaims:
        if self.viewer is None:
            raise unauthenticated(self.viewer_problem)
        return self.viewer

    def require_staff(self, message: str = "Staff only.") -> AccessClaims:
        """The viewer, if staff: UNAUTHENTICATED without one, FORBIDDEN for a citizen."""
        viewer = self.require_viewer()
        if viewer.role not in STAFF_ROLES:
            raise ClientError(ErrorCode.FORBIDDEN, message)
        return viewer

    def viewer_is_staff(self) -> bool:
        return self.viewer is not None and self.viewer.role in STAFF_ROLES

    def viewer_id(self) -> uuid.UUID | None:
        return self.viewer.user_id if self.viewer else None
