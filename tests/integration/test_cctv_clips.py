"""domain.adapters.clips on real files and local streams, and the archive in the test stack's S3 (SeaweedFS).

No database: these tests use only the `settings` fixture, never `database` or `resources`, and every test writes
under its own key prefix. Streams are served from 127.0.0.1 by servers started here.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import cv2
import numpy as np
import pytest

from domain.adapters.clips import (
    TS_PACKET_BYTES,
    ClipSourceUnavailable,
    Segment,
    join_segments,
    record_stream,
    write_segments,
)
from domain.adapters.storage import ObjectMissingError, S3Storage
from domain.cctv_archive import SEGMENT_CONTENT_TYPE, covering, gaps, parse_segment_keys, segment_key, segment_name
from domain.settings import Settings
from tests import clips
from tests.fakes.hls import QuietFiles, serving, write_playlist

WIDTH, HEIGHT = 160, 120
FPS = 10.0
SEGMENT_S = 2.0
CLIP_FRAMES = 65  # six and a half seconds: three whole segments and a short one
START = datetime(2026, 12, 1, 20, 15, 30, tzinfo=UTC)
# Short enough to keep the suite quick, long enough that a real stream on a loaded machine still answers.
TIMEOUT_S = 2.0
STALL_TIMEOUT_S = 1.0  # without the stall check, the stalled playlist takes three of these


def frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        count = 0
        while capture.grab():
            count += 1
        return count
    finally:
        capture.release()


@pytest.fixture(scope="module")
def source_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A still street scene with sensor noise, as an mp4 (the segments are TS: the split changes the container)."""
    background = clips.textured_background(WIDTH, HEIGHT)
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("source") / "camera.mp4"
    return clips.write_clip(path, CLIP_FRAMES, lambda _: clips.with_noise(background, rng), fps=FPS)


@pytest.fixture(scope="module")
def archive_segments(source_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Segment]:
    return write_segments(source_clip, tmp_path_factory.mktemp("segments"), start=START, segment_s=SEGMENT_S)


# --- segments ------------------------------------------------------------------------------------------------


def test_a_clip_is_split_into_segments_of_equal_video_time_and_a_short_last_one(
    archive_segments: list[Segment],
) -> None:
    segments = archive_segments  # split once for the module, by the fixture

    assert [s.frames for s in segments] == [20, 20, 20, 5]
    assert [s.start for s in segments] == [START + timedelta(seconds=s) for s in (0, 2, 4, 6)]
    assert [(s.end - s.start).total_seconds() for s in segments] == [2.0, 2.0, 2.0, 0.5]
    assert all(a.end == b.start for a, b in itertools.pairwise(segments))
    assert [s.path.name for s in segments] == [segment_name(s.start) for s in segments]
    assert [frame_count(s.path) for s in segments] == [20, 20, 20, 5]
    assert all(s.path.stat().st_size % TS_PACKET_BYTES == 0 for s in segments)


def test_a_given_frame_rate_overrides_the_containers(source_clip: Path, tmp_path: Path) -> None:
    segments = write_segments(source_clip, tmp_path, start=START, segment_s=SEGMENT_S, fps=20.0)

    assert [s.frames for s in segments] == [40, 25]
    assert [(s.end - s.start).total_seconds() for s in segments] == [2.0, 1.25]


def test_segment_starts_keep_their_fraction_of_a_second(source_clip: Path, tmp_path: Path) -> None:
    start = START + timedelta(milliseconds=700)

    segments = write_segments(source_clip, tmp_path, start=start, segment_s=SEGMENT_S)

    assert segments[1].start == START + timedelta(seconds=2.7)
    assert segments[1].path.name == "20261201T201532Z.ts"


def test_joining_segments_makes_one_clip_of_all_their_frames(archive_segments: list[Segment], tmp_path: Path) -> None:
    joined = join_segments([s.path for s in archive_segments[1:4]], tmp_path / "evidence.ts")

    assert joined == tmp_path / "evidence.ts"
    assert frame_count(joined) == 45
    assert joined.stat().st_size == sum(s.path.stat().st_size for s in archive_segments[1:4])


def test_joining_a_missing_segment_fails_and_leaves_nothing(archive_segments: list[Segment], tmp_path: Path) -> None:
    out = tmp_path / "evidence.ts"

    with pytest.raises(ClipSourceUnavailable) as raised:
        join_segments([archive_segments[0].path, tmp_path / "gone.ts"], out)

    assert raised.value.reason == "missing_segment"
    assert not out.exists()


def cut_short(data: bytes) -> bytes:
    return data[: len(data) // 2 + 1]


def not_ts(data: bytes) -> bytes:
    return b"<html>" + data[6:]


def ts_packets_of_nothing(data: bytes) -> bytes:
    return (bytes([0x47]) + bytes(TS_PACKET_BYTES - 1)) * (len(data) // TS_PACKET_BYTES)


@pytest.mark.parametrize("corrupt", [cut_short, not_ts, ts_packets_of_nothing])
def test_joining_a_corrupt_segment_fails_and_leaves_nothing(
    archive_segments: list[Segment], tmp_path: Path, corrupt: Callable[[bytes], bytes]
) -> None:
    bad = tmp_path / "bad.ts"
    bad.write_bytes(corrupt(archive_segments[1].path.read_bytes()))
    out = tmp_path / "evidence.ts"

    with pytest.raises(ClipSourceUnavailable) as raised:
        join_segments([bad], out)

    assert raised.value.reason == "corrupt_segment"
    assert not out.exists()


def test_joining_into_one_of_the_segments_is_refused(archive_segments: list[Segment]) -> None:
    with pytest.raises(ValueError, match="overwrite"):
        join_segments([s.path for s in archive_segments], archive_segments[0].path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "not_found"), (b"", "empty_file"), (np.random.default_rng(0).bytes(50_000), "cannot_open")],
)
def test_an_unreadable_video_is_refused_with_its_reason(tmp_path: Path, content: bytes | None, reason: str) -> None:
    video = tmp_path / "camera.mp4"
    if content is not None:
        video.write_bytes(content)

    with pytest.raises(ClipSourceUnavailable) as raised:
        write_segments(video, tmp_path / "out", start=START)

    assert raised.value.reason == reason


def test_splitting_needs_an_aware_start_and_segments_of_two_seconds(source_clip: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="naive"):
        write_segments(source_clip, tmp_path, start=START.replace(tzinfo=None))
    with pytest.raises(ValueError, match="segment_s"):
        write_segments(source_clip, tmp_path, start=START, segment_s=1.0)
    assert list(tmp_path.iterdir()) == []


# --- the archive in object storage ---------------------------------------------------------------------------


@pytest.fixture
def storage(settings: Settings) -> S3Storage:
    return S3Storage(settings)


@pytest.fixture
def camera() -> str:
    return f"test-cctv/{uuid.uuid4().hex}/pintu-air-manggarai"


async def upload(storage: S3Storage, camera: str, segments: list[Segment]) -> list[str]:
    keys = [segment_key(camera, s.start) for s in segments]
    for key, segment in zip(keys, segments, strict=True):
        await storage.write_file(key, segment.path, content_type=SEGMENT_CONTENT_TYPE)
    return keys


async def test_uploaded_segments_list_back_in_time_order(
    storage: S3Storage, camera: str, archive_segments: list[Segment]
) -> None:
    await upload(storage, camera, list(reversed(archive_segments)))
    keys = [segment_key(camera, s.start) for s in archive_segments]
    hour = f"{camera}/2026/12/01/20/"

    assert await storage.list_keys(hour) == keys
    assert await storage.list_keys(camera + "/") == keys
    assert await storage.list_keys(hour, start_after=keys[0]) == keys[1:]
    assert await storage.list_keys(hour, limit=2) == keys[:2]
    assert await storage.list_keys(hour, start_after=keys[1], limit=1) == [keys[2]]
    assert await storage.list_keys(f"{camera}/2026/12/01/21/") == []


async def test_listing_needs_a_positive_limit(storage: S3Storage, camera: str) -> None:
    with pytest.raises(ValueError, match="limit"):
        await storage.list_keys(camera, limit=0)


async def test_a_segment_reads_back_to_a_file_byte_for_byte(
    storage: S3Storage, camera: str, archive_segments: list[Segment], tmp_path: Path
) -> None:
    [key] = await upload(storage, camera, archive_segments[:1])
    copy = tmp_path / "copy.ts"

    await storage.read_file(key, copy)

    assert copy.read_bytes() == archive_segments[0].path.read_bytes()


async def test_reading_a_missing_key_to_a_file_is_object_missing(
    storage: S3Storage, camera: str, tmp_path: Path
) -> None:
    target = tmp_path / "copy.ts"

    with pytest.raises(ObjectMissingError):
        await storage.read_file(segment_key(camera, START), target)

    assert await asyncio.to_thread(os.listdir, tmp_path) == []  # not even boto3's temporary file


async def test_a_window_is_cut_from_the_stored_archive_and_a_lost_segment_is_a_gap(
    storage: S3Storage, camera: str, archive_segments: list[Segment], tmp_path: Path
) -> None:
    kept = [s for i, s in enumerate(archive_segments) if i != 1]
    await upload(storage, camera, kept)
    await storage.write(
        f"{camera}/2026/12/01/20/index.m3u8", b"#EXTM3U\n", content_type="application/vnd.apple.mpegurl"
    )
    window_start, window_end = START + timedelta(seconds=1), START + timedelta(seconds=5)

    listed = parse_segment_keys(await storage.list_keys(f"{camera}/2026/12/01/20/"))
    needed = covering(listed, window_start, window_end, SEGMENT_S)
    paths = []
    for key in needed:
        paths.append(tmp_path / key.rpartition("/")[2])
        await storage.read_file(key, paths[-1])
    clip = join_segments(paths, tmp_path / "evidence.ts")

    assert needed == [segment_key(camera, START), segment_key(camera, START + timedelta(seconds=4))]
    assert [(g.start, g.end) for g in gaps(listed, window_start, window_end, SEGMENT_S)] == [
        (START + timedelta(seconds=2), START + timedelta(seconds=4))
    ]
    assert frame_count(clip) == 40


# --- live streams --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hls(source_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a server with index.m3u8 (6.5 s of video in 2 s segments), stalled.m3u8 (a live playlist
    that stopped after 4 s) and a file of random bytes."""
    directory = tmp_path_factory.mktemp("hls")
    segments = write_segments(source_clip, directory, start=START, segment_s=SEGMENT_S)
    write_playlist(directory / "index.m3u8", segments)
    write_playlist(directory / "stalled.m3u8", segments[:2], ended=False)
    (directory / "garbage").write_bytes(np.random.default_rng(1).bytes(100_000))
    with serving(functools.partial(QuietFiles, directory=str(directory))) as base:
        yield base


@pytest.fixture
def stalling_stream(archive_segments: list[Segment]) -> Iterator[str]:
    """An HTTP TS stream that sends 4 s of video and then nothing, with the connection held open."""
    payload = b"".join(s.path.read_bytes() for s in archive_segments[:2])
    release = threading.Event()

    class Stalling(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", SEGMENT_CONTENT_TYPE)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            release.wait(timeout=60)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Stalling) as base:
        try:
            yield f"{base}/live.ts"
        finally:
            release.set()


@pytest.fixture
def slow_stream(archive_segments: list[Segment]) -> Iterator[str]:
    """An HTTP TS stream that claims 10 fps and, after a first burst, delivers at a quarter of that."""
    payload = b"".join(s.path.read_bytes() for s in archive_segments)
    chunk = 8 * TS_PACKET_BYTES
    pause_s = chunk / (len(payload) / (CLIP_FRAMES / FPS)) * 4
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", SEGMENT_CONTENT_TYPE)
            self.end_headers()
            # Enough for FFmpeg to learn the codec within the open timeout.
            burst = 40 * TS_PACKET_BYTES
            self.wfile.write(payload[:burst])
            for at in range(burst, len(payload), chunk):
                if release.wait(pause_s):
                    return
                self.wfile.write(payload[at : at + chunk])
                self.wfile.flush()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Slow) as base:
        try:
            yield f"{base}/live.ts"
        finally:
            release.set()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel completes the handshake) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def recording_failure(url: str, out: Path, seconds: float = 2.0, timeout_s: float = TIMEOUT_S) -> tuple[str, float]:
    """The reason record_stream gave up, and how many seconds it took to."""
    started = time.monotonic()
    with pytest.raises(ClipSourceUnavailable) as raised:
        record_stream(url, out, seconds=seconds, open_timeout_s=timeout_s, read_timeout_s=timeout_s)
    return raised.value.reason, time.monotonic() - started


def test_recording_an_hls_stream_keeps_the_seconds_asked_for(hls: str, tmp_path: Path) -> None:
    out = tmp_path / "live.ts"

    clip = record_stream(f"{hls}/index.m3u8", out, seconds=2, open_timeout_s=TIMEOUT_S, read_timeout_s=TIMEOUT_S)

    assert (clip.path, clip.frames, clip.fps, clip.seconds) == (out, 20, FPS, 2.0)
    assert frame_count(out) == 20


def test_a_recording_drops_frames_above_max_fps_evenly(hls: str, tmp_path: Path) -> None:
    clip = record_stream(f"{hls}/index.m3u8", tmp_path / "live.ts", seconds=2, max_fps=5, open_timeout_s=TIMEOUT_S)

    assert (clip.frames, clip.fps, clip.seconds) == (10, 5.0, 2.0)
    assert frame_count(clip.path) == 10


def test_a_stream_slower_than_its_frame_rate_is_recorded_for_the_seconds_of_wall_time(
    slow_stream: str, tmp_path: Path
) -> None:
    started = time.monotonic()

    clip = record_stream(
        slow_stream, tmp_path / "live.ts", seconds=1, open_timeout_s=TIMEOUT_S, read_timeout_s=TIMEOUT_S
    )

    assert 0 < clip.frames < FPS
    assert clip.seconds == clip.frames / FPS
    assert frame_count(clip.path) == clip.frames
    assert time.monotonic() - started < 1 + TIMEOUT_S


def test_a_stream_that_ends_before_the_recording_is_done_leaves_nothing(hls: str, tmp_path: Path) -> None:
    out = tmp_path / "live.ts"

    reason, _ = recording_failure(f"{hls}/index.m3u8", out, seconds=10)

    assert reason == "stream_ended"
    assert not out.exists()


def test_a_stream_that_stalls_ends_the_recording_within_the_read_timeout(stalling_stream: str, tmp_path: Path) -> None:
    out = tmp_path / "live.ts"

    reason, seconds = recording_failure(stalling_stream, out, seconds=10, timeout_s=STALL_TIMEOUT_S)

    assert reason == "stream_ended"
    assert seconds < STALL_TIMEOUT_S + 1.0
    assert not out.exists()


def test_a_live_playlist_that_stops_updating_ends_the_recording_within_the_read_timeout(
    hls: str, tmp_path: Path
) -> None:
    # FFmpeg keeps reloading the playlist, and its decoder hands out a held frame after each read timeout.
    out = tmp_path / "live.ts"

    reason, seconds = recording_failure(f"{hls}/stalled.m3u8", out, seconds=10, timeout_s=STALL_TIMEOUT_S)

    assert reason == "stream_ended"
    assert seconds < STALL_TIMEOUT_S + 1.0
    assert not out.exists()


@pytest.mark.parametrize("scheme", ["http", "rtsp"])
def test_a_server_that_never_answers_gives_up_at_the_open_timeout(
    silent_port: int, tmp_path: Path, scheme: str
) -> None:
    reason, seconds = recording_failure(f"{scheme}://127.0.0.1:{silent_port}/live", tmp_path / "live.ts")

    assert reason == "no_answer"
    assert seconds < TIMEOUT_S + 1.0


@pytest.mark.parametrize("scheme", ["http", "rtsp"])
def test_a_closed_port_cannot_open_at_once(tmp_path: Path, scheme: str) -> None:
    reason, seconds = recording_failure(f"{scheme}://127.0.0.1:{closed_port()}/live", tmp_path / "live.ts")

    assert reason == "cannot_open"
    assert seconds < 1.0


@pytest.mark.parametrize("path", ["garbage", "missing.m3u8"])
def test_a_url_that_serves_no_video_cannot_open(hls: str, tmp_path: Path, path: str) -> None:
    reason, seconds = recording_failure(f"{hls}/{path}", tmp_path / "live.ts")

    assert reason == "cannot_open"
    assert seconds < 1.0


@pytest.mark.parametrize("url", ["file:///etc/hostname", "/etc/hostname", "concat:a.ts|b.ts", "ftp://127.0.0.1/x"])
def test_only_network_streams_are_recorded(url: str, tmp_path: Path) -> None:
    reason, _ = recording_failure(url, tmp_path / "live.ts")

    assert reason == "unsupported_url"


def test_a_recording_is_written_as_mpeg_ts(hls: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.ts"):
        record_stream(f"{hls}/index.m3u8", tmp_path / "live.mp4", seconds=2)
