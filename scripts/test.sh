#!/usr/bin/env bash
# Runs every check and test on a fresh local test platform. See README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$PROJECT_ROOT"
exec deno run --allow-all scripts/test.ts "$@"
