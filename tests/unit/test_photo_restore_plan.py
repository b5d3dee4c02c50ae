"""Which version of each photo object a restore to a point in time brings back (domain/backups.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.backups import ObjectVersion, RestoreStep, Step, photo_restore_plan

T = datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T + timedelta(seconds=seconds)


def test_a_key_unchanged_since_the_time_needs_nothing() -> None:
    versions = [ObjectVersion("a", "v1", at(-60), is_latest=True)]

    assert photo_restore_plan(versions, as_of=T) == []


def test_a_key_deleted_after_the_time_is_brought_back_as_it_was() -> None:
    # given a photo written before T, then deleted after it
    versions = [
        ObjectVersion("a", "v1", at(-60), is_latest=False),
        ObjectVersion("a", "m1", at(30), is_latest=True, deleted=True),
    ]

    # when / then
    assert photo_restore_plan(versions, as_of=T) == [RestoreStep(Step.BRING_BACK, "a", "v1")]


def test_a_key_overwritten_after_the_time_gets_the_version_current_then() -> None:
    versions = [
        ObjectVersion("a", "v1", at(-120), is_latest=False),
        ObjectVersion("a", "v2", at(-10), is_latest=False),
        ObjectVersion("a", "v3", at(40), is_latest=True),
    ]

    assert photo_restore_plan(versions, as_of=T) == [RestoreStep(Step.BRING_BACK, "a", "v2")]


def test_a_key_first_written_after_the_time_is_deleted() -> None:
    versions = [ObjectVersion("b", "v1", at(5), is_latest=True)]

    assert photo_restore_plan(versions, as_of=T) == [RestoreStep(Step.DELETE, "b")]


def test_a_key_deleted_before_the_time_and_written_again_after_is_deleted() -> None:
    versions = [
        ObjectVersion("c", "v1", at(-90), is_latest=False),
        ObjectVersion("c", "m1", at(-30), is_latest=False, deleted=True),
        ObjectVersion("c", "v2", at(20), is_latest=True),
    ]

    assert photo_restore_plan(versions, as_of=T) == [RestoreStep(Step.DELETE, "c")]


def test_a_key_already_gone_at_the_time_and_now_needs_nothing() -> None:
    versions = [
        ObjectVersion("d", "v1", at(-90), is_latest=False),
        ObjectVersion("d", "m1", at(-30), is_latest=True, deleted=True),
    ]

    assert photo_restore_plan(versions, as_of=T) == []


def test_the_seconds_own_versions_count_as_before_it() -> None:
    # given S3's LastModified in whole seconds: a version of T's own second, and a later one
    as_of = T + timedelta(milliseconds=700)
    versions = [
        ObjectVersion("e", "v1", T, is_latest=False),
        ObjectVersion("e", "v2", at(1), is_latest=True),
    ]

    assert photo_restore_plan(versions, as_of=as_of) == [RestoreStep(Step.BRING_BACK, "e", "v1")]


def test_steps_come_key_by_key_for_many_keys() -> None:
    versions = [
        ObjectVersion("z", "v1", at(10), is_latest=True),
        ObjectVersion("y", "v1", at(-10), is_latest=False),
        ObjectVersion("y", "m1", at(10), is_latest=True, deleted=True),
        ObjectVersion("x", "v1", at(-10), is_latest=True),
    ]

    assert photo_restore_plan(versions, as_of=T) == [
        RestoreStep(Step.BRING_BACK, "y", "v1"),
        RestoreStep(Step.DELETE, "z"),
    ]
