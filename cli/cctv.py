"""`jsc cctv`: import cameras from GeoJSON, and turn a local video into a camera's archive (for demos and tests)."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from domain import cctv, cctv_archive
from domain.adapters import clips
from domain.errors import DomainError
from domain.models import CameraSource
from domain.resources import Resources
from domain.settings import get_settings


async def import_cameras(path: Path) -> int:
    try:
        inputs = cctv.cameras_from_geojson(json.loads(await asyncio.to_thread(path.read_text)))
    except (OSError, ValueError) as exc:
        print(f"jsc: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"jsc: {exc.code}: {exc.message} (nothing imported)", file=sys.stderr)
        return 1
    res = Resources.create(get_settings())
    created = 0
    try:
        reference = await res.reference.get()
        # One transaction: a camera refused half-way (an unknown unit) leaves the registry as it was.
        async with res.unit_of_work() as session:
            for data in tqdm(inputs, unit="camera", desc="Importing cameras", file=sys.stderr):
                _camera, new = await cctv.save_camera(session, reference, data=data)
                created += new
    except DomainError as exc:
        print(f"jsc: {exc.code}: {exc.message} (nothing imported)", file=sys.stderr)
        return 1
    finally:
        await res.close()
    print(f"jsc: {len(inputs)} cameras imported ({created} new, {len(inputs) - created} updated)")
    return 0


async def simulate(camera_code: str, video: Path, start: datetime | None) -> int:
    """Cuts the video into the camera's archive: segments in object storage, laid out by camera and time."""
    res = Resources.create(get_settings())
    try:
        async with res.unit_of_work() as session:
            camera = await cctv.camera_by_code(session, camera_code)
        if camera.source_kind != CameraSource.ARCHIVE:
            print(f"jsc: {camera_code} is a live stream, not an archive camera", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory(prefix="jsc-simulate-") as folder:
            segments = await asyncio.to_thread(
                clips.write_segments,
                video,
                Path(folder),
                start=start or datetime.now(UTC),
                segment_s=res.settings.cctv_segment_s,
            )
            for segment in tqdm(segments, unit="segment", desc=f"Uploading to {camera.source}", file=sys.stderr):
                key = cctv_archive.segment_key(camera.source, segment.start)
                await res.storage.write_file(key, segment.path, content_type="video/mp2t")
    except DomainError as exc:
        print(f"jsc: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except clips.ClipError as exc:
        print(f"jsc: cannot read {video}: {exc.reason}", file=sys.stderr)
        return 1
    finally:
        await res.close()
    if segments:
        print(f"jsc: {len(segments)} segments from {segments[0].start.isoformat()} to {segments[-1].end.isoformat()}")
    return 0
