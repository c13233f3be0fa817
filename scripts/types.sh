#!/usr/bin/env bash
# Regenerates supabase/functions/_shared/database.types.ts from the migrated schema (see
# scripts/types.ts). PG_META_DIR names the folder of @supabase/postgres-meta when it is not in
# .local/tools/node_modules.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$PROJECT_ROOT"
exec deno run --allow-all scripts/types.ts "$@"
