# Two commands: `make run` (the whole stack, until Ctrl-C) and `make test` (its own stack, then pytest).
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
PY := .venv/bin/python
TEST_ENV := .stack/test/env

.PHONY: setup run stop test test-only lint format schema bench bench-notify stack-test-up stack-test-down clean

setup:
	@scripts/bootstrap.sh

# REPLICA=1 starts a streaming read replica too (public and auditor reads go to it); STACK_ARGS, more options.
run: setup
	@$(PY) scripts/stack.py run --profile dev $(STACK_ARGS) $(if $(REPLICA),--replica)

stop:
	@$(PY) scripts/stack.py down --profile dev

lint: setup
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports
	@$(PY) scripts/schema.py --check
	@$(PY) scripts/migration_safety.py
	@cd web && node build.mjs --check

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

schema: setup
	$(PY) scripts/schema.py

# The test stack is started for the run and stopped afterwards, whatever pytest says. scripts/pytest.sh runs
# the suite in two processes, then the few tests that must run alone.
test: setup lint
	@$(PY) scripts/stack.py up --profile test >/dev/null
	@set -a; . $(TEST_ENV); set +a; export JSC_ENVIRONMENT=test; \
	  scripts/pytest.sh $(PYTEST_ARGS); status=$$?; \
	  $(PY) scripts/stack.py down --profile test >/dev/null; exit $$status

# pytest against an already running test stack (`make stack-test-up`), for quick iterations.
test-only:
	@set -a; . $(TEST_ENV); set +a; export JSC_ENVIRONMENT=test; scripts/pytest.sh $(PYTEST_ARGS)

stack-test-up: setup
	@$(PY) scripts/stack.py up --profile test

stack-test-down:
	@$(PY) scripts/stack.py down --profile test

# createReport throughput on the bench stack (ports 474xx, apart from dev and test); see docs/benchmarks.md.
bench: setup
	@$(PY) scripts/stack.py up --profile bench >/dev/null
	@set -a; . .stack/bench/env; set +a; $(PY) bench/submit.py $(BENCH_ARGS); status=$$?; \
	  $(PY) scripts/stack.py down --profile bench >/dev/null; exit $$status

# Push delivery: 10,000 queued notifications to a local FCM stand-in; see docs/benchmarks.md.
bench-notify: setup
	@$(PY) scripts/stack.py up --profile bench >/dev/null
	@set -a; . .stack/bench/env; set +a; $(PY) bench/notify.py $(BENCH_ARGS); status=$$?; \
	  $(PY) scripts/stack.py down --profile bench >/dev/null; exit $$status

clean: stop stack-test-down
	rm -rf .stack

# Map queries against PostGraphile v5 over 1,000,000 generated reports (database jsc_mapbench on the bench stack,
# generated once and kept); see bench/map_vs_postgraphile/README.md.
.PHONY: bench-map
bench-map: setup
	@$(PY) scripts/stack.py up --profile bench >/dev/null
	@set -a; . .stack/bench/env; set +a; $(PY) bench/map_vs_postgraphile/run.py $(BENCH_ARGS); status=$$?; \
	  $(PY) scripts/stack.py down --profile bench >/dev/null; exit $$status

# What our GraphQL layer costs per field (the typed map list, 600 fields) against graphql-core alone, in this
# process (no stack needed); see bench/fields.py.
.PHONY: bench-fields
bench-fields: setup
	@$(PY) bench/fields.py $(BENCH_ARGS)

# CCTV clip analysis against decoding alone, on one core (no stack needed); see docs/benchmarks.md.
.PHONY: bench-cctv
bench-cctv: setup
	@$(PY) bench/cctv.py $(BENCH_ARGS)

# Licence plate reading accuracy by plate width, on plates rendered on the shared footage; see docs/benchmarks.md.
.PHONY: bench-plates
bench-plates: setup
	@$(PY) bench/plates.py $(BENCH_ARGS)

# The floodgate gauge reader's error on generated frames of a known level (no stack needed); see README.md.
.PHONY: bench-gauge
bench-gauge: setup
	@$(PY) bench/gauge.py $(BENCH_ARGS)

# Auditors' figures at 1,000,000 simulated reports (database jsc_perfbench on the bench stack, generated once and
# kept); see docs/benchmarks.md.
.PHONY: bench-performance
bench-performance: setup
	@$(PY) scripts/stack.py up --profile bench >/dev/null
	@set -a; . .stack/bench/env; set +a; $(PY) bench/performance.py $(BENCH_ARGS); status=$$?; \
	  $(PY) scripts/stack.py down --profile bench >/dev/null; exit $$status

# workQueue for a camat's whole kecamatan, similarReports and nearbyReports on the same database (jsc_perfbench).
.PHONY: bench-officers
bench-officers: setup
	@$(PY) scripts/stack.py up --profile bench >/dev/null
	@set -a; . .stack/bench/env; set +a; $(PY) bench/officers.py $(BENCH_ARGS); status=$$?; \
	  $(PY) scripts/stack.py down --profile bench >/dev/null; exit $$status

# Two years of simulated reports for all of Jakarta in the dev stack's database (`make run` shows them on /map
# and /dashboard). DEMO_REPORTS=1000000 for a million; DEMO_ARGS for the rest of `jsc demo-data --help`.
DEMO_REPORTS ?= 100000
.PHONY: demo-data
demo-data: setup
	@$(PY) scripts/stack.py up --profile dev >/dev/null
	@set -a; . .stack/dev/env; set +a; \
	  $(PY) -m alembic upgrade head && $(PY) -m cli.main load-jakarta && \
	  $(PY) -m cli.main demo-data --reports $(DEMO_REPORTS) $(DEMO_ARGS)

# Soak: a mixed workload (the public map, citizens filing with photos, officers moving reports) for 10 minutes
# on its own stack (profile soak, ports 494xx), which bench/soak.py brings up and stops; see docs/benchmarks.md.
.PHONY: bench-soak
bench-soak: setup
	@$(PY) bench/soak.py $(BENCH_ARGS)

# Faults under load on a stack of its own (profile faults, ports 484xx): workers SIGKILLed, SeaweedFS killed,
# PostgreSQL restarted, FCM answering 503; then every report, photo and notification is checked. The script starts
# and stops the stack itself (it restarts parts of it); FAULTS_ARGS=--quick for the short version. See
# docs/reliability.md.
.PHONY: faults
faults: setup
	@$(PY) bench/faults.py $(FAULTS_ARGS)

# The web apps' first load on Chromium's Slow 3G profile (median of 5 fresh visits per app, target 5 s); see
# docs/benchmarks.md.
.PHONY: bench-webapps
bench-webapps: setup
	@$(PY) scripts/stack.py up --profile bench >/dev/null
	@set -a; . .stack/bench/env; set +a; $(PY) bench/webapps.py $(BENCH_ARGS); status=$$?; \
	  $(PY) scripts/stack.py down --profile bench >/dev/null; exit $$status

# Continuous watching: N live HLS cameras on 127.0.0.1 sampled by 1 and then 2 `jsc worker --queue cctv-watch`
# processes at 10 s and 2 s intervals, on the bench stack; BENCH_ARGS=--quick for the short version. See
# docs/benchmarks.md and docs/scale.md.
.PHONY: bench-cctv-watch
bench-cctv-watch: setup
	@$(PY) scripts/stack.py up --profile bench >/dev/null
	@set -a; . .stack/bench/env; set +a; $(PY) bench/cctv_watch.py $(BENCH_ARGS); status=$$?; \
	  $(PY) scripts/stack.py down --profile bench >/dev/null; exit $$status

# `jsc backup` against the dev stack started with JSC_STACK_BACKUPS=1 (pgBackRest, WAL archive, photo versions);
# BACKUP_ARGS: take [--type full], list (default), check, restore --to TIME, restore-photos --to TIME. See
# docs/operations.md.
BACKUP_ARGS ?= list
.PHONY: backup
backup: setup
	@set -a; . .stack/dev/env; set +a; $(PY) -m cli.main backup $(BACKUP_ARGS)

# Public map and auditor reads on the read replica against the primary alone, while citizens file reports, on the
# bench stack started with its replica (database jsc_replicabench, 100,000 reports, generated once); see
# docs/benchmarks.md.
.PHONY: bench-replica
bench-replica: setup
	@$(PY) scripts/stack.py up --profile bench --replica >/dev/null
	@set -a; . .stack/bench/env; set +a; $(PY) bench/replica.py $(BENCH_ARGS); status=$$?; \
	  $(PY) scripts/stack.py down --profile bench >/dev/null; exit $$status
