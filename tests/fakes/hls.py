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


class LiveCameras:
    """Live HLS cameras on one local server: ``/<name>/index.m3u8`` names a new segment at every request (a live
    playlist that moved on), ``/<name>/seg-<n>.ts`` is made by the camera's scene function from n.

    ``hold`` keeps every segment request of a camera waiting until ``release`` (a worker caught mid-sample);
    ``held`` is set when one is waiting. ``in_flight`` and ``most_at_once`` count segment requests per camera.
    """

    def __init__(self) -> None:
        self.scenes: dict[str, Callable[[int], bytes]] = {}
        self.counters: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}
        self.segments_served: dict[str, int] = {}
        self.gates: dict[str, threading.Event] = {}
        self.held: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def add(self, name: str, scene: Callable[[int], bytes]) -> None:
        with self.lock:
            self.scenes[name] = scene
            self.counters.setdefault(name, 0)
            self.in_flight.setdefault(name, 0)
            self.most_at_once.setdefault(name, 0)
            self.segments_served.setdefault(name, 0)
            self.held[name] = threading.Event()

    def hold(self, name: str) -> None:
        self.gates[name] = threading.Event()

    def release(self, name: str) -> None:
        gate = self.gates.pop(name, None)
        if gate is not None:
            gate.set()

    def playlist(self, name: str) -> bytes:
        with self.lock:
            self.counters[name] += 1
            n = self.counters[name]
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", f"#EXT-X-MEDIA-SEQUENCE:{n}"]
        lines += ["#EXTINF:1.000,", f"seg-{n}.ts"]
        return ("\n".join(lines) + "\n").encode()

    def segment(self, name: str, n: int) -> bytes:
        with self.lock:
            self.in_flight[name] += 1
            self.most_at_once[name] = max(self.most_at_once[name], self.in_flight[name])
        try:
            gate = self.gates.get(name)
            if gate is not None:
                self.held[name].set()
                gate.wait()
            return self.scenes[name](n)
        finally:
            with self.lock:
                self.in_flight[name] -= 1
                self.segments_served[name] += 1

    def handler(self) -> Callable[..., BaseHTTPRequestHandler]:
        cameras = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                name, _, file = self.path.strip("/").partition("/")
                if name not in cameras.scenes:
                    self.send_error(404)
                    return
                if file == "index.m3u8":
                    body, kind = cameras.playlist(name), "application/vnd.apple.mpegurl"
                elif file.startswith("seg-") and file.endswith(".ts"):
                    body, kind = cameras.segment(name, int(file[4:-3])), "video/mp2t"
                else:
                    self.send_error(404)
                    return
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the worker that asked was killed
                    pass

        return Handler
