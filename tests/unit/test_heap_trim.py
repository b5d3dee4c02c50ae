"""A server process hands the allocator's free memory back to the system (domain/heap.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A burst's worth of small objects, most of them freed: the allocator keeps the freed memory between the kept ones.
BURST = textwrap.dedent(
    """
    import asyncio, contextlib
    from domain.heap import give_back_free_memory

    def rss_mib():
        return int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20

    blocks = [bytes(1000) + bytes([i % 256]) for i in range(100_000)]
    kept = blocks[::100]
    del blocks
    before = rss_mib()

    async def main():
        task = asyncio.create_task(give_back_free_memory(every_s=0.01))
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    print(before, rss_mib())
    """
)


def test_memory_a_burst_freed_goes_back_to_the_system() -> None:
    done = subprocess.run([sys.executable, "-c", BURST], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split())

    assert before - after > 50, (before, after)  # about 100 MiB were freed but kept
