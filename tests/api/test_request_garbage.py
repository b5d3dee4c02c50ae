"""An operation's objects are freed as it ends, by reference counting: what a request leaves in reference cycles
waits for the cyclic collector, whose full collections stop the event loop for every request in flight (the
soak's tails: domain/heap.py, docs/benchmarks.md)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.context import Context
from api.execution import PlainFieldsExecution
from api.loaders import Loaders
from tests.factories import Api

REPORT = """query Report($id: ID!) {
  report(id: $id) {
    id status supportCount reporter { displayName } photos { id } history { kind toStatus }
    comments(first: 5) { edges { node { id body } } }
  }
}"""
MAP = """query Map($bbox: BBoxInput!) { reportsInBbox(bbox: $bbox) { id lat lon category status } }"""
PER_OPERATION = (PlainFieldsExecution, Loaders, Context)


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def cyclic_garbage() -> list[object]:
    """What only the cyclic collector would free now, of the kinds an operation makes."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    gc.set_debug(0)
    found = [o for o in gc.garbage if isinstance(o, PER_OPERATION)]
    gc.garbage.clear()
    return found


async def test_a_report_with_its_loaders_and_a_map_query_leave_no_operation_in_a_cycle(
    api: Api, collector_off: None
) -> None:
    citizen = await api.sign_up()
    created = await api.create_report(citizen)
    report_id = created["report"]["id"]
    bbox = {"west": 106.7, "south": -6.3, "east": 106.9, "north": -6.1}
    await api.gql(REPORT, {"id": report_id})  # warm: what is made once per process is not the point
    cyclic_garbage()

    for token in (None, citizen.token):
        found = await api.gql(REPORT, {"id": report_id}, token=token)
        assert found["data"]["report"]["id"] == report_id, found
    listed = await api.gql(MAP, {"bbox": bbox})
    assert listed["data"]["reportsInBbox"], listed

    assert cyclic_garbage() == []
