"""domain/cpu_turns.py: a read does not count while it waits, and one coming back never waits for a turn."""

from __future__ import annotations

import asyncio

import pytest

from domain import cpu_turns
from domain.cpu_turns import CpuTurns, holding, off_cpu


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_newcomers_start_while_fewer_than_size_run_and_in_their_order() -> None:
    turns = CpuTurns(2)
    await turns.take()
    await turns.take()
    order: list[str] = []

    async def arrive(name: str) -> None:
        await turns.take()
        order.append(name)

    waiting = [asyncio.create_task(arrive(name)) for name in ("a", "b", "c")]
    await settle()
    assert (order, turns.running, turns.waiting) == ([], 2, 3)

    turns.give()
    await settle()
    assert order == ["a"]
    turns.give()  # the second first one
    turns.give()  # a
    await settle()
    assert order == ["a", "b", "c"]
    assert turns.running == 2
    turns.give()  # b
    turns.give()  # c
    assert turns.running == 0
    await asyncio.gather(*waiting)


async def test_one_coming_back_never_waits_and_holds_newcomers_off_until_the_count_falls() -> None:
    turns = CpuTurns(1)
    await turns.take()
    newcomer = asyncio.create_task(turns.take())
    await settle()
    assert not newcomer.done()

    # one read comes back from its query while another runs: it goes on at once, over the size
    turns.come_back()
    assert turns.running == 2
    turns.give()
    await settle()
    assert not newcomer.done()  # still one running: the newcomer waits for it
    turns.give()
    await asyncio.wait_for(newcomer, 1)
    assert turns.running == 1


async def test_a_wait_cancelled_after_its_turn_was_handed_over_passes_the_turn_on() -> None:
    turns = CpuTurns(1)
    await turns.take()
    first = asyncio.create_task(turns.take())
    second = asyncio.create_task(turns.take())
    await settle()

    turns.give()  # handed to `first`, which is cancelled before it runs again
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)

    assert turns.running == 1
    turns.give()
    assert turns.running == 0


async def test_a_cancelled_wait_leaves_the_queue_and_loses_no_turn() -> None:
    turns = CpuTurns(1)
    await turns.take()
    waiter = asyncio.create_task(turns.take())
    await settle()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    assert turns.waiting == 0
    turns.give()
    assert turns.running == 0
    await turns.take()  # the turn is there to take
    assert turns.running == 1


async def test_a_request_off_cpu_lets_the_next_one_start_and_finishes_before_a_newcomer_starts() -> None:
    turns = CpuTurns(1)
    rows_ready = asyncio.Event()
    log: list[str] = []

    async def reader(name: str, wait: asyncio.Event | None) -> None:
        await turns.take()
        with holding(turns):
            log.append(f"{name} starts")
            if wait is not None:
                with off_cpu():
                    await wait.wait()
            log.append(f"{name} has its rows")
            await asyncio.sleep(0.01)
            log.append(f"{name} ends")

    slow = asyncio.create_task(reader("slow", rows_ready))
    await settle()
    # the slow read waits on its query, so the next one starts at once
    quick = asyncio.create_task(reader("quick", None))
    await settle()
    assert log == ["slow starts", "quick starts", "quick has its rows"]

    # the slow read's rows come while the quick one runs, and a newcomer arrives: it starts once both are done
    rows_ready.set()
    await settle()
    late = asyncio.create_task(reader("late", None))
    await asyncio.gather(slow, quick, late)

    assert log[-3:] == ["late starts", "late has its rows", "late ends"]
    assert sorted(log[3:6]) == ["quick ends", "slow ends", "slow has its rows"]
    assert turns.running == 0


async def test_a_wait_on_a_read_that_must_come_back_first_is_no_deadlock() -> None:
    # the reference data's lock: the first read loads it (a statement: off the CPU), the others wait on the lock
    turns = CpuTurns(1)
    lock = asyncio.Lock()
    loaded = asyncio.Event()

    async def reader(loads: bool) -> None:
        await turns.take()
        with holding(turns):
            async with lock:
                if loads:
                    with off_cpu():
                        await asyncio.sleep(0.02)
                    loaded.set()

    loader = asyncio.create_task(reader(True))
    await settle()
    others = [asyncio.create_task(reader(False)) for _ in range(3)]
    await asyncio.wait_for(asyncio.gather(loader, *others), 2)

    assert loaded.is_set()
    assert turns.running == 0


async def test_sibling_tasks_share_their_request_s_turn() -> None:
    turns = CpuTurns(1)
    await turns.take()
    with holding(turns):

        async def wait_then_run(delay: float) -> None:
            with off_cpu():
                await asyncio.sleep(delay)

        # gather's tasks see the request's holder: both wait, both come back on the one turn
        await asyncio.gather(wait_then_run(0.01), wait_then_run(0.02))
        holder = cpu_turns._current.get()
        assert holder is not None
        assert holder.held
        assert turns.running == 1
    assert cpu_turns._current.get() is None
    assert turns.running == 0


def test_off_cpu_outside_a_lane_is_a_no_op() -> None:
    with off_cpu():
        pass
    assert cpu_turns._current.get() is None
