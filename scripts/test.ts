/**
 * `bash scripts/test.sh`: every check and test, on a fresh test platform.
 *
 *   1. deno fmt --check, deno lint, deno check
 *   2. a fresh test cluster (own ports, own folder) with everything started, the migrations
 *      applied by the Supabase CLI
 *   3. `supabase db lint --level warning` over the project's schemas: one check, failed by any
 *      finding
 *   4. pgTAP files in supabase/tests/database with pg_prove, after their helpers (helpers.sql)
 *   5. the database types are fresh: a generation from the migrated schema equals the
 *      committed supabase/functions/_shared/database.types.ts (scripts/types.ts)
 *   6. Deno tests in tests/ against the running platform
 *
 * Ends with the line `N passed, N failed`. Arguments after the options go to `deno test`
 * (file paths or `--filter`). Options: `--no-static` skips steps 1, 3 and 5, `--no-pgtap`
 * step 4, `--no-types` step 5, `--no-deno` step 6.
 */
import { PROJECT_ROOT } from "./platform/config.ts";
import { startPlatform } from "./platform/start.ts";
import { lintDatabase, psql } from "./platform/postgres.ts";
import { DATABASE_TYPES_PATH, generateDatabaseTypes } from "./types.ts";

const flags = new Set(Deno.args.filter((a) => /^--no-(static|pgtap|types|deno)$/.test(a)));
const denoTestArgs = Deno.args.filter((a) => !flags.has(a));
let passed = 0;
let failed = 0;

async function step(cmd: string, args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(cmd, {
    args,
    cwd: PROJECT_ROOT,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    chunks.push(text);
    await Deno.stdout.write(chunk);
  }
  const status = await child.status;
  return { ok: status.success, out: chunks.join("") };
}

if (!flags.has("--no-static")) {
  for (const args of [["fmt", "--check"], ["lint"], ["check", "scripts", "tests", "supabase"]]) {
    const { ok } = await step("deno", args);
    if (ok) passed++;
    else failed++;
  }
}

const platform = await startPlatform("test", { fresh: true });
try {
  const { cfg, env } = platform;
  if (!flags.has("--no-static")) {
    const lint = await lintDatabase(cfg);
    if (lint.ok) {
      passed++;
      console.log(`supabase db lint: no finding in ${lint.schemas.join(", ")}`);
    } else {
      failed++;
      console.log(`supabase db lint failed on ${lint.schemas.join(", ")}:\n${lint.report}`);
    }
  }
  if (!flags.has("--no-pgtap")) {
    await psql(cfg.dbUrl, "create extension if not exists pgtap with schema extensions");
    // The shared helpers (schema tests), in one transaction; loading them again replaces them.
    const helpers = await Deno.readTextFile(`${PROJECT_ROOT}/supabase/tests/database/helpers.sql`);
    await psql(cfg.dbUrl, `begin;\n${helpers}\ncommit;`);
    const files: string[] = [];
    for await (const e of Deno.readDir(`${PROJECT_ROOT}/supabase/tests/database`)) {
      if (e.name.endsWith(".test.sql")) files.push(`supabase/tests/database/${e.name}`);
    }
    if (files.length) {
      const { out } = await step(
        "pg_prove",
        [
          "-h",
          "127.0.0.1",
          "-p",
          String(cfg.dbPort),
          "-U",
          "postgres",
          "-d",
          "postgres",
          ...files.sort(),
        ],
        { PGPASSWORD: "postgres" },
      );
      const total = Number(/Tests=(\d+)/.exec(out)?.[1] ?? 0);
      const bad = [...out.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
      // A file that dies before its plan counts as one failure at least.
      const died = /Result: FAIL/.test(out) && bad === 0 ? 1 : 0;
      passed += total - bad;
      failed += bad + died;
    }
  }
  if (!flags.has("--no-static") && !flags.has("--no-types")) {
    // The committed types must be what the generator makes of the migrated schema.
    try {
      const fresh = await generateDatabaseTypes(cfg.dbUrl);
      const committed = await Deno.readTextFile(`${PROJECT_ROOT}/${DATABASE_TYPES_PATH}`);
      if (fresh === committed) {
        console.log(`types: ${DATABASE_TYPES_PATH} is fresh`);
        passed++;
      } else {
        const temp = await Deno.makeTempFile({ prefix: "database.types.", suffix: ".ts" });
        await Deno.writeTextFile(temp, fresh);
        console.error(
          `types: ${DATABASE_TYPES_PATH} differs from a fresh generation (written to ${temp}): ` +
            "run `bash scripts/types.sh` and commit the result",
        );
        failed++;
      }
    } catch (error) {
      console.error(`types: ${error instanceof Error ? error.message : error}`);
      failed++;
    }
  }
  if (!flags.has("--no-deno")) {
    const { out } = await step(
      "deno",
      ["test", "--allow-all", ...(denoTestArgs.length ? denoTestArgs : ["tests/"])],
      {
        ...env,
        NO_COLOR: "1",
        TEST_DB_URL: cfg.dbUrl,
        TEST_API_PORT: String(cfg.apiPort),
        JWT_SECRET: cfg.jwtSecret,
      },
    );
    // deno test ends with: "ok | 12 passed (3 steps) | 0 failed (2s)" or "FAILED | ..."
    const summary = /(?:ok|FAILED) \| (\d+) passed.*?\| (\d+) failed/.exec(out);
    if (summary) {
      passed += Number(summary[1]);
      failed += Number(summary[2]);
    } else failed++;
  }
} finally {
  await platform.stop();
}
console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(failed ? 1 : 0);
