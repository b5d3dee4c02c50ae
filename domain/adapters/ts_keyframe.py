"""The keyframe of an MPEG-TS segment that a watch sample wants, found without FFmpeg's demuxer.

A live HLS segment or an NVR's archive segment is MPEG-TS: 188-byte packets, each naming its stream (PID). The
video stream is found through the segment's own tables (PAT, then PMT); a keyframe starts a PES packet whose
first TS packet has the random access indicator set, which FFmpeg's muxer and cameras' encoders set on every
keyframe. The wanted keyframe's PES packets are joined into one H.264 access unit (Annex B, with the SPS and PPS
an HLS encoder repeats before each keyframe) and decoded alone.

Opening the segment with PyAV costs 2 ms before any decoding (avformat_find_stream_info opens a decoder and
probes), a third of a sample's decode; this path costs the decode alone. It is a fast path only: whatever it
cannot tell (not clean MPEG-TS, no tables, not H.264, no flagged keyframe, a unit that does not decode alone)
gives None, and the caller decodes with PyAV's demuxer as before.
"""

from __future__ import annotations

import av
import numpy as np
from cv2.typing import MatLike

PACKET = 188
SYNC = 0x47
STREAM_TYPE_H264 = 0x1B


def keyframe_unit(data: bytes, *, newest: bool) -> bytes | None:
    """The H.264 access unit (Annex B bytes) of the last keyframe in ``data`` when ``newest``, else the first;
    None when this path cannot tell."""
    count = len(data) // PACKET
    if count < 3 or data[0] != SYNC:
        return None
    packets = np.frombuffer(data, np.uint8, count * PACKET).reshape(count, PACKET)
    if not (packets[:, 0] == SYNC).all():
        return None
    pid = ((packets[:, 1].astype(np.int32) & 0x1F) << 8) | packets[:, 2]
    unit_start = (packets[:, 1] & 0x40) != 0
    control = packets[:, 3] >> 4
    adaptation = (control & 2) != 0
    offset = 4 + np.where(adaptation, packets[:, 4].astype(np.int32) + 1, 0)
    random_access = adaptation & (packets[:, 4] > 0) & ((packets[:, 5] & 0x40) != 0)
    video = _video_pid(packets, pid, unit_start, offset)
    if video is None:
        return None
    mine = np.flatnonzero((pid == video) & ((control & 1) != 0) & (offset < PACKET))
    starts = mine[unit_start[mine]]
    keys = starts[random_access[starts]]
    if not keys.size:
        return None
    chosen = int(keys[-1] if newest else keys[0])
    after = starts[starts > chosen]
    if not after.size and not newest:
        return None  # the first keyframe runs to the end of what was read: the head of a segment may cut it
    end = int(after[0]) if after.size else count
    pes = b"".join(packets[i, offset[i] :].tobytes() for i in mine[(mine >= chosen) & (mine < end)])
    if len(pes) < 9 or pes[:3] != b"\x00\x00\x01":
        return None
    return pes[9 + pes[8] :]


def _table(
    packets: np.ndarray, pid: np.ndarray, unit_start: np.ndarray, offset: np.ndarray, table_pid: int, table_id: int
) -> tuple[bytes, int] | None:
    """The first PSI section of ``table_id`` on ``table_pid`` (after the packet's pointer field), and where its
    entries end (before the CRC); None when the segment has none."""
    found = np.flatnonzero((pid == table_pid) & unit_start)
    if not found.size:
        return None
    payload = packets[int(found[0]), int(offset[found[0]]) :].tobytes()
    table = payload[1 + payload[0] :] if payload else b""
    if len(table) < 12 or table[0] != table_id:
        return None
    return table, min(len(table), 3 + (((table[1] & 0x0F) << 8) | table[2])) - 4


def _video_pid(packets: np.ndarray, pid: np.ndarray, unit_start: np.ndarray, offset: np.ndarray) -> int | None:
    """The PID of the first H.264 stream of the segment's first program, from its PAT and PMT."""
    pat = _table(packets, pid, unit_start, offset, 0, 0x00)
    if pat is None:
        return None
    table, end = pat
    pmt_pid = next(
        (((table[i + 2] & 0x1F) << 8) | table[i + 3] for i in range(8, end - 3, 4) if table[i] or table[i + 1]),
        None,
    )
    pmt = None if pmt_pid is None else _table(packets, pid, unit_start, offset, pmt_pid, 0x02)
    if pmt is None:
        return None
    table, end = pmt
    i = 12 + (((table[10] & 0x0F) << 8) | table[11])
    while i + 5 <= end:
        if table[i] == STREAM_TYPE_H264:
            return ((table[i + 1] & 0x1F) << 8) | table[i + 2]
        i += 5 + (((table[i + 3] & 0x0F) << 8) | table[i + 4])
    return None


def decode_keyframe(data: bytes, *, newest: bool) -> MatLike | None:
    """The wanted keyframe of an MPEG-TS H.264 segment as a BGR picture, or None (see the module's docstring)."""
    unit = keyframe_unit(data, newest=newest)
    if not unit:
        return None
    context = av.CodecContext.create("h264", "r")
    context.thread_count = 1
    try:
        frames = [*context.decode(av.Packet(unit)), *context.decode(None)]
    except av.FFmpegError:
        return None
    return frames[0].to_ndarray(format="bgr24") if frames else None
