#!/usr/bin/env bash
# The suite as `make test` runs it: most tests in two processes at once (pytest-xdist; each process has its own
# database and bucket on the test stack, tests/conftest.py), whole files to a process so that a module's API and
# worker processes start once; then the tests marked `serial` alone: they stop PostgreSQL or pause the replica
# that the other process would be using, or wait on a worker's own timers that a busier machine delays.
# Arguments go to both runs; JSC_TEST_PROCESSES=1 runs the first in one.
set -u
cd "$(dirname "$0")/.."
processes="${JSC_TEST_PROCESSES:-2}"
if [ "$processes" -gt 1 ]; then
  .venv/bin/pytest -n "$processes" --dist loadfile -m "not serial" "$@"; first=$?
else
  .venv/bin/pytest -m "not serial" "$@"; first=$?
fi
.venv/bin/pytest -m serial "$@"; second=$?
# 5: no test was selected (arguments that name only tests of the other kind)
[ "$first" -eq 5 ] && first=0
[ "$second" -eq 5 ] && second=0
if [ "$first" -ne 0 ]; then exit "$first"; fi
exit "$second"
