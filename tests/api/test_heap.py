"""A server process leaves its start-up objects out of full garbage collections (domain/heap.py)."""

from __future__ import annotations

import gc

from api.app import create_app
from domain.settings import Settings


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
