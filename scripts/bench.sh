#!/usr/bin/env bash
# Runs a benchmark script from scripts/bench on a fresh `bench` platform and prints figures.
#   bash scripts/bench.sh job_core [--wakeups 1000] [--jobs 100000] [--workers 4] [--batch 500]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$PROJECT_ROOT"
name=${1:?usage: scripts/bench.sh <name> [options]}
shift
exec deno run --allow-all "scripts/bench/$name.ts" "$@"
