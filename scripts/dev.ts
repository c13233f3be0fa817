/**
 * `bash scripts/dev.sh [--reset]`: starts the whole local platform with demo data and prints
 * where everything is, and how to try each flow (the flows' demos live in scripts/demo/). The
 * cluster is kept between runs (`--reset` recreates it); the demo data in supabase/seed.sql is
 * loaded when the database is new. Ctrl-C stops everything.
 */
import postgres from "postgres";
import { DEMOS, type DemoText } from "./demo/demo.ts";
import { platformConfig, PROJECT_ROOT } from "./platform/config.ts";
import { postgresLogPath, psqlFile } from "./platform/postgres.ts";
import { portInUse } from "./platform/process.ts";
import { startPlatform } from "./platform/start.ts";
import { STAND_INS } from "./platform/stand_ins/registry.ts";

type Sql = postgres.Sql;

await refuseIfAlreadyRunning();
const platform = await startPlatform("dev", { fresh: Deno.args.includes("--reset") });
const { cfg, env } = platform;

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping…");
  await platform.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);

const demos: DemoText[] = [];
const sql = postgres(cfg.dbUrl, { max: 1, onnotice: () => {} });
try {
  await loadSeedOnce(sql);
  for (const demo of DEMOS) {
    const text = await demo.run({ sql, platform }).catch((error) => {
      throw new Error(`The ${demo.flow} demo failed: ${error.message ?? error}`, { cause: error });
    });
    if (text.check) console.log(text.check);
    demos.push(text);
  }
} catch (error) {
  // Leave nothing running behind a failed start.
  await sql.end();
  await platform.stop();
  throw error;
}
await sql.end();

const pages = STAND_INS.map((entry) =>
  `  ${entry.page.label.padEnd(13)}${platform.standIns[entry.name].url}${entry.page.path}`
).join("\n");

console.log(`
Local platform is running (Ctrl-C stops it).

  Functions    ${cfg.apiUrl}/functions/v1/<name>
  RPC          ${cfg.apiUrl}/rest/v1/rpc/<function>
  Database     ${cfg.dbUrl}
               psql '${cfg.dbUrl}'
${pages}
  anon key           ${env.SUPABASE_ANON_KEY}
  service_role key   ${env.SUPABASE_SERVICE_ROLE_KEY}
  Logs         ${await postgresLogPath(cfg)} (Postgres); functions log here

${demos.map((demo) => demo.tryIt).join("\n")}`);

/**
 * A second dev stack on the same ports would not start, and on its way out it would stop (or,
 * with `--reset`, delete) the running stack's database: refuse before touching anything.
 */
async function refuseIfAlreadyRunning(): Promise<void> {
  const cfg = platformConfig("dev");
  const ports: Array<[number, string]> = [
    [cfg.apiPort, "API gateway"],
    ...STAND_INS.map((entry): [number, string] => [
      cfg.saasPortBase + entry.portOffset,
      `${entry.name} stand-in`,
    ]),
  ];
  for (const [port, what] of ports) {
    if (await portInUse(port)) {
      console.error(
        `Port ${port} (${what}) is already in use: is scripts/dev.sh already running? ` +
          "Stop it with Ctrl-C, or start this one beside it on other ports: " +
          "PLATFORM_PORT_OFFSET=100 bash scripts/dev.sh",
      );
      Deno.exit(1);
    }
  }
}

/** Loads supabase/seed.sql into a new database, once. */
async function loadSeedOnce(sql: Sql): Promise<void> {
  const [{ seeded }] = await sql`
    select exists (select from pg_tables where schemaname = 'supabase_migrations'
                   and tablename = 'seed_files') as seeded`;
  if (seeded) return;
  await psqlFile(cfg.dbUrl, `${PROJECT_ROOT}/supabase/seed.sql`);
  await sql`create table supabase_migrations.seed_files (path text primary key, applied_at timestamptz default now())`;
  await sql`insert into supabase_migrations.seed_files (path) values ('supabase/seed.sql')`;
  console.log("Demo data loaded from supabase/seed.sql.");
}
