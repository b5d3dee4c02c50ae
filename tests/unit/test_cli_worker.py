"""`jsc worker` lowers its own priority before it starts a thread, so that its jobs wait behind the API's users."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A process of its own: niceness cannot be raised back, and a thread keeps the one it was started with.
PROBE = textwrap.dedent(
    """
    import os, sys, threading
    from cli import main as cli
    cli.lower_priority(int(sys.argv[1]))
    seen = []
    thread = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))
    thread.start()
    thread.join()
    print(os.getpriority(os.PRIO_PROCESS, 0), seen[0])
    """
)


def niceness_after(nice: int, *, started_at: int = 0) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(nice)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=(lambda: os.nice(started_at)) if started_at else None,
    ).stdout
    return [int(value) for value in out.split()]


@pytest.mark.parametrize(
    ("nice", "started_at", "expected"),
    [
        (5, 0, 5),  # lowered, and a thread started afterwards has it too
        (5, 10, 10),  # started nicer (systemd's Nice=): stays so
        (0, 3, 3),  # 0 leaves it as started
    ],
)
def test_the_worker_takes_at_least_its_niceness_for_every_thread_it_starts(
    nice: int, started_at: int, expected: int
) -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert niceness_after(nice, started_at=started_at) == [max(expected, base), max(expected, base)]
