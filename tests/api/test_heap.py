"""A server process leaves its start-up objects out of full garbage collections (domain/heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from api.app import create_app
from domain import heap
from domain.settings import Settings


@pytest.fixture(autouse=True)
def _collector_as_it_was() -> Iterator[None]:
    """A served app tunes this test process's collector: the tests after these get it back as it was."""
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)


async def test_a_server_app_freezes_what_its_start_up_made_and_a_test_app_does_not(settings: Settings) -> None:
    gc.unfreeze()
    try:
        plain = create_app(settings)
        async with plain.router.lifespan_context(plain):
            assert gc.get_freeze_count() == 0

        served = create_app(settings, freeze_heap=True)
        async with served.router.lifespan_context(served):
            frozen = gc.get_freeze_count()
            # The reference snapshot was loaded before the freeze: it is among the frozen objects.
            snapshot = served.state.resources.reference.current()
    finally:
        gc.unfreeze()  # this test process makes many apps: none of theirs may stay out of collections

    assert snapshot is not None
    assert frozen > 10_000


async def test_a_server_app_times_each_garbage_collection_by_generation(settings: Settings) -> None:
    def pauses(generation: str) -> float:
        return REGISTRY.get_sample_value("jsc_gc_pause_seconds_count", {"generation": generation}) or 0.0

    served = create_app(settings, freeze_heap=True)
    try:
        async with served.router.lifespan_context(served):
            before = [pauses(g) for g in "012"]
            gc.collect(0)
            gc.collect()
            after = [pauses(g) for g in "012"]
    finally:
        gc.unfreeze()

    assert after[0] >= before[0] + 1
    assert after[2] >= before[2] + 1
    assert gc.callbacks.count(heap._timer) == 1  # once, however many apps started


async def test_a_server_app_runs_full_collections_less_often(settings: Settings) -> None:
    default = gc.get_threshold()
    served = create_app(settings, freeze_heap=True)
    try:
        async with served.router.lifespan_context(served):
            tuned = gc.get_threshold()
    finally:
        gc.unfreeze()

    assert tuned == (default[0], default[1], heap.YOUNG_COLLECTIONS_PER_FULL)
