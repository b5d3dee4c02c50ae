"""The public read connections: read-only, planned per query, one round trip; and their parameter rewriting."""

from __future__ import annotations

import asyncpg
import pytest

from domain.db import _positional
from domain.resources import Resources


def test_named_parameters_become_positional_and_casts_are_left_alone() -> None:
    sql, names = _positional("SELECT :a::text, ST_AsGeoJSON(g, :b)::json WHERE x = :a AND y = ANY(CAST(:c AS int[]))")

    assert sql == "SELECT $1::text, ST_AsGeoJSON(g, $2)::json WHERE x = $1 AND y = ANY(CAST($3 AS int[]))"
    assert names == ("a", "b", "c")


async def test_public_connections_are_read_only_and_plan_each_query_for_its_values(resources: Resources) -> None:
    reads = resources.public_reads

    assert await reads.scalar("SELECT current_setting('default_transaction_read_only')", {}) == "on"
    assert await reads.scalar("SELECT current_setting('plan_cache_mode')", {}) == "force_custom_plan"
    assert await reads.scalar("SELECT current_setting('jit')", {}) == "off"
    assert await reads.scalar("SELECT :n::int + 1", {"n": 41}) == 42


async def test_nothing_can_be_written_through_them_and_they_keep_working(resources: Resources) -> None:
    reads = resources.public_reads
    before = await reads.scalar("SELECT count(*) FROM categories", {})

    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await reads.scalar("DELETE FROM categories", {})

    assert await reads.scalar("SELECT count(*) FROM categories", {}) == before > 0
