"""`bench/faults.py --quick`: every fault of `make faults` under a small load; nothing lost, nothing doubled.

The script runs its own stack (profile `faults`: it restarts that PostgreSQL, so never the test stack's). Its
floor is about three minutes on the 2-core machine, more when it is busy: photos whose job died with a SIGKILLed
worker wait out the photo sweep's two-minute grace, and a new worker takes tens of seconds to import. That is over
what one test may add to `make test`, so it runs only when asked for:

    JSC_FAULTS_QUICK=1 .venv/bin/pytest tests/e2e/test_faults.py

`make faults` is the full run (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.environ.get("JSC_FAULTS_QUICK"), reason="about 4 minutes: JSC_FAULTS_QUICK=1 runs it"),
]


def test_the_quick_fault_run_loses_nothing_and_doubles_nothing_in_the_inbox(tmp_path: Path) -> None:
    # Without the test stack's settings: the script reads its own profile's.
    env = {key: value for key, value in os.environ.items() if not key.startswith("JSC_")}
    counts_file = tmp_path / "counts.json"

    done = subprocess.run(
        [sys.executable, "bench/faults.py", "--quick", "--counts-json", str(counts_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    report = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    result = json.loads(counts_file.read_text())
    counts = result["counts"]
    assert (result["problems"], result["settled"]) == ([], True), report
    assert counts["reports stored"] == counts["reports filed by clients"] == counts["  confirmed to the client"] > 0
    assert counts["  routed (kelurahan + unit)"] == counts["reports stored"]
    assert counts["photos of reports"] == counts["  processed (READY, both objects in S3)"] == counts["reports stored"]
    assert counts["notifications (inbox rows)"] == counts["  expected (report x unit officer)"] == counts["  push SENT"]
    assert counts["  distinct notification ids"] == counts["notifications (inbox rows)"]
    assert counts["  duplicate inbox rows"] == counts["lost reports"] == counts["lost photos"] == 0
