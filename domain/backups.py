"""Backups: which version of each photo object to bring back for a point in time (a pure decision).

PostgreSQL is restored by pgBackRest (cli/backup.py); photos live in a versioned bucket, so restoring them to a
time means making, for each key, the version that was current then current again, and deleting the keys that did
not exist then. Nothing is lost by it: a restore only adds versions and delete markers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str
    modified_at: datetime
    is_latest: bool
    # A delete marker: the key did not exist from this version on.
    deleted: bool = False


class Step(StrEnum):
    BRING_BACK = "bring_back"  # copy an older version over the key
    DELETE = "delete"  # the key did not exist then: a delete marker now


@dataclass(frozen=True)
class RestoreStep:
    step: Step
    key: str
    version_id: str | None = None


def photo_restore_plan(versions: Iterable[ObjectVersion], *, as_of: datetime) -> list[RestoreStep]:
    """The steps that make every key look as it did at ``as_of``; keys already as they were need none.

    S3 keeps LastModified to the second, so ``as_of`` counts the versions written in its own second as before it.
    """
    by_key: dict[str, list[ObjectVersion]] = {}
    for version in versions:
        by_key.setdefault(version.key, []).append(version)
    steps: list[RestoreStep] = []
    for key in sorted(by_key):
        # Newest first; within one second the store's latest is the newer.
        history = sorted(by_key[key], key=lambda v: (v.modified_at, v.is_latest), reverse=True)
        current = history[0]
        then = next((v for v in history if v.modified_at <= as_of), None)
        if then is None or then.deleted:
            if not current.deleted:
                steps.append(RestoreStep(Step.DELETE, key))
        elif then.version_id != current.version_id:
            steps.append(RestoreStep(Step.BRING_BACK, key, then.version_id))
    return steps
