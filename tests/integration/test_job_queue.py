from __future__ import annotations

import uuid

from procrastinate.jobs import Status
from sqlalchemy import text

from domain.jobs import JobRequest
from domain.resources import Resources
from domain.settings import Settings
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


async def job_state(resources: Resources, job_id: int) -> tuple[str, int, int | None] | None:
    async with resources.unit_of_work() as session:
        row = (
            await session.execute(
                text("SELECT status, attempts, worker_id FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
        ).one_or_none()
    return None if row is None else (str(row[0]), int(row[1]), row[2])


async def run_queue(queue: str) -> None:
    from workers.runtime import app

    await app.run_worker_async(queues=[queue], wait=False, install_signal_handlers=False, concurrency=1)


async def taken_by_a_worker(resources: Resources, queue: str, *, heartbeat_age_s: int) -> tuple[int, int]:
    """A job taken from ``queue`` by a worker whose last heartbeat is ``heartbeat_age_s`` old: a SIGKILLed worker
    leaves exactly this (its job `doing`, its row with a heartbeat that stopped); returns (job id, worker id)."""
    from workers.runtime import app

    worker_id = await app.job_manager.register_worker()
    job = await app.job_manager.fetch_job([queue], worker_id)
    assert job is not None
    assert job.id is not None
    async with resources.unit_of_work() as session:
        await session.execute(
            text(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - make_interval(secs => :age) WHERE id = :id"
            ),
            {"age": heartbeat_age_s, "id": worker_id},
        )
    return job.id, worker_id


async def test_the_job_of_a_dead_worker_is_retried_and_completes(resources: Resources) -> None:
    from workers.runtime import app
    from workers.tasks import STALLED_AFTER_S, retry_stalled_jobs, sweep_rate_limits

    queue = f"test-stalled-{uuid.uuid4().hex[:8]}"
    async with app.open_async():
        # given two jobs taken by workers: one killed a minute ago, one alive; a worker started since has pruned
        # the dead one from procrastinate_workers (as each does at start), so its job has no worker any more
        for n in range(2):
            await sweep_rate_limits.configure(queue=queue, queueing_lock=f"{queue}:{n}").defer_async(timestamp=0)
        dead_job, dead_worker = await taken_by_a_worker(resources, queue, heartbeat_age_s=60)
        live_job, live_worker = await taken_by_a_worker(resources, queue, heartbeat_age_s=0)
        assert dead_worker in await app.job_manager.prune_stalled_workers(STALLED_AFTER_S)
        assert await job_state(resources, dead_job) == ("doing", 0, None)

        # when the periodic task runs
        await retry_stalled_jobs(timestamp=0)

        # then the dead worker's job is back in the queue, the live one's is left alone
        assert (await job_state(resources, dead_job) or ())[:2] == ("todo", 1)
        assert await job_state(resources, live_job) == ("doing", 0, live_worker)

        # and another worker completes it
        await run_queue(queue)
        assert (await job_state(resources, dead_job) or ())[:2] == ("succeeded", 2)  # the stalled try, this one
        await app.job_manager.finish_job_by_id_async(live_job, status=Status.SUCCEEDED, delete_job=True)
        await app.job_manager.unregister_worker(live_worker)


async def test_a_job_that_keeps_killing_its_worker_is_failed_at_last(resources: Resources) -> None:
    from workers.runtime import app
    from workers.tasks import STALLED_MAX_ATTEMPTS, retry_stalled_jobs, sweep_rate_limits

    queue = f"test-stalled-{uuid.uuid4().hex[:8]}"
    async with app.open_async():
        # given a job on its last attempt whose worker died
        await sweep_rate_limits.configure(queue=queue, queueing_lock=queue).defer_async(timestamp=0)
        job_id, _ = await taken_by_a_worker(resources, queue, heartbeat_age_s=60)
        async with resources.unit_of_work() as session:
            await session.execute(
                text("UPDATE procrastinate_jobs SET attempts = :n WHERE id = :id"),
                {"n": STALLED_MAX_ATTEMPTS - 1, "id": job_id},
            )

        # when
        await retry_stalled_jobs(timestamp=0)

    # then it is not tried again
    assert (await job_state(resources, job_id) or ())[:2] == ("failed", STALLED_MAX_ATTEMPTS)


async def test_finished_jobs_older_than_the_setting_are_removed_and_the_rest_kept(
    resources: Resources, settings: Settings
) -> None:
    from workers.runtime import app
    from workers.tasks import remove_old_jobs, sweep_rate_limits

    queue = f"test-old-{uuid.uuid4().hex[:8]}"
    keep_h = settings.jobs_keep_finished_hours
    async with app.open_async():
        # given jobs that succeeded or failed a while ago or lately, and one still waiting since long ago
        ids: dict[str, int] = {}
        for name in ("old_succeeded", "old_failed", "recent_succeeded", "old_waiting"):
            job = sweep_rate_limits.configure(queue=queue, queueing_lock=f"{queue}:{name}")
            ids[name] = await job.defer_async(timestamp=0)
        worker_id = await app.job_manager.register_worker()
        for name, status in [
            ("old_succeeded", Status.SUCCEEDED),
            ("old_failed", Status.FAILED),
            ("recent_succeeded", Status.SUCCEEDED),
        ]:
            job = await app.job_manager.fetch_job([queue], worker_id)
            assert job is not None
            assert job.id == ids[name]
            await app.job_manager.finish_job(job, status=status, delete_job=False)
        await app.job_manager.unregister_worker(worker_id)
        async with resources.unit_of_work() as session:
            for name, age_h in [
                ("old_succeeded", keep_h + 1),
                ("old_failed", keep_h + 1),
                ("recent_succeeded", keep_h - 1),
                ("old_waiting", keep_h + 1),
            ]:
                await session.execute(
                    text("UPDATE procrastinate_events SET at = at - make_interval(hours => :h) WHERE job_id = :id"),
                    {"h": age_h, "id": ids[name]},
                )

        # when the cleanup runs (on a queue of this test's own, so that its worker runs nothing else)
        cleanup = await remove_old_jobs.configure(queue=f"{queue}-cleanup", queueing_lock=queue).defer_async(
            timestamp=0
        )
        await run_queue(f"{queue}-cleanup")

    # then
    assert {name: await job_state(resources, job_id) for name, job_id in ids.items()} == {
        "old_succeeded": None,
        "old_failed": None,
        "recent_succeeded": ("succeeded", 1, None),
        "old_waiting": ("todo", 0, None),
    }
    assert (await job_state(resources, cleanup) or ())[:1] == ("succeeded",)
