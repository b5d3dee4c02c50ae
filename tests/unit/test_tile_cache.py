"""api/tile_cache.py: rendered tiles served again at the same version, rendered once when asked at once, bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import REGISTRY

from api.tile_cache import ENTRY_OVERHEAD, TileCache


class Renders:
    """A renderer that counts its renders; `gate`, when set, holds each render until it is opened."""

    def __init__(self) -> None:
        self.count = 0
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    def of(self, body: bytes) -> Callable[[], Awaitable[bytes]]:
        async def render() -> bytes:
            self.count += 1
            self.started.set()
            if self.gate is not None:
                await self.gate.wait()
            return body

        return render


def outcome(name: str) -> float:
    return REGISTRY.get_sample_value("jsc_tile_cache_total", {"layer": "test", "outcome": name}) or 0.0


async def test_a_tile_is_rendered_once_per_version_and_an_older_one_never_served() -> None:
    cache, renders = TileCache("test", 1 << 20), Renders()
    hits = outcome("hit")

    first = await cache.get_or_render("12/1/2", 7, renders.of(b"v7"))
    again = await cache.get_or_render("12/1/2", 7, renders.of(b"not rendered"))
    newer = await cache.get_or_render("12/1/2", 8, renders.of(b"v8"))
    older = await cache.get_or_render("12/1/2", 7, renders.of(b"v7 again"))

    assert (first, again, newer, older) == (b"v7", b"v7", b"v8", b"v7 again")
    assert renders.count == 3
    assert outcome("hit") == hits + 1
    # one entry per tile, the newest version: the late render of version 7 did not replace version 8
    assert len(cache) == 1
    assert await cache.get_or_render("12/1/2", 8, renders.of(b"not rendered")) == b"v8"


async def test_viewers_asking_for_a_tile_while_it_renders_wait_for_that_render() -> None:
    cache, renders = TileCache("test", 1 << 20), Renders()
    renders.gate = asyncio.Event()
    joined = outcome("joined")

    first = asyncio.ensure_future(cache.get_or_render("t", 1, renders.of(b"body")))
    await renders.started.wait()
    others = [asyncio.ensure_future(cache.get_or_render("t", 1, renders.of(b"other"))) for _ in range(3)]
    await asyncio.sleep(0)  # one step each: they find the render in flight
    first.cancel()  # the viewer who asked first leaves: the others still get the tile
    renders.gate.set()

    assert await asyncio.gather(*others) == [b"body"] * 3
    assert renders.count == 1
    assert outcome("joined") == joined + 3
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await cache.get_or_render("t", 1, renders.of(b"other")) == b"body"


async def test_a_failed_render_is_not_kept() -> None:
    cache = TileCache("test", 1 << 20)

    async def failing() -> bytes:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        await cache.get_or_render("t", 1, failing)

    assert len(cache) == 0
    assert await cache.get_or_render("t", 1, Renders().of(b"body")) == b"body"


async def test_the_bound_holds_and_the_least_recently_served_go_first() -> None:
    size = 1000 + ENTRY_OVERHEAD
    cache, renders = TileCache("test", 3 * size), Renders()
    for name in ("a", "b", "c"):
        await cache.get_or_render(name, 1, renders.of(bytes(1000)))
    await cache.get_or_render("a", 1, renders.of(b"not rendered"))  # a served again: b is now the oldest

    await cache.get_or_render("d", 1, renders.of(bytes(1000)))

    assert len(cache) == 3
    assert cache.bytes == 3 * size
    counted = renders.count
    for name in ("a", "c", "d"):
        await cache.get_or_render(name, 1, renders.of(b"not rendered"))
    assert renders.count == counted
    assert await cache.get_or_render("b", 1, renders.of(b"b again")) == b"b again"
    # a tile larger than the whole cache is served, not kept
    assert await cache.get_or_render("huge", 1, renders.of(bytes(4 * size))) == bytes(4 * size)
    assert cache.bytes <= 3 * size


async def test_a_cache_of_no_bytes_renders_every_time() -> None:
    cache, renders = TileCache("test", 0), Renders()
    for _ in range(2):
        await cache.get_or_render("t", 1, renders.of(b"body"))
    assert renders.count == 2
