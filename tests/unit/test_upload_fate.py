"""What the uploads sweep does with an object under uploads/, and how long an unclaimed upload may wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.models import PhotoStatus
from domain.photos import UploadFate, unclaimed_cutoff, upload_fate
from domain.settings import Settings

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(hours=1)
OLD, FRESH = CUTOFF - timedelta(seconds=1), CUTOFF + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("status", "written_at", "fate"),
    [
        (PhotoStatus.READY, FRESH, UploadFate.DELETE),  # a ticket used again after processing
        (PhotoStatus.FAILED, FRESH, UploadFate.DELETE),
        (PhotoStatus.READY, OLD, UploadFate.DELETE),
        (None, OLD, UploadFate.DELETE),  # no photo names it, and no ticket for it can still be in use
        (None, FRESH, UploadFate.KEEP),
        (PhotoStatus.REQUESTED, OLD, UploadFate.KEEP),  # the ticket row's own age decides (expire_unclaimed)
        (PhotoStatus.ATTACHED, OLD, UploadFate.KEEP),  # processing still needs it
    ],
)
def test_the_sweep_deletes_only_what_no_photo_needs(
    status: PhotoStatus | None, written_at: datetime, fate: UploadFate
) -> None:
    assert upload_fate(status, written_at=written_at, cutoff=CUTOFF) is fate


def test_an_unclaimed_upload_waits_for_its_ticket_and_the_grace() -> None:
    settings = Settings(upload_url_ttl_s=600, unclaimed_upload_grace_s=3600)

    assert unclaimed_cutoff(settings, NOW) == NOW - timedelta(seconds=4200)


def test_the_stores_lifecycle_rule_must_outlast_the_time_a_citizen_has_to_file() -> None:
    with pytest.raises(ValidationError, match="JSC_UPLOADS_EXPIRE_DAYS"):
        Settings(uploads_expire_days=1, unclaimed_upload_grace_s=86400)

    assert Settings(uploads_expire_days=0, unclaimed_upload_grace_s=86400).uploads_expire_days == 0
