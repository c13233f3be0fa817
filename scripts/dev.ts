/**
 * `bash scripts/dev.sh [--reset]`: starts the whole local platform with demo data and prints
 * where everything is. The cluster is kept between runs (`--reset` recreates it); the demo
 * data in supabase/seed.sql is loaded when the database is new. Ctrl-C stops everything.
 */
import postgres from "postgres";
import { PROJECT_ROOT } from "./platform/config.ts";
import { postgresLogPath, psqlFile } from "./platform/postgres.ts";
import { startPlatform } from "./platform/start.ts";

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

const sql = postgres(cfg.dbUrl, { max: 1, onnotice: () => {} });
try {
  const [{ seeded }] = await sql`
    select exists (select from pg_tables where schemaname = 'supabase_migrations'
                   and tablename = 'seed_files') as seeded`;
  if (!seeded) {
    await psqlFile(cfg.dbUrl, `${PROJECT_ROOT}/supabase/seed.sql`);
    await sql`create table supabase_migrations.seed_files (path text primary key, applied_at timestamptz default now())`;
    await sql`insert into supabase_migrations.seed_files (path) values ('supabase/seed.sql')`;
    console.log("Demo data loaded from supabase/seed.sql.");
  }
  // A probe through the whole chain: trigger → job → pg_net wake-up → function → RPC.
  const [{ id }] = await sql`select jobs.send_probe('dev start') as id`;
  const deadline = Date.now() + 15_000;
  let probe: { latency_ms: number } | undefined;
  while (!probe && Date.now() < deadline) {
    [probe] = await sql`
      select round(extract(epoch from handled_at - created_at) * 1000)::int as latency_ms
      from jobs.probes where id = ${id} and handled_at is not null`;
    if (!probe) await new Promise((r) => setTimeout(r, 50));
  }
  console.log(
    probe
      ? `Job pipeline check: probe ${id} handled ${probe.latency_ms} ms after its insert.`
      : `Job pipeline check: probe ${id} was not handled within 15 s; see jobs.queue_health.`,
  );
} finally {
  await sql.end();
}

console.log(`
Local platform is running (Ctrl-C stops it).

  Functions    ${cfg.apiUrl}/functions/v1/<name>
  RPC          ${cfg.apiUrl}/rest/v1/rpc/<function>
  Database     ${cfg.dbUrl}
               psql '${cfg.dbUrl}'
  Inbox        ${platform.resendUrl}/
  anon key           ${env.SUPABASE_ANON_KEY}
  service_role key   ${env.SUPABASE_SERVICE_ROLE_KEY}
  Logs         ${await postgresLogPath(cfg)} (Postgres); functions log here

Try:
  select jobs.send_probe('hello');              -- a job through the whole chain
  select * from jobs.probes order by id desc limit 5;
  select * from jobs.queue_health;              -- what operators watch
`);
