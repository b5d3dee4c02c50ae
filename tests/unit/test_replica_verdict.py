"""The replica's verdict from one check (domain/replica.py judge), without a database."""

from __future__ import annotations

from domain.replica import Fallback, Position, Verdict, judge, parse_lsn


def test_caught_up_replica_has_no_lag_however_old_its_last_transaction() -> None:
    # An idle primary: the last replayed transaction is an hour old, but nothing is outstanding.
    position = Position(primary_lsn=100, in_recovery=True, replay_lsn=100, replay_age_s=3600.0)
    assert judge(position, max_lag_s=5.0) == Verdict(True, 0.0, None)


def test_behind_replica_lags_by_the_age_of_its_last_replayed_transaction() -> None:
    behind = Position(primary_lsn=200, in_recovery=True, replay_lsn=100, replay_age_s=2.5)
    assert judge(behind, max_lag_s=5.0) == Verdict(True, 2.5, None)
    assert judge(behind, max_lag_s=2.0) == Verdict(False, 2.5, Fallback.LAG)


def test_behind_replica_with_nothing_replayed_yet_is_not_trusted() -> None:
    position = Position(primary_lsn=200, in_recovery=True, replay_lsn=100, replay_age_s=None)
    assert judge(position, max_lag_s=5.0) == Verdict(False, None, Fallback.LAG)


def test_promoted_replica_is_not_read() -> None:
    position = Position(primary_lsn=200, in_recovery=False, replay_lsn=None, replay_age_s=None)
    assert judge(position, max_lag_s=5.0) == Verdict(False, None, Fallback.NOT_STANDBY)


def test_lsn_text_compares_as_a_number() -> None:
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert parse_lsn("0/3000000") < parse_lsn("1/0")  # type: ignore[operator]
    assert parse_lsn(None) is None


def test_a_record_that_ended_on_a_page_boundary_is_not_lag() -> None:
    # The insert position is past the next page's 24-byte header; the replica's replay stops at the boundary.
    boundary = 5 * 8192
    at_boundary = Position(primary_lsn=boundary + 24, in_recovery=True, replay_lsn=boundary, replay_age_s=900.0)
    assert judge(at_boundary, max_lag_s=5.0) == Verdict(True, 0.0, None)
    short = Position(primary_lsn=boundary + 64, in_recovery=True, replay_lsn=boundary, replay_age_s=900.0)
    assert judge(short, max_lag_s=5.0) == Verdict(False, 900.0, Fallback.LAG)
