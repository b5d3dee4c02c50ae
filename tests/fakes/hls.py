"""A local HTTP server for stream tests: files (an HLS playlist and its segments) served from a folder."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from domain.adapters.clips import Segment


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def write_playlist(path: Path, segments: list[Segment], *, ended: bool = True) -> None:
    """An HLS playlist of the segments, which sit next to it: VOD, or a live one that is never updated."""
    seconds = [(s.end - s.start).total_seconds() for s in segments]
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{math.ceil(max(seconds))}"]
    for segment, length in zip(segments, seconds, strict=True):
        lines += [f"#EXTINF:{length:.3f},", segment.path.name]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    path.write_text("\n".join(lines) + "\n")
