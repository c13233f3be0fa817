/**
 * `bash scripts/dev.sh [--reset]`: starts the whole local platform with demo data and prints
 * where everything is, and how to try the waitlist on the demo clinic. The cluster is kept
 * between runs (`--reset` recreates it); the demo data in supabase/seed.sql is loaded when the
 * database is new. Ctrl-C stops everything.
 */
import postgres from "postgres";
import { platformConfig, PROJECT_ROOT } from "./platform/config.ts";
import { postgresLogPath, psqlFile } from "./platform/postgres.ts";
import { portInUse } from "./platform/process.ts";
import { startPlatform } from "./platform/start.ts";

type Sql = postgres.Sql;

/**
 * How far ahead the demo's appointment must start: the offer cutoff (2 hours by default) plus
 * an hour, so that the offer stays open while someone clicks through the emails.
 */
const DEMO_LEAD = "3 hours";

/** Cancels the next demo appointment: the trigger opens a slot offer to the waitlist. */
const CANCEL_NEXT_APPOINTMENT = "update appointments set status = 'cancelled' " +
  "where id = (select id from appointments where status = 'confirmed' " +
  `and starts_at > now() + interval '${DEMO_LEAD}' order by starts_at limit 1);`;

/** Turns the waitlist's quiet hours off, so that invitations go out at any hour. */
const QUIET_HOURS_OFF =
  "update waitlist_settings set quiet_hours_start = null, quiet_hours_end = null;";

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

let waitlistDemo: string;
const sql = postgres(cfg.dbUrl, { max: 1, onnotice: () => {} });
try {
  await loadSeedOnce(sql);
  console.log(await pipelineCheck(sql));
  waitlistDemo = await waitlistDemoText(sql, platform.resendUrl);
} catch (error) {
  // Leave nothing running behind a failed start.
  await sql.end();
  await platform.stop();
  throw error;
}
await sql.end();

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

Try the job core, in psql:
  select jobs.send_probe('hello');              -- a job through the whole chain
  select * from jobs.probes order by id desc limit 5;
  select * from jobs.queue_health;              -- what operators watch

${waitlistDemo}`);

/**
 * A second dev stack on the same ports would not start, and on its way out it would stop (or,
 * with `--reset`, delete) the running stack's database: refuse before touching anything.
 */
async function refuseIfAlreadyRunning(): Promise<void> {
  const cfg = platformConfig("dev");
  for (const [port, what] of [[cfg.apiPort, "API gateway"], [cfg.saasPortBase, "inbox"]] as const) {
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

/** A probe through the whole chain: trigger → job → pg_net wake-up → function → RPC. */
async function pipelineCheck(sql: Sql): Promise<string> {
  const [{ id }] = await sql`select jobs.send_probe('dev start') as id`;
  const deadline = Date.now() + 15_000;
  let probe: { latency_ms: number } | undefined;
  while (!probe && Date.now() < deadline) {
    [probe] = await sql`
      select round(extract(epoch from handled_at - created_at) * 1000)::int as latency_ms
      from jobs.probes where id = ${id} and handled_at is not null`;
    if (!probe) await new Promise((r) => setTimeout(r, 50));
  }
  return probe
    ? `Job pipeline check: probe ${id} handled ${probe.latency_ms} ms after its insert.`
    : `Job pipeline check: probe ${id} was not handled within 15 s; see jobs.queue_health.`;
}

/**
 * How to try the waitlist now: the statement that cancels the next demo appointment, what to do
 * in the inbox, and a warning when the quiet hours would hold the invitations back (the first
 * wave then waits for their end, unless the offer closes before).
 */
async function waitlistDemoText(sql: Sql, inboxUrl: string): Promise<string> {
  const [demo] = await sql`
    select s.clinic_time_zone as time_zone,
           to_char(now() at time zone s.clinic_time_zone, 'HH24:MI') as clinic_time,
           to_char(s.quiet_hours_start, 'HH24:MI') || '–' || to_char(s.quiet_hours_end, 'HH24:MI')
             as quiet_hours,
           first_wave.at > now() as held_back,
           to_char(first_wave.at at time zone s.clinic_time_zone, 'Dy HH24:MI') as first_wave_at,
           next.patient, next.practitioner,
           to_char(next.starts_at at time zone s.clinic_time_zone, 'Dy DD Mon "at" HH24:MI')
             as starts
    from waitlist_settings s
    left join lateral (
      select a.starts_at, p.first_name || ' ' || p.last_name as patient, d.full_name as practitioner
      from appointments a
      join patients p on p.id = a.patient_id
      join practitioners d on d.id = a.practitioner_id
      where a.status = 'confirmed' and a.starts_at > now() + ${DEMO_LEAD}::interval
      order by a.starts_at limit 1
    ) next on true
    cross join lateral (
      select waitlist_internal.after_quiet_hours(now(), next.starts_at - s.offer_cutoff, s) as at
    ) first_wave`;
  if (!demo?.starts) {
    return `Try the waitlist: no confirmed demo appointment starts more than ${DEMO_LEAD} from now
(the demo data covers the two weeks after it was loaded). For new demo data, restart with:
  bash scripts/dev.sh --reset
`;
  }
  const steps = [
    `Cancel the next demo appointment more than ${DEMO_LEAD} ahead (now ${demo.patient}'s,
     ${demo.starts}, with ${demo.practitioner}):
       ${CANCEL_NEXT_APPOINTMENT}`,
    `Open the inbox, ${inboxUrl}/, where the invitations appear within a second or two,
     each in its patient's language. Open one, click Accept (Accepter in French) and confirm
     on the page that opens: the slot is booked, and the confirmation email appears in the inbox.`,
  ];
  if (demo.held_back) {
    steps.unshift(
      `It is ${demo.clinic_time} at the clinic (${demo.time_zone}), inside the quiet hours
     (${demo.quiet_hours}): the first invitations would wait until ${demo.first_wave_at}.
     For the demo, turn the quiet hours off first:
       ${QUIET_HOURS_OFF}`,
    );
  }
  return `Try the waitlist, in psql:
${steps.map((step, i) => `  ${i + 1}. ${step}`).join("\n")}
`;
}
