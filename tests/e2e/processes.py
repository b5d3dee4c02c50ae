"""The processes an end-to-end test runs: uvicorn and workers as the deployment runs them, on free ports."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(port: int, *, log_file: Path | None = None, **env: str) -> subprocess.Popen[bytes]:
    """``jsc api``; its log (stderr and stdout) goes to ``log_file`` when given."""
    # As deployed (`jsc api`): the app, not uvicorn, decides whom X-Forwarded-For is believed from
    # (api/proxies.py), and sets up its own logging and tracing (api/main.py).
    return start_jsc(["api", "--host", "127.0.0.1", "--port", str(port)], log_file, env)


def start_worker(*, log_file: Path | None = None, **env: str) -> subprocess.Popen[bytes]:
    """``jsc worker``; its log (stderr and stdout) goes to ``log_file`` when given, for a test to wait on a line."""
    return start_jsc(["worker"], log_file, env)


def start_jsc(args: list[str], log_file: Path | None, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A `jsc` command in a process of its own, with ``env`` on top of this one's, logging to ``log_file``."""
    output = log_file.open("ab") if log_file is not None else None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
        )
    finally:
        if output is not None:
            output.close()


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_healthy(base_url: str, within_s: float = 120.0) -> None:
    """Ready, not only alive: its LISTEN connections are up, so a subscription opened next hears every event.
    The deadline is a failure guard only: on a busy machine an API took 25 s to start."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"the API at {base_url} did not start")


@contextlib.contextmanager
def running(*, apis: int = 1, worker: bool = True, **api_env: str) -> Iterator[list[str]]:
    """`apis` API processes (and a worker), with `api_env` added to their environment; yields their base URLs,
    stops them all afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(apis):
            port = free_port()
            procs.append(start_api(port, **api_env))
            urls.append(f"http://127.0.0.1:{port}")
        if worker:
            procs.append(start_worker())
        for url in urls:
            wait_healthy(url)
        yield urls
    finally:
        stop(*procs)
