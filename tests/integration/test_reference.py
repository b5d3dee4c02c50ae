from __future__ import annotations

from sqlalchemy import update

from domain.models import Category
from domain.reference import ReferenceCache
from domain.resources import Resources


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def rename_garbage(resources: Resources, name: str) -> None:
    async with resources.unit_of_work() as session:
        await session.execute(update(Category).where(Category.code == "garbage").values(name_en=name))


async def test_the_snapshot_holds_every_reference_table(resources: Resources) -> None:
    data = await ReferenceCache(resources.sessions, ttl_s=60).get()

    assert (len(data.kelurahan), len(data.kecamatan), len(data.kota), len(data.units)) == (267, 44, 6, 387)
    assert data.unit_codes["kel-31.73.02.1003"].kelurahan_id == next(
        k.id for k in data.kelurahan.values() if k.name == "Tomang"
    )
    assert data.active_category("garbage") is not None
    assert data.active_category("jockey-3in1") is None
    assert data.category_codes["jockey-3in1"].active is False


async def test_changes_are_seen_after_the_ttl_or_an_invalidation(resources: Resources) -> None:
    clock = Clock()
    cache = ReferenceCache(resources.sessions, ttl_s=60, clock=clock)
    original = (await cache.get()).category_codes["garbage"].name_en
    try:
        await rename_garbage(resources, "Rubbish")

        clock.now += 59
        assert (await cache.get()).category_codes["garbage"].name_en == original
        clock.now += 2
        assert (await cache.get()).category_codes["garbage"].name_en == "Rubbish"

        await rename_garbage(resources, "Refuse")
        cache.invalidate()
        assert (await cache.get()).category_codes["garbage"].name_en == "Refuse"
    finally:
        await rename_garbage(resources, original)
