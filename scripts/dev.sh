#!/usr/bin/env bash
# Starts the whole system locally with demo data. See README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$PROJECT_ROOT"
exec deno run --allow-all scripts/dev.ts "$@"
