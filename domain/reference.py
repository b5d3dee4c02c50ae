"""Reference data (boundaries without their shapes, units, categories) kept in memory by each process.

These rows change only when Jakarta's data is reloaded or an admin edits the catalogue, yet every report
reads several of them; reading them from PostgreSQL each time was most of createReport's SQL. A snapshot
is loaded on first use and reloaded after `ttl_s`; a process that changes reference data calls
`invalidate()`, other processes see the change within `ttl_s`.

The rows are detached ORM instances shared by every request of the process: read them, never change them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models import Agency, Category, Kecamatan, Kelurahan, Kota, RoutingRule, Unit, UnitKind
from domain.models.base import Base

M = TypeVar("M", bound=Base)
T = TypeVar("T")


@dataclass(frozen=True)
class ReferenceData:
    categories: dict[int, Category]
    category_codes: dict[str, Category]
    agencies: dict[str, Agency]
    kota: dict[int, Kota]
    kecamatan: dict[int, Kecamatan]
    kelurahan: dict[int, Kelurahan]
    units: dict[int, Unit]
    unit_codes: dict[str, Unit]
    rules: dict[int, list[RoutingRule]] = field(default_factory=dict)  # by category id
    # Values worked out from this snapshot, once each (see `derived`).
    _derived: dict[Hashable, object] = field(default_factory=dict, compare=False, repr=False)

    def derived(self, key: Hashable, make: Callable[[], T]) -> T:
        """`make()`, computed once per snapshot under `key`: for what is worked out from the reference rows at
        every question otherwise (a performance level's groups of units). The caller must not change it."""
        if key not in self._derived:
            self._derived[key] = make()
        return cast(T, self._derived[key])

    def active_category(self, code: str) -> Category | None:
        category = self.category_codes.get(code)
        return category if category is not None and category.active else None

    @cached_property
    def _offices(self) -> dict[tuple[UnitKind, int], Unit]:
        by_area: dict[tuple[UnitKind, int], Unit] = {}
        for unit in self.units.values():
            area_id = {
                UnitKind.KELURAHAN: unit.kelurahan_id,
                UnitKind.KECAMATAN: unit.kecamatan_id,
                UnitKind.KOTA: unit.kota_id,
            }.get(unit.kind)
            if area_id is not None:
                by_area[(unit.kind, area_id)] = unit
        return by_area

    @cached_property
    def _agency_offices(self) -> dict[tuple[str, int | None], Unit]:
        return {
            (u.agency_code, u.kota_id): u
            for u in self.units.values()
            if u.agency_code is not None and u.kind in (UnitKind.AGENCY, UnitKind.EXTERNAL)
        }

    def units_of_kind(self, kind: UnitKind) -> list[Unit]:
        """Every unit of a kind, in code order."""
        return sorted((u for u in self.units.values() if u.kind == kind), key=lambda u: u.code)

    def office(self, kind: UnitKind, area_id: int) -> Unit:
        """The kelurahan, kecamatan or kota office of an area (`kind` says which level `area_id` is)."""
        return self._offices[(kind, area_id)]

    def agency_office(self, agency_code: str, kota_id: int) -> Unit:
        """The agency's office for a place: its Suku Dinas of that kota, or its only office."""
        agency = self.agencies[agency_code]
        return self._agency_offices[(agency_code, kota_id if agency.per_kota else None)]


async def _rows(session: AsyncSession, model: type[M]) -> list[M]:
    return list(await session.scalars(select(model)))


async def load_reference(session: AsyncSession) -> ReferenceData:
    categories = await _rows(session, Category)
    units = await _rows(session, Unit)
    rules: dict[int, list[RoutingRule]] = {}
    for rule in await _rows(session, RoutingRule):
        rules.setdefault(rule.category_id, []).append(rule)
    return ReferenceData(
        categories={c.id: c for c in categories},
        category_codes={c.code: c for c in categories},
        agencies={a.code: a for a in await _rows(session, Agency)},
        kota={k.id: k for k in await _rows(session, Kota)},
        kecamatan={k.id: k for k in await _rows(session, Kecamatan)},
        kelurahan={k.id: k for k in await _rows(session, Kelurahan)},
        units={u.id: u for u in units},
        unit_codes={u.code: u for u in units},
        rules=rules,
    )


class ReferenceCache:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl_s = ttl_s
        self._clock = clock
        self._data: ReferenceData | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> ReferenceData:
        """The current snapshot, loaded when there is none or it is older than the TTL.

        It is loaded in a session of its own that is closed at once, so that no request's rollback can
        expire the shared rows.
        """
        current = self.current()
        if current is not None:
            return current
        async with self._lock:
            if self._data is None or self._clock() - self._loaded_at >= self._ttl_s:
                started = self._clock()
                async with self._sessions() as session:
                    data = await load_reference(session)
                self._data, self._loaded_at = data, started
            return self._data

    def current(self) -> ReferenceData | None:
        """The snapshot while it is younger than the TTL (what `get` answers without loading), else None."""
        if self._data is not None and self._clock() - self._loaded_at < self._ttl_s:
            return self._data
        return None

    def invalidate(self) -> None:
        self._data = None
