"""Jobs a use case asks for; the edge sends them after its transaction commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class JobRequest:
    task: str
    kwargs: dict[str, Any]
    queueing_lock: str | None = None
    schedule_at: datetime | None = None  # not before this time (None: as soon as a worker is free)
    lock: str | None = None  # at most one job of a lock runs at a time (procrastinate's job lock)


@dataclass
class JobBuffer:
    requests: list[JobRequest] = field(default_factory=list)

    def add(
        self,
        task: str,
        *,
        queueing_lock: str | None = None,
        schedule_at: datetime | None = None,
        lock: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.requests.append(JobRequest(task, kwargs, queueing_lock, schedule_at, lock))

    def drain(self) -> list[JobRequest]:
        out, self.requests = self.requests, []
        return out
