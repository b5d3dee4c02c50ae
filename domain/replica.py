"""Whether a read may go to the streaming replica: its health, its replay lag, and the fallbacks counted by reason.

The replica is judged by a check that runs at most once every ``JSC_READ_REPLICA_CHECK_S`` (on the first read
after the period ends; reads that arrive while it runs use the last verdict). A read goes to the replica only
while the last check found it answering, in recovery, and behind the primary by no more than
``JSC_READ_REPLICA_MAX_LAG_S``; otherwise it goes to the primary and ``fallback_total[reason]`` counts it.

Replay lag is not simply ``now() - pg_last_xact_replay_timestamp()``: that is the age of the last transaction
replayed, and on an idle primary it grows without the replica missing anything. So the check first asks the
primary for its WAL insert position (a commit is visible there before the WAL writer has written it out),
then the replica for how far it has replayed: a replica that has replayed up to
that position has nothing outstanding (lag 0); one that has not is as far behind as the age of its last replayed
transaction (the oldest change it may be missing is newer than that).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum


class Fallback(StrEnum):
    """Why a read meant for the replica went to the primary (the label of ``jsc_replica_fallback_total``)."""

    DOWN = "down"  # the check could not reach the replica, or it did not answer in time
    NOT_STANDBY = "not_standby"  # it answers but is not in recovery (promoted): it no longer follows the primary
    LAG = "lag"  # replay lag over JSC_READ_REPLICA_MAX_LAG_S, or not known
    ERROR = "error"  # the replica failed the read itself (connection lost, a query cancelled by recovery)


@dataclass(frozen=True)
class Position:
    """What the check read: the primary's WAL position, then the replica's state."""

    primary_lsn: int
    in_recovery: bool
    replay_lsn: int | None
    replay_age_s: float | None  # now() - pg_last_xact_replay_timestamp() on the replica


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    lag_s: float | None
    reason: Fallback | None


def judge(position: Position, *, max_lag_s: float) -> Verdict:
    """The replica's verdict from one check. Pure: unit-tested without a database."""
    if not position.in_recovery:
        return Verdict(False, None, Fallback.NOT_STANDBY)
    if position.replay_lsn is not None and position.replay_lsn >= record_start(position.primary_lsn):
        return Verdict(True, 0.0, None)
    if position.replay_age_s is None:
        # Behind, and nothing replayed since it started: how far behind cannot be told.
        return Verdict(False, None, Fallback.LAG)
    lag = max(position.replay_age_s, 0.0)
    if lag > max_lag_s:
        return Verdict(False, lag, Fallback.LAG)
    return Verdict(True, lag, None)


# WAL pages are 8 kB, each beginning with a header (24 bytes, 40 on the first page of a segment).
WAL_PAGE = 8192
WAL_PAGE_HEADERS = (24, 40)


def record_start(insert_lsn: int) -> int:
    """The primary's insert position as the replica's replay position would show it: when the last record ended on
    a page boundary, the insert position is past the next page's header, the replay position at the boundary."""
    offset = insert_lsn % WAL_PAGE
    return insert_lsn - offset if offset in WAL_PAGE_HEADERS else insert_lsn


def parse_lsn(text: str | None) -> int | None:
    """`16/B374D848` as a number (WAL positions compare as 64-bit integers)."""
    if text is None:
        return None
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass
class ReplicaMetrics:
    """Plain figures for the metrics endpoint: ``lag_seconds`` (None while unknown) for the gauge
    ``jsc_replica_lag_seconds``, ``fallback_total`` by reason for the counter ``jsc_replica_fallback_total``."""

    configured: bool = False
    state: str = "unconfigured"  # unconfigured | unknown | ok | down | not_standby | lag
    lag_seconds: float | None = None
    fallback_total: dict[str, int] = field(default_factory=lambda: {reason.value: 0 for reason in Fallback})
    replica_reads_total: int = 0
    checked_at: float | None = None  # time.time() of the last check
    last_error: str | None = None

    def count_fallback(self, reason: Fallback) -> None:
        self.fallback_total[reason.value] += 1

    def record(self, verdict: Verdict, *, error: str | None = None) -> None:
        self.lag_seconds = verdict.lag_s
        self.state = "ok" if verdict.healthy else (verdict.reason.value if verdict.reason else "unknown")
        self.checked_at = time.time()
        self.last_error = error

    def as_dict(self) -> dict[str, object]:
        return {
            "configured": self.configured,
            "state": self.state,
            "lag_seconds": self.lag_seconds,
            "fallback_total": dict(self.fallback_total),
            "replica_reads_total": self.replica_reads_total,
            "checked_at": self.checked_at,
            "last_error": self.last_error,
        }
