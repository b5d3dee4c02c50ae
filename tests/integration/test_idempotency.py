"""Idempotency keys and bulk actions in the domain: the periodic sweep, and a refused item undoing only its own
writes and jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain import accounts, idempotency, workflow
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import IdempotencyKey, Role, User
from domain.resources import Resources
from domain.settings import Settings


async def a_user(resources: Resources) -> uuid.UUID:
    async with resources.unit_of_work() as session:
        user = await accounts.sign_up(
            session,
            email=f"{uuid.uuid4().hex[:12]}@example.id",
            phone=None,
            password="correct horse battery",
            display_name="Warga",
            role=Role.CITIZEN,
            unit_id=None,
        )
    return user.id


async def remembered(resources: Resources, user_id: uuid.UUID) -> list[str]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(IdempotencyKey.client_request_id)
            .where(IdempotencyKey.user_id == user_id)
            .order_by(IdempotencyKey.client_request_id)
        )
    return list(rows)


async def test_the_sweep_forgets_keys_older_than_the_setting_and_keeps_the_rest(
    resources: Resources, settings: Settings
) -> None:
    from workers.runtime import app
    from workers.tasks import sweep_idempotency_keys

    # given keys claimed just past and just within JSC_IDEMPOTENCY_KEEP_DAYS
    user_id = await a_user(resources)
    now = datetime.now(UTC)
    keep = timedelta(days=settings.idempotency_keep_days)
    for name, at in [("old", now - keep - timedelta(minutes=5)), ("recent", now - keep + timedelta(minutes=5))]:
        key = idempotency.key_for(user_id, name, "followReport", {"reportId": name})
        assert key is not None
        async with resources.unit_of_work() as session:
            await idempotency.once(session, key, act=_nothing, record=lambda r: {"reportId": r}, replay=_refuse, now=at)

    # when the periodic task runs
    async with app.open_async():
        deleted = await sweep_idempotency_keys(timestamp=0)

    # then
    assert deleted >= 1
    assert await remembered(resources, user_id) == ["recent"]


async def test_a_replay_of_a_forgotten_key_is_done_afresh(resources: Resources) -> None:
    user_id = await a_user(resources)
    key = idempotency.key_for(user_id, "k", "followReport", {"reportId": "r"})
    assert key is not None
    calls: list[str] = []

    async def act() -> str:
        calls.append("done")
        return "r"

    for at in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)):
        async with resources.unit_of_work() as session:
            await idempotency.once(session, key, act=act, record=lambda r: {"reportId": r}, replay=_refuse, now=at)
        async with resources.unit_of_work() as session:
            await idempotency.sweep(session, before=datetime(2026, 1, 1, 12, tzinfo=UTC))

    assert calls == ["done", "done"]
    assert await remembered(resources, user_id) == ["k"]


async def test_a_refused_item_undoes_only_its_own_writes_and_jobs(resources: Resources) -> None:
    run = uuid.uuid4().hex[:8]
    names = [f"item-{n}-{run}" for n in range(4)]
    given = [names[2], names[1], names[3], names[0]]
    jobs = JobBuffer()

    async with resources.unit_of_work() as session:

        async def act(name: str) -> None:
            # each item writes a row and asks for a job; the odd ones are then refused
            jobs.add("notifications.deliver", queueing_lock=name)
            session.add(User(email=f"{name}@example.id", password_hash="x", display_name=name, role=Role.CITIZEN))
            await session.flush()
            if names.index(name) % 2 == 1:
                raise DomainError("FORBIDDEN", "no")

        refusals = await workflow.each_report(session, jobs, given, act)

    # answered in the order given, done in the order of the items (names[0] first)
    assert [r.code if r else None for r in refusals] == [None, "FORBIDDEN", "FORBIDDEN", None]
    assert [j.queueing_lock for j in jobs.requests] == [names[0], names[2]]
    async with resources.unit_of_work() as session:
        stored = await session.scalars(select(User.display_name).where(User.display_name.in_(names)))
        assert sorted(stored) == sorted([names[0], names[2]])


async def _nothing() -> str:
    return "r"


async def _refuse(outcome: idempotency.Outcome) -> str:
    raise AssertionError(f"not a replay: {outcome}")
