"""The wall's pure decisions: Jakarta's day, the newer snapshot (the Siaga a level is at is
domain.floodgates.siaga_of, tests/unit/test_floodgate_rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.command_center import CameraLatest, start_of_day


def test_today_is_jakartas_day() -> None:
    # 18:30 UTC on the 4th is 01:30 on the 5th in Jakarta (UTC+7)
    assert start_of_day(datetime(2026, 12, 4, 18, 30, tzinfo=UTC)) == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    assert start_of_day(datetime(2026, 12, 4, 16, 59, tzinfo=UTC)) == datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def test_the_newer_snapshot_is_shown() -> None:
    early, late = datetime(2026, 12, 5, 1, tzinfo=UTC), datetime(2026, 12, 5, 2, tzinfo=UTC)
    assert (
        CameraLatest(
            alert_snapshot_key="a", alert_snapshot_at=late, evidence_snapshot_key="e", evidence_snapshot_at=early
        ).snapshot_key
        == "a"
    )
    assert (
        CameraLatest(
            alert_snapshot_key="a", alert_snapshot_at=early, evidence_snapshot_key="e", evidence_snapshot_at=late
        ).snapshot_key
        == "e"
    )
    assert CameraLatest(evidence_snapshot_key="e", evidence_snapshot_at=early).snapshot_key == "e"
    assert CameraLatest().snapshot_key is None
