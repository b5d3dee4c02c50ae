"""CCTV evidence end to end: cameras registered by admins, a simulated NVR archive in SeaweedFS, a report near
a camera, the match and collect jobs, the evidence officers and the public see, alerts, failures, the sweep."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select, text, update
from starlette.applications import Starlette

from cli import cctv as cctv_cli
from domain import cctv, cctv_archive
from domain.adapters import clips, playable
from domain.jobs import JobBuffer
from domain.models import Camera, CctvEvidence, EvidenceStatus, Notification, Report, Role
from domain.resources import Resources
from tests import clips as synthetic
from tests.api.test_workflow import staff_member
from tests.factories import Api, Citizen
from tests.fakes.hls import QuietFiles, serving, write_playlist
from workers import cctv as cctv_tasks

FOOTAGE = synthetic.FOOTAGE_DIR
# A camera at the Manggarai floodgate looking east; reports are put 40 m east of it (in view) unless said.
CAMERA_AT = (-6.2087, 106.8500)
IN_VIEW = (-6.2087, 106.85036)
BEHIND = (-6.2087, 106.84964)  # 40 m west: behind a camera that looks east

SAVE_CAMERA = """
mutation Save($input: CameraInput!) {
  saveCamera(input: $input) { created camera { code kind source active } errors { code field } }
}
"""
SET_RULE = """
mutation Rule($input: AlertRuleInput!) { setAlertRule(input: $input) { rule { crowdAbovePersons } errors { code } } }
"""
EVIDENCE = """
query Evidence($id: ID!) {
  report(id: $id) {
    cctvEvidence {
      rank status reason cameraName cameraKind health motionRatio congestionIndex facesBlurred
      objects { label max mean } snapshotUrl clipUrl playableClipUrl summary camera { code source }
    }
  }
}
"""
ALERTS = "query { cctvAlerts(first: 10) { kind value threshold cameraCode } }"


def camera_input(code: str, **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Pintu Air {code}",
        "operator": "Dinas SDA",
        "kind": "FLOODGATE",
        "lat": CAMERA_AT[0],
        "lon": CAMERA_AT[1],
        "headingDeg": 90.0,
        "fovDeg": 60.0,
        "rangeM": 150.0,
        "sourceKind": "ARCHIVE",
        "source": f"cctv/{code}",
        **overrides,
    }


def pacing_rect_clip(path: Path, seconds: float) -> Path:
    """A bright rectangle going back and forth across a textured scene for the whole clip."""
    background = synthetic.textured_background()
    rng = np.random.default_rng(7)

    def draw(index: int) -> synthetic.Frame:
        frame = synthetic.with_noise(background, rng)
        x = abs((index * 6) % 560 - 280)
        cv2.rectangle(frame, (x, 100), (x + 39, 129), (250, 250, 250), -1)
        return frame

    return synthetic.write_clip(path, round(seconds * synthetic.FPS), draw)


@pytest.fixture
async def admin(api: Api, resources: Resources) -> Citizen:
    return await staff_member(api, resources, Role.ADMIN)


async def save_camera(api: Api, admin: Citizen, code: str, **overrides: Any) -> dict[str, Any]:
    body = await api.gql(SAVE_CAMERA, {"input": camera_input(code, **overrides)}, token=admin.token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["saveCamera"]
    return result


async def simulate_archive(resources: Resources, source: str, video: Path, start: datetime, tmp: Path) -> int:
    """What `jsc cctv simulate` does: the video cut into 10 s segments under the camera's prefix."""
    segments = await asyncio.to_thread(clips.write_segments, video, tmp / "segments", start=start)
    for segment in segments:
        await resources.storage.write_file(
            cctv_archive.segment_key(source, segment.start), segment.path, content_type="video/mp2t"
        )
    return len(segments)


async def isolate(resources: Resources, keep: set[str]) -> None:
    """Other tests' cameras switched off, so matching sees only this test's."""
    async with resources.unit_of_work() as session:
        await session.execute(update(Camera).where(Camera.code.not_in(keep)).values(active=False))


async def evidence_of(resources: Resources, report_id: str) -> list[CctvEvidence]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(CctvEvidence).where(CctvEvidence.report_id == uuid.UUID(report_id)).order_by(CctvEvidence.rank)
        )
        return list(rows)


async def collect_all(resources: Resources, report_id: str) -> None:
    """Runs each collection job as the worker would when its time comes (archive jobs wait for the window)."""
    for evidence in await evidence_of(resources, report_id):
        await cctv_tasks.collect_evidence(str(evidence.id))


async def collect_jobs(resources: Resources, evidence_id: uuid.UUID) -> list[tuple[str, datetime | None]]:
    """The cctv.collect jobs of one evidence row: (status, scheduled_at)."""
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT status, scheduled_at FROM procrastinate_jobs"
                " WHERE task_name = 'cctv.collect' AND args->>'evidence_id' = :id ORDER BY id"
            ),
            {"id": str(evidence_id)},
        )
        return [(str(status), scheduled) for status, scheduled in rows]


async def collect_until_decided(resources: Resources, report_id: str) -> CctvEvidence:
    """The report's one collection tried as often as the settings allow, as the worker's retries would."""
    [evidence] = await evidence_of(resources, report_id)
    for _ in range(resources.settings.cctv_max_attempts):
        with contextlib.suppress(cctv_tasks.TryAgain):
            await cctv_tasks.collect_evidence(str(evidence.id))
    [after] = await evidence_of(resources, report_id)
    return after


async def test_a_report_near_a_camera_gets_its_clip_analysed_and_attached(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]],
    tmp_path: Path, app: Starlette, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # given: a floodgate camera whose archive holds a clip with a moving object around now
    code = f"manggarai-{uuid.uuid4().hex[:6]}"
    saved = await save_camera(api, admin, code)
    assert saved["created"] is True
    await isolate(resources, {code})
    clip = pacing_rect_clip(tmp_path / "clip.mp4", seconds=80.0)
    now = datetime.now(UTC)
    assert await simulate_archive(resources, f"cctv/{code}", clip, now - timedelta(seconds=40), tmp_path) == 8

    # when: a flood report is filed in the camera's view, and the jobs run
    report = (await api.create_report(citizen, category="flood", lat=IN_VIEW[0], lon=IN_VIEW[1]))["report"]
    await run_jobs()
    [pending] = await evidence_of(resources, report["id"])
    assert pending.status == EvidenceStatus.PENDING
    [(_, scheduled)] = await collect_jobs(resources, pending.id)
    assert scheduled == pending.window_end + timedelta(seconds=resources.settings.cctv_archive_grace_s)
    await collect_all(resources, report["id"])

    # then: officers see the analysed evidence with its clip; the stored snapshot is a JPEG
    officer = await staff_member(api, resources, Role.OFFICER, "kel-31.73.02.1003")
    [evidence] = (await api.gql(EVIDENCE, {"id": report["id"]}, token=officer.token))["data"]["report"]["cctvEvidence"]
    assert evidence["status"] == "READY"
    assert evidence["rank"] == 1
    assert evidence["cameraKind"] == "FLOODGATE"
    assert evidence["health"] == "OK"
    assert evidence["motionRatio"] > 0.5
    assert {o["label"] for o in evidence["objects"]} >= {"person", "car"}
    assert evidence["clipUrl"]
    assert evidence["playableClipUrl"]
    assert evidence["snapshotUrl"]
    assert evidence["summary"]["camera"] == code
    assert evidence["camera"]["source"] is None  # only admins see sources
    [stored] = await evidence_of(resources, report["id"])
    snapshot = await resources.storage.read(stored.snapshot_key or "")
    assert snapshot[:2] == b"\xff\xd8"
    with Image.open(io.BytesIO(snapshot)) as image:  # pixels only: no EXIF, XMP or comment
        assert (image.format, dict(image.getexif())) == ("JPEG", {})
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(image.info)
    assert b"Exif" not in snapshot
    assert stored.window_end - stored.window_start == timedelta(seconds=60)

    # and the public sees none of it while public snapshots are off (the default) ...
    public = (await api.gql(EVIDENCE, {"id": report["id"]}))["data"]["report"]["cctvEvidence"]
    assert public == []
    # ... and with them on, only the face-blurred snapshot of a camera that allows it: no clip, no camera, no summary
    monkeypatch.setattr(app.state.resources.settings, "cctv_public_snapshots", True)
    assert (await api.gql(EVIDENCE, {"id": report["id"]}))["data"]["report"]["cctvEvidence"] == []
    async with resources.unit_of_work() as session:
        await session.execute(update(Camera).where(Camera.code == code).values(public_snapshots=True))
    [shown] = (await api.gql(EVIDENCE, {"id": report["id"]}))["data"]["report"]["cctvEvidence"]
    async with httpx.AsyncClient() as s3:
        assert (await s3.get(shown["snapshotUrl"])).content == snapshot  # the public gets the same stored bytes
    assert (shown["clipUrl"], shown["playableClipUrl"], shown["camera"], shown["summary"]) == (None, None, None, None)

    # and running the jobs again changes nothing
    await collect_all(resources, report["id"])
    async with resources.unit_of_work() as session:
        assert await cctv.match_report(
            session, resources.settings, await resources.reference.get(), report_id=uuid.UUID(report["id"]),
            jobs=JobBuffer(), now=datetime.now(UTC),
        ) == []  # fmt: skip
    assert [e.status for e in await evidence_of(resources, report["id"])] == [EvidenceStatus.READY]


async def officer_evidence(api: Api, resources: Resources, report_id: str) -> dict[str, Any]:
    officer = await staff_member(api, resources, Role.OFFICER, "kel-31.73.02.1003")
    body = await api.gql(EVIDENCE, {"id": report_id}, token=officer.token)
    assert "errors" not in body, body
    [evidence] = body["data"]["report"]["cctvEvidence"]
    result: dict[str, Any] = evidence
    return result


async def thirty_seconds_of_archive(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]],
    tmp_path: Path, name: str,
) -> str:  # fmt: skip
    """A camera whose archive holds three 10 s segments, from 10 s before a flood report filed in its view to
    20 s after (so its evidence is partial: the window is 30 s either side); returns the report's id once its
    evidence is matched and waiting to be collected."""
    code = f"{name}-{uuid.uuid4().hex[:6]}"
    await save_camera(api, admin, code)
    await isolate(resources, {code})
    clip = pacing_rect_clip(tmp_path / "clip.mp4", seconds=30.0)
    assert (
        await simulate_archive(resources, f"cctv/{code}", clip, datetime.now(UTC) - timedelta(seconds=10), tmp_path)
        == 3
    )
    report = (await api.create_report(citizen, category="flood", lat=IN_VIEW[0], lon=IN_VIEW[1]))["report"]
    await run_jobs()
    [pending] = await evidence_of(resources, report["id"])
    assert pending.status == EvidenceStatus.PENDING
    return str(report["id"])


async def test_the_clip_is_also_stored_as_h264_mp4_that_browsers_play(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]],
    tmp_path: Path,
) -> None:  # fmt: skip
    # given: a report whose camera's archive holds 30 s (300 frames at 10 fps, MPEG-4 Part 2 in MPEG-TS) around it
    report_id = await thirty_seconds_of_archive(api, admin, citizen, resources, run_jobs, tmp_path, "putar")

    # when: the evidence is collected
    await collect_all(resources, report_id)

    # then: beside the MPEG-TS clip, an MP4 under the evidence's prefix, served as video/mp4 by the officers' link
    [stored] = await evidence_of(resources, report_id)
    assert stored.status == EvidenceStatus.READY
    assert stored.playable_clip_key == f"cctv/evidence/{stored.id}/clip.mp4"
    assert sorted(await resources.storage.list_keys(f"cctv/evidence/{stored.id}/")) == [
        f"cctv/evidence/{stored.id}/{name}" for name in ("clip.mp4", "clip.ts", "snapshot.jpg")
    ]
    evidence = await officer_evidence(api, resources, report_id)
    async with httpx.AsyncClient() as s3:
        served = await s3.get(evidence["playableClipUrl"])
    assert (served.status_code, served.headers["content-type"]) == (200, "video/mp4")
    mp4 = tmp_path / "served.mp4"
    mp4.write_bytes(served.content)
    # faststart: the index comes before the media, so a player knows the duration from the first bytes
    assert served.content.index(b"moov") < served.content.index(b"mdat")
    # and it is H.264, yuv420p, the source's size, no sound, every frame, 30 s long (within a frame)
    with av.open(str(mp4)) as container:
        [video] = container.streams.video
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (video.width, video.height) == (synthetic.WIDTH, synthetic.HEIGHT)
        assert len(container.streams.audio) == 0
        assert video.duration is not None
        assert abs(float(video.duration * video.time_base) - 30.0) <= 1 / synthetic.FPS
        assert sum(1 for _ in container.decode(video)) == 300


async def test_a_failed_transcode_keeps_the_evidence_without_a_playable_copy(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # given: a report with archive footage, and a worker whose FFmpeg has no such H.264 encoder (the real library
    # refusing, as a build without libx264 would)
    report_id = await thirty_seconds_of_archive(api, admin, citizen, resources, run_jobs, tmp_path, "gagal")
    monkeypatch.setattr(playable, "ENCODER", "libx264-not-in-this-build")
    caplog.set_level(logging.WARNING, logger="domain.cctv_collect")

    # when: the evidence is collected
    await collect_all(resources, report_id)

    # then: the evidence is stored as ever (clip, snapshot, analysis), without the copy, and the log says why
    [stored] = await evidence_of(resources, report_id)
    assert (stored.status, stored.reason, stored.playable_clip_key) == (EvidenceStatus.READY, "partial", None)
    assert sorted(await resources.storage.list_keys(f"cctv/evidence/{stored.id}/")) == [
        f"cctv/evidence/{stored.id}/{name}" for name in ("clip.ts", "snapshot.jpg")
    ]
    evidence = await officer_evidence(api, resources, report_id)
    assert evidence["status"] == "READY"
    assert evidence["clipUrl"]
    assert evidence["playableClipUrl"] is None
    assert [record.getMessage() for record in caplog.records if record.name == "domain.cctv_collect"] == [
        f"evidence {stored.id}: no playable copy of the clip (ffmpeg_error)"
    ]


async def test_only_cameras_that_see_the_point_are_matched_preferred_kind_first_at_most_three(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    # given: five cameras around the point; one looks away, one is too far, four see it
    tag = uuid.uuid4().hex[:6]
    codes = {
        "road-near": {"kind": "ROAD", "lon": CAMERA_AT[1] + 0.0001},
        "road-far": {"kind": "ROAD", "lon": CAMERA_AT[1] - 0.0003},
        "river": {"kind": "RIVER"},
        "gate": {"kind": "FLOODGATE", "lon": CAMERA_AT[1] - 0.0002},
        "away": {"kind": "FLOODGATE", "headingDeg": 270.0},
        "short": {"kind": "FLOODGATE", "rangeM": 20.0},
    }
    for name, overrides in codes.items():
        await save_camera(api, admin, f"{name}-{tag}", **overrides)
    await isolate(resources, {f"{name}-{tag}" for name in codes})

    # when: a flood report 40 m east of the cameras' spot
    report = (await api.create_report(citizen, category="flood", lat=IN_VIEW[0], lon=IN_VIEW[1]))["report"]
    await run_jobs()

    # then: the two flood kinds first (nearest first), then the nearest road camera; three in all
    async with resources.unit_of_work() as session:
        codes_by_rank = (
            await session.scalars(
                select(Camera.code)
                .join(CctvEvidence, CctvEvidence.camera_id == Camera.id)
                .where(CctvEvidence.report_id == uuid.UUID(report["id"]))
                .order_by(CctvEvidence.rank)
            )
        ).all()
    assert codes_by_rank == [f"river-{tag}", f"gate-{tag}", f"road-near-{tag}"]

    # and a report 84 m west is behind every camera but the one that looks west
    behind = (await api.create_report(citizen, category="flood", lat=BEHIND[0], lon=BEHIND[1] - 0.0004))["report"]
    await run_jobs()
    [seen] = await evidence_of(resources, behind["id"])
    async with resources.unit_of_work() as session:
        assert await session.scalar(select(Camera.code).where(Camera.id == seen.camera_id)) == f"away-{tag}"


@pytest.mark.skipif(not (FOOTAGE / "vtest.avi").exists(), reason="needs ../shared/data/footage/vtest.avi")
async def test_a_crowd_raises_an_alert_for_the_camera_unit_once(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]],
    tmp_path: Path,
) -> None:  # fmt: skip
    # given: a public-space camera on pedestrians (vtest.avi), handled by the Tomang kelurahan office,
    # alerting above 2 people
    code = f"plaza-{uuid.uuid4().hex[:6]}"
    unit = "kel-31.73.02.1003"
    await save_camera(api, admin, code, kind="PUBLIC_SPACE", unitCode=unit)
    await isolate(resources, {code})
    rule = await api.gql(SET_RULE, {"input": {"cameraCode": code, "crowdAbovePersons": 2}}, token=admin.token)
    assert rule["data"]["setAlertRule"]["errors"] == []
    officer = await staff_member(api, resources, Role.OFFICER, unit)
    start = datetime.now(UTC) - timedelta(seconds=40)
    await simulate_archive(resources, f"cctv/{code}", FOOTAGE / "vtest.avi", start, tmp_path)

    # when
    report = (await api.create_report(citizen, category="street-vendors", lat=IN_VIEW[0], lon=IN_VIEW[1]))["report"]
    await run_jobs()
    await collect_all(resources, report["id"])
    await collect_all(resources, report["id"])

    # then: one CROWD alert, in the command center's list and in the unit officer's inbox
    alerts = (await api.gql(ALERTS, token=officer.token))["data"]["cctvAlerts"]
    mine = [a for a in alerts if a["cameraCode"] == code]
    assert len(mine) == 1
    assert mine[0]["kind"] == "CROWD"
    assert mine[0]["value"] > 2
    async with resources.unit_of_work() as session:
        kinds = (
            await session.scalars(select(Notification.kind).where(Notification.user_id == uuid.UUID(officer.user_id)))
        ).all()
    assert "CCTV_ALERT" in kinds
    assert (await api.gql(ALERTS, token=citizen.token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_stream_that_does_not_answer_ends_unavailable_after_bounded_tries(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    # given: a live camera whose stream URL points at a closed port
    code = f"jalan-{uuid.uuid4().hex[:6]}"
    await save_camera(api, admin, code, kind="ROAD", sourceKind="STREAM", source="http://127.0.0.1:9/live.m3u8")
    await isolate(resources, {code})
    report = (await api.create_report(citizen, category="traffic", lat=IN_VIEW[0], lon=IN_VIEW[1]))["report"]
    await run_jobs()
    [evidence] = await evidence_of(resources, report["id"])

    # when: the collection is tried as often as the settings allow (run_jobs may have made the first try)
    after = await collect_until_decided(resources, report["id"])

    # then: unavailable with the reason; a further run does nothing
    assert after.status == EvidenceStatus.UNAVAILABLE
    assert after.reason in {"cannot_open", "no_answer"}
    assert after.attempts == resources.settings.cctv_max_attempts
    assert await cctv_tasks.collect_evidence(str(evidence.id)) is None


async def test_a_corrupt_archive_segment_makes_the_evidence_unavailable(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    code = f"rusak-{uuid.uuid4().hex[:6]}"
    await save_camera(api, admin, code)
    await isolate(resources, {code})
    now = datetime.now(UTC)
    for n in range(-4, 4):
        key = cctv_archive.segment_key(f"cctv/{code}", now + timedelta(seconds=10 * n))
        await resources.storage.write(key, b"\x00garbage, not MPEG-TS" * 100, content_type="video/mp2t")
    report = (await api.create_report(citizen, category="flood", lat=IN_VIEW[0], lon=IN_VIEW[1]))["report"]
    await run_jobs()

    after = await collect_until_decided(resources, report["id"])

    assert after.status == EvidenceStatus.UNAVAILABLE
    assert after.reason == "corrupt_segment"


async def test_the_sweep_matches_reports_whose_job_was_lost(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    # given: a report whose cctv.match job vanished (deleted after commit)
    code = f"hilang-{uuid.uuid4().hex[:6]}"
    await save_camera(api, admin, code)
    await isolate(resources, {code})
    report = (await api.create_report(citizen, category="flood", lat=IN_VIEW[0], lon=IN_VIEW[1]))["report"]
    async with resources.unit_of_work() as session:
        await session.execute(
            text("DELETE FROM procrastinate_jobs WHERE task_name = 'cctv.match' AND args->>'report_id' = :id"),
            {"id": report["id"]},
        )
        await session.execute(
            update(Report)
            .where(Report.id == uuid.UUID(report["id"]))
            .values(created_at=datetime.now(UTC) - timedelta(minutes=5))
        )

    # when: the periodic sweep runs (the run_jobs fixture keeps the worker's app open), then the jobs
    assert await cctv_tasks.sweep_cctv(timestamp=0) >= 1
    await run_jobs()

    # then
    [evidence] = await evidence_of(resources, report["id"])
    assert evidence.status == EvidenceStatus.PENDING


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"code": "Bad Code"}, "INVALID_CODE"),
        ({"headingDeg": 400.0}, "INVALID_VIEW"),
        ({"rangeM": 5000.0}, "INVALID_VIEW"),
        ({"sourceKind": "STREAM", "source": "file:///etc/passwd"}, "INVALID_SOURCE"),
        ({"source": "/absolute"}, "INVALID_SOURCE"),
        ({"noStoppingZone": [[0, 0], [10, 0]]}, "INVALID_ZONE"),
        ({"unitCode": "kel-nowhere"}, "UNKNOWN_UNIT"),
        ({"lat": 95.0}, "INVALID_LOCATION"),
        ({"watchIntervalS": 0.5}, "INVALID_INTERVAL"),
        ({"watchIntervalS": 7200.0}, "INVALID_INTERVAL"),
    ],
)
async def test_bad_cameras_are_refused_with_a_code_and_nothing_stored(
    api: Api, admin: Citizen, resources: Resources, overrides: dict[str, Any], code: str
) -> None:
    camera = {**camera_input(f"bad-{uuid.uuid4().hex[:6]}"), **overrides}
    body = await api.gql(SAVE_CAMERA, {"input": camera}, token=admin.token)
    assert [e["code"] for e in body["data"]["saveCamera"]["errors"]] == [code]
    async with resources.unit_of_work() as session:
        assert await session.scalar(select(Camera.id).where(Camera.code == camera["code"])) is None


CAMERA_WATCH = """
query { cameras(activeOnly: false) { code watchIntervalS watch { health samples lastSampleAt } } }
"""
RESET_REFERENCE = """
mutation Reset($code: String!) { resetCameraReference(code: $code) { camera { code } errors { code } } }
"""


async def test_a_new_camera_is_due_for_watching_at_its_interval_and_its_reference_can_be_reset(
    api: Api, admin: Citizen
) -> None:
    code = f"watched-{uuid.uuid4().hex[:6]}"

    await save_camera(api, admin, code, watchIntervalS=2.5)

    cameras = (await api.gql(CAMERA_WATCH, token=admin.token))["data"]["cameras"]
    assert [c for c in cameras if c["code"] == code] == [
        {"code": code, "watchIntervalS": 2.5, "watch": {"health": "OK", "samples": 0, "lastSampleAt": None}}
    ]
    reset = (await api.gql(RESET_REFERENCE, {"code": code}, token=admin.token))["data"]["resetCameraReference"]
    assert reset == {"camera": {"code": code}, "errors": []}
    unknown = (await api.gql(RESET_REFERENCE, {"code": "nowhere"}, token=admin.token))["data"]["resetCameraReference"]
    assert unknown == {"camera": None, "errors": [{"code": "UNKNOWN_CAMERA"}]}


async def test_only_admins_change_cameras(api: Api, resources: Resources, citizen: Citizen) -> None:
    officer = await staff_member(api, resources, Role.OFFICER, "kel-31.73.02.1003")
    for who in (officer, citizen):
        body = await api.gql(SAVE_CAMERA, {"input": camera_input(f"x-{uuid.uuid4().hex[:6]}")}, token=who.token)
        assert [e["code"] for e in body["data"]["saveCamera"]["errors"]] == ["FORBIDDEN"]
    cameras = await api.gql("query { cameras { code } }", token=citizen.token)
    assert cameras["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_geojson_import_checks_every_camera_before_storing_any(resources: Resources, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]

    def feature(code: str, **props: Any) -> dict[str, Any]:
        base = {k: v for k, v in camera_input(code).items() if k not in {"lat", "lon"}}
        properties = {
            "code": code, "name": base["name"], "operator": base["operator"], "kind": base["kind"],
            "heading_deg": 90, "fov_deg": 60, "range_m": 150, "source_kind": "ARCHIVE", "source": base["source"],
            **props,
        }  # fmt: skip
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [106.85, -6.2]},
            "properties": properties,
        }

    good = tmp_path / "good.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [feature(f"a-{tag}"), feature(f"b-{tag}")]}))
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature(f"c-{tag}"), feature(f"d-{tag}", fov_deg=0)]})
    )

    assert await cctv_cli.import_cameras(good) == 0
    assert await cctv_cli.import_cameras(good) == 0  # a second run updates the same cameras
    assert await cctv_cli.import_cameras(bad) == 1

    async with resources.unit_of_work() as session:
        found = set((await session.scalars(select(Camera.code).where(Camera.code.like(f"%-{tag}")))).all())
    assert found == {f"a-{tag}", f"b-{tag}"}


async def test_a_live_camera_is_recorded_forward_and_analysed(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]],
    tmp_path: Path,
) -> None:  # fmt: skip
    # given: a road camera whose stream is an HLS playlist served here (30 s of video in 10 s segments)
    folder = tmp_path / "hls"
    segments = clips.write_segments(pacing_rect_clip(tmp_path / "live.mp4", 30.0), folder, start=datetime.now(UTC))
    write_playlist(folder / "live.m3u8", segments)
    with serving(functools.partial(QuietFiles, directory=str(folder))) as base:
        code = f"jalan-hidup-{uuid.uuid4().hex[:6]}"
        await save_camera(api, admin, code, kind="ROAD", sourceKind="STREAM", source=f"{base}/live.m3u8")
        await isolate(resources, {code})

        # when: a traffic report in its view; its collection runs at once, not after a window
        report = (await api.create_report(citizen, category="traffic", lat=IN_VIEW[0], lon=IN_VIEW[1]))["report"]
        await run_jobs()
        after = await collect_until_decided(resources, report["id"])

    # then
    assert after.status == EvidenceStatus.READY, after.reason
    assert after.summary is not None
    assert after.summary["motion_ratio"] > 0.5
    recorded = (after.window_end - after.window_start).total_seconds()
    assert recorded == pytest.approx(resources.settings.cctv_stream_record_s, abs=1.0)


async def test_evidence_left_pending_by_a_killed_worker_is_collected_again(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    # given: evidence whose worker died mid-collection: PENDING, one attempt counted, its job gone
    code = f"mati-{uuid.uuid4().hex[:6]}"
    await save_camera(api, admin, code)
    await isolate(resources, {code})
    report = (await api.create_report(citizen, category="flood", lat=IN_VIEW[0], lon=IN_VIEW[1]))["report"]
    await run_jobs()
    [evidence] = await evidence_of(resources, report["id"])
    async with resources.unit_of_work() as session:
        await session.execute(
            text("DELETE FROM procrastinate_jobs WHERE task_name = 'cctv.collect' AND args->>'evidence_id' = :id"),
            {"id": str(evidence.id)},
        )
        await session.execute(
            update(CctvEvidence)
            .where(CctvEvidence.id == evidence.id)
            .values(attempts=1, updated_at=datetime.now(UTC) - timedelta(minutes=30))
        )

    # when: the sweep runs
    assert await cctv_tasks.sweep_cctv(timestamp=0) >= 1

    # then: a collection job waits for it again, and a second sweep does not pile up another
    assert [status for status, _ in await collect_jobs(resources, evidence.id)] == ["todo"]
    await cctv_tasks.sweep_cctv(timestamp=0)
    assert len(await collect_jobs(resources, evidence.id)) == 1


async def test_simulate_turns_a_video_into_the_camera_archive(
    api: Api, admin: Citizen, resources: Resources, tmp_path: Path
) -> None:
    code = f"simulasi-{uuid.uuid4().hex[:6]}"
    await save_camera(api, admin, code)
    live = f"langsung-{uuid.uuid4().hex[:6]}"
    await save_camera(api, admin, live, sourceKind="STREAM", source="rtsp://10.0.0.9/stream1")
    start = datetime(2026, 12, 1, 7, 59, 55, tzinfo=UTC)
    video = pacing_rect_clip(tmp_path / "demo.mp4", 25.0)

    assert await cctv_cli.simulate(code, video, start) == 0
    assert await cctv_cli.simulate(live, video, start) == 1  # a live camera has no archive
    assert await cctv_cli.simulate("no-such-camera", video, start) == 1

    keys = await resources.storage.list_keys(f"cctv/{code}/")
    assert keys == [
        f"cctv/{code}/2026/12/01/07/20261201T075955Z.ts",
        f"cctv/{code}/2026/12/01/08/20261201T080005Z.ts",
        f"cctv/{code}/2026/12/01/08/20261201T080015Z.ts",
    ]
