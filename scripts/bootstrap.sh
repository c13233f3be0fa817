#!/usr/bin/env bash
# Installs what the local platform needs, and only what is missing:
#   - PostgreSQL 15 with pg_cron, pgTAP and plpgsql_check, and pg_prove (Debian packages)
#   - Chromium (Debian package), driven by playwright-core in browser tests
#   - from the npm registry, into .local/tools, at the exact versions of scripts/tools/package.json
#     (and its lock file): Deno, the Supabase CLI, and postgres-meta (Supabase's type generator)
# Sourced by scripts/dev.sh, scripts/test.sh and .ci/run. A second run only checks: it calls
# neither apt-get nor npm when everything is there at the pinned versions.
# Exports DENO_BIN, SUPABASE_BIN, POSTGRES_META_SERVER (postgres-meta's server.js, run with node),
# PG_BIN, PROJECT_ROOT, and puts deno and supabase on PATH.
set -euo pipefail

PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PROJECT_ROOT
PG_BIN=/usr/lib/postgresql/15/bin
export PG_BIN

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages=()
[ -x "$PG_BIN/postgres" ] || missing_packages+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pg_cron.control ] || missing_packages+=(postgresql-15-cron)
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || missing_packages+=(postgresql-15-pgtap)
# `supabase db lint` runs plpgsql_check's checker over every function.
[ -f /usr/share/postgresql/15/extension/plpgsql_check.control ] ||
  missing_packages+=(postgresql-15-plpgsql-check)
command -v pg_prove >/dev/null 2>&1 || missing_packages+=(libtap-parser-sourcehandler-pgtap-perl)
command -v psql >/dev/null 2>&1 || missing_packages+=(postgresql-client-15)
# Debian ships npm apart from nodejs.
command -v npm >/dev/null 2>&1 || missing_packages+=(npm)
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

# The platforms listen on fixed ports (dev 5432x, test 5532x, bench 5632x), inside Linux's
# ephemeral range: after a burst of outgoing connections, a socket in TIME_WAIT on one of them
# makes the next listen fail (AddrInUse). Reserving them keeps the kernel from handing them out
# (explicit listens still work). Best effort: skipped without root or password-less sudo.
PLATFORM_PORTS="54320-54339,55320-55339,56320-56339"
RESERVED_PORTS_FILE=/proc/sys/net/ipv4/ip_local_reserved_ports
if [ -w "$RESERVED_PORTS_FILE" ] || { [ -f "$RESERVED_PORTS_FILE" ] && sudo -n true 2>/dev/null; }; then
  reserved=$(cat "$RESERVED_PORTS_FILE")
  case ",$reserved," in
    *",54320-54339,"*) ;;
    *) echo "${reserved:+$reserved,}$PLATFORM_PORTS" |
      { if [ -w "$RESERVED_PORTS_FILE" ]; then cat >"$RESERVED_PORTS_FILE"; else sudo -n tee "$RESERVED_PORTS_FILE" >/dev/null; fi; } 2>/dev/null ||
      echo "bootstrap: could not reserve the platform ports $PLATFORM_PORTS (go on without)" >&2 ;;
  esac
fi

# npm tools: one package.json and its lock (exact versions; a caret range can resolve to a
# release whose platform package is not published), installed with one `npm install`.
TOOLS_SPEC="$PROJECT_ROOT/scripts/tools"
TOOLS_DIR="$PROJECT_ROOT/.local/tools"
# True when every dependency of the tools' package.json is installed at its pinned version.
tools_installed() {
  node -e '
    const [spec, dir] = process.argv.slice(1);
    const pins = require(`${spec}/package.json`).dependencies;
    for (const [name, version] of Object.entries(pins)) {
      try {
        if (require(`${dir}/node_modules/${name}/package.json`).version !== version) process.exit(1);
      } catch { process.exit(1); }
    }' "$TOOLS_SPEC" "$TOOLS_DIR" 2>/dev/null
}
if ! tools_installed; then
  echo "bootstrap: installing deno, supabase and @supabase/postgres-meta from npm" \
    "(scripts/tools/package.json)" >&2
  mkdir -p "$TOOLS_DIR"
  cp "$TOOLS_SPEC/package.json" "$TOOLS_SPEC/package-lock.json" "$TOOLS_DIR/"
  # No install script is needed: the binaries ship in platform packages, called directly below.
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --ignore-scripts --loglevel=error >&2
fi

# The npm packages ship each binary in a platform package; call it directly (no Node wrapper),
# else through the package's Node wrapper.
first_executable() {
  local candidate
  for candidate in "$@"; do
    if [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
}
DENO_BIN=$(first_executable "$TOOLS_DIR"/node_modules/@deno/*/deno "$TOOLS_DIR/node_modules/.bin/deno")
SUPABASE_BIN=$(first_executable "$TOOLS_DIR"/node_modules/@supabase/cli-*/bin/supabase \
  "$TOOLS_DIR/node_modules/.bin/supabase")
POSTGRES_META_SERVER="$TOOLS_DIR/node_modules/@supabase/postgres-meta/dist/server/server.js"
export DENO_BIN SUPABASE_BIN POSTGRES_META_SERVER
export PATH="$(dirname "$DENO_BIN"):$(dirname "$SUPABASE_BIN"):$PATH"
export DENO_NO_UPDATE_CHECK=1
# The Supabase CLI: no usage reports, no update notice.
export SUPABASE_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 SUPABASE_NO_UPDATE_NOTIFIER=1
