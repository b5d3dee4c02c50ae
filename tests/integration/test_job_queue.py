from __future__ import annotations

from sqlalchemy import text

from domain.jobs import JobRequest
from domain.resources import Resources
from workers.queue import defer_in_transaction


async def jobs_with_lock(resources: Resources, lock: str) -> list[str]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            text("SELECT status FROM procrastinate_jobs WHERE queueing_lock = :lock ORDER BY id"), {"lock": lock}
        )
        return list(rows)


async def test_jobs_deferred_in_a_transaction_exist_only_if_it_commits(resources: Resources) -> None:
    job = JobRequest("photos.process", {"photo_id": "00000000-0000-0000-0000-00000000cafe"}, "test:rollback")
    async with resources.sessions() as session, session.begin():
        assert await defer_in_transaction(session, [job]) == 1
        await session.rollback()
    assert await jobs_with_lock(resources, "test:rollback") == []

    async with resources.unit_of_work() as session:
        assert await defer_in_transaction(session, [job]) == 1
    assert await jobs_with_lock(resources, "test:rollback") == ["todo"]


async def test_a_job_whose_queueing_lock_is_taken_is_skipped_without_failing_the_transaction(
    resources: Resources,
) -> None:
    first = JobRequest("photos.process", {"photo_id": "00000000-0000-0000-0000-00000000beef"}, "test:lock")
    other = JobRequest("photos.process", {"photo_id": "00000000-0000-0000-0000-00000000f00d"}, "test:other")
    async with resources.unit_of_work() as session:
        assert await defer_in_transaction(session, [first]) == 1

    async with resources.unit_of_work() as session:
        assert await defer_in_transaction(session, [first, other]) == 1
        still_usable = await session.scalar(text("SELECT 1"))

    assert still_usable == 1
    assert await jobs_with_lock(resources, "test:lock") == ["todo"]
    assert await jobs_with_lock(resources, "test:other") == ["todo"]
