#!/usr/bin/env bash
# Installs what the local platform needs, and only what is missing:
#   - PostgreSQL 15 with pg_cron and pgTAP, and pg_prove (Debian packages)
#   - Chromium (Debian package), driven by playwright-core in browser tests
#   - Deno, pinned to an exact version, from the npm registry
# Sourced by scripts/dev.sh, scripts/test.sh and .ci/run. A second run only checks.
set -euo pipefail

PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PROJECT_ROOT
# Exact version: a caret range can resolve to a release whose platform package is not published.
DENO_VERSION=2.9.6
PG_BIN=/usr/lib/postgresql/15/bin
export PG_BIN

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages=()
[ -x "$PG_BIN/postgres" ] || missing_packages+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pg_cron.control ] || missing_packages+=(postgresql-15-cron)
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || missing_packages+=(postgresql-15-pgtap)
command -v pg_prove >/dev/null 2>&1 || missing_packages+=(libtap-parser-sourcehandler-pgtap-perl)
command -v psql >/dev/null 2>&1 || missing_packages+=(postgresql-client-15)
# Browser tests drive Debian's Chromium (tests/_support/browser.ts; CHROMIUM_PATH overrides it):
# Playwright's own browser downloads are not reachable.
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing_packages+=(chromium)
if [ "${#missing_packages[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${missing_packages[*]}" >&2
  as_root apt-get update -qq
  # The postgresql package would create and start a system cluster on 5432; we run our own.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confold "${missing_packages[@]}" >&2
fi

TOOLS_DIR="$PROJECT_ROOT/.local/tools"
DENO_BIN="$TOOLS_DIR/node_modules/@deno/linux-x64-glibc/deno"
if [ ! -x "$DENO_BIN" ] || [ "$("$DENO_BIN" --version | head -n1 | cut -d' ' -f2)" != "$DENO_VERSION" ]; then
  echo "bootstrap: installing deno@$DENO_VERSION from npm" >&2
  mkdir -p "$TOOLS_DIR"
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --no-save --loglevel=error \
    "deno@$DENO_VERSION" >&2
  # The npm package ships the binary in a platform package; call it directly (no Node wrapper).
  [ -x "$DENO_BIN" ] || DENO_BIN="$TOOLS_DIR/node_modules/.bin/deno"
fi
export DENO_BIN
export PATH="$(dirname "$DENO_BIN"):$PATH"
export DENO_NO_UPDATE_CHECK=1
