"""The cyclic garbage collector in a server process: the long-lived objects kept out of its full collections, and
every collection timed.

An API process holds a few hundred thousand objects from its start-up (the modules, SQLAlchemy's mappers and
compiled caches, strawberry's and graphql-core's schema, the reference data) that live as long as it does. Python's
full (generation 2) collection walks every one of them, and meanwhile the event loop serves no one: 156-333 ms
a time in the API at 100,000 reports (measured with gc.callbacks in-process), a stall every request in flight
shares, so a direct part of the tails. Frozen after start-up (gc.freeze: moved to a permanent generation the
collector does not scan), the same collections took 14-67 ms. Objects made later are collected as before; a
start-up object that later becomes cyclic garbage is the one thing never freed, which start-up objects do not do.

Under load that still left a full collection every ~1.6 s, 33-166 ms each: the objects of the requests in flight
are promoted all the time, and each request left ~80 objects in reference cycles for the collector to free. Those
cycles are now broken where the request ends (api/execution.py, api/loaders.py), full collections are made rarer
(below), and `jsc_gc_pause_seconds` shows what is left.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from domain import metrics


def freeze_startup_objects() -> int:
    """Collect once, then leave everything alive now out of later collections; returns how many were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


# Young collections between full ones, at least (CPython's default is 10). With the start-up objects frozen, a full
# collection starts once the objects promoted since the last one reach a quarter of the unfrozen old generation,
# and under load the objects of the requests in flight are promoted all the time: at 250 requests/s the API ran a
# full collection every ~1.6 s, 40-70 ms each even with no per-request cycles left to free (scanning what the
# caches hold). At 100, one every ~17 s, 50-114 ms: a sixth of the time the loop spent stopped (docs/benchmarks.md).
# What waits longer to be freed is only what still dies in a cycle, a few thousand objects.
YOUNG_COLLECTIONS_PER_FULL = 100


def collect_fully_less_often() -> None:
    """Full collections no more often than every YOUNG_COLLECTIONS_PER_FULL middle-generation ones."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, YOUNG_COLLECTIONS_PER_FULL)


class CollectionTimer:
    """A gc callback: each collection's pause, with its generation, handed to `observe`."""

    def __init__(self, observe: Callable[[int, float], object]) -> None:
        self._observe = observe
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self._observe(info["generation"], time.perf_counter() - self._began)


_timer: CollectionTimer | None = None


def time_collections() -> None:
    """Time every garbage collection of this process into jsc_gc_pause_seconds from now on (once per process,
    however often called)."""
    global _timer
    if _timer is None:
        pauses = {generation: metrics.GC_PAUSES.labels(str(generation)) for generation in range(3)}
        _timer = CollectionTimer(lambda generation, seconds: pauses[generation].observe(seconds))
        gc.callbacks.append(_timer)
