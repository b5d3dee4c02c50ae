"""scripts/stack.py: a service that ends before it listens is told apart from one that is slow to start, so that
SeaweedFS, whose ports another program's connection may hold for a moment, can be started again."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from scripts.stack import ExitedEarly, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_process_that_exits_before_listening_is_reported_at_once() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    started = time.monotonic()

    with pytest.raises(ExitedEarly, match=r"exited \(3\)"):
        wait_for(free_port(), "the service", timeout=30, proc=proc)

    assert time.monotonic() - started < 10


def test_a_process_still_starting_is_waited_for_until_the_timeout() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(SystemExit) as raised:
            wait_for(free_port(), "the service", timeout=0.5, proc=proc)
        assert not isinstance(raised.value, ExitedEarly)
    finally:
        proc.kill()
        proc.wait()
