"""Rendered vector tiles kept by each API process, by the version of what they show.

Half of the soak's requests were tile renders (bench/soak.py, docs/benchmarks.md): the same tiles, asked for by
many viewers, each render a query of PostGIS and a turn in the public lane. A tile's version (a change counter
kept by the database: map_tile_versions, map_layer_versions) is read before rendering anyway, for its ETag; a
tile rendered at that version is what every viewer asking at that version may get, so it is kept and served to
the next one without rendering.

One entry per tile (its format, z/x/y, filter and, for report tiles, what it takes from the reference data) holds
the newest version rendered: a tile of another version is never served (the version must match), and an older
one rendered late never replaces a newer one. Viewers asking for the same tile at the same version while it
renders wait for that one render. The cache is bounded by bytes; the least recently served tiles go first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

from domain import metrics

# What an entry costs besides its body (key, tuple, dict slot): so that empty tiles, a sea's worth, are bounded too.
ENTRY_OVERHEAD = 256


class TileCache:
    def __init__(self, layer: str, max_bytes: int) -> None:
        self._layer = layer
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._rendering: dict[tuple[Hashable, int], asyncio.Task[bytes]] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get_or_render(self, tile: Hashable, version: int, render: Callable[[], Awaitable[bytes]]) -> bytes:
        """The tile as rendered at `version`: kept, being rendered for another viewer, or rendered now."""
        if self._max_bytes <= 0:
            return await render()
        found = self._entries.get(tile)
        if found is not None and found[0] == version:
            self._entries.move_to_end(tile)
            metrics.TILE_CACHE.labels(self._layer, "hit").inc()
            return found[1]
        key = (tile, version)
        task = self._rendering.get(key)
        if task is None:
            metrics.TILE_CACHE.labels(self._layer, "miss").inc()
            # A task of its own: a viewer who leaves (a cancelled request) does not cancel the others' render.
            task = asyncio.ensure_future(render())
            self._rendering[key] = task
            task.add_done_callback(lambda done: self._rendered(tile, version, done))
        else:
            metrics.TILE_CACHE.labels(self._layer, "joined").inc()
        return await asyncio.shield(task)

    def _rendered(self, tile: Hashable, version: int, task: asyncio.Task[bytes]) -> None:
        del self._rendering[(tile, version)]
        if task.cancelled() or task.exception() is not None:
            return  # every viewer waiting for it has had the error; the next one renders again
        kept = self._entries.get(tile)
        if kept is not None and kept[0] > version:
            return  # a newer version was kept meanwhile (versions read from a lagging replica come in late)
        self._store(tile, version, task.result())

    def _store(self, tile: Hashable, version: int, body: bytes) -> None:
        self._discard(tile)
        size = len(body) + ENTRY_OVERHEAD
        if size > self._max_bytes:
            return
        while self.bytes + size > self._max_bytes:
            self._discard(next(iter(self._entries)))
        self._entries[tile] = (version, body)
        self.bytes += size

    def _discard(self, tile: Hashable) -> None:
        gone = self._entries.pop(tile, None)
        if gone is not None:
            self.bytes -= len(gone[1]) + ENTRY_OVERHEAD
