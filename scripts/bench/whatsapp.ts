/**
 * WhatsApp provisioning benchmark (a script that prints figures, not a test).
 *
 *   bash scripts/bench.sh whatsapp [latency] [burst] [webhook]
 *     [--signups 200] [--burst 1000] [--create-concurrency 4] [--burst-timeout 600]
 *     [--events 10000] [--clients 50]
 *
 * On a fresh, durable `bench` platform (the Evolution stand-in with its default behaviour) it
 * measures:
 *   1. latency: COMMIT of a sign-up (a row in auth.users; the triggers create the profile and
 *      enqueue the job) → the instance created on the stand-in with its webhooks and its first
 *      QR code stored in `evolution_instances`, sign-ups one after another (target p99 < 2 s;
 *      the seeds' queue promised "< 5 minutes");
 *   2. burst: `--burst` sign-ups committed in ONE transaction, the stand-in running at most
 *      `--create-concurrency` creations at once: time until all are provisioned, and proof that
 *      none is missing or doubled (instances in the database and on the stand-in, unique names,
 *      the stand-in's instance id the one recorded: the stand-in, like Evolution, refuses a
 *      second creation of a name it holds, so a double creation would show as another id);
 *   3. webhook: a burst of `--events` Evolution events (messages, QR codes, connection updates)
 *      posted to `evolution-webhook` by `--clients` concurrent senders, as Evolution posts them:
 *      events per second and the answer time p50/p95/p99 (target p99 < 50 ms, so that Evolution
 *      never retries), and every event stored once.
 * With no section named, all three run. Ctrl-C stops the platform.
 */
import postgres from "postgres";
import {
  flag,
  header,
  int,
  ms,
  round,
  sections,
  sleep,
  stopOnSignals,
  verdict,
  waitFor,
} from "./cli.ts";
import { type Platform, startPlatform } from "../platform/start.ts";
import { epochMs, latencySummary } from "./stats.ts";
import type { SenderJob, SenderResult, Target } from "./webhook_sender.ts";
import {
  type EvolutionControl,
  evolutionControl,
} from "../platform/stand_ins/evolution/control.ts";

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const SECTIONS = ["latency", "burst", "webhook"] as const;
type Section = typeof SECTIONS[number];

const run = sections(SECTIONS);

const SIGNUPS = flag("signups", 200);
const BURST = flag("burst", 1000);
const CREATE_CONCURRENCY = flag("create-concurrency", 4);
const BURST_TIMEOUT_S = flag("burst-timeout", 600);
const EVENTS = flag("events", 10_000);
const CLIENTS = flag("clients", 50);
const LATENCY_WARMUP = 5;
const BURST_WARMUP = 20;
const WEBHOOK_WARMUP = 200;
/** The `sender` of the benchmark's events: the stand-in's own (QR rotation) are told apart. */
const BENCH_SENDER = "33600000000@s.whatsapp.net";
/** Instances the webhook burst spreads its events over. */
const WEBHOOK_INSTANCES = 100;

// ---------------------------------------------------------------------------------------------
// Platform, clean-up, small helpers
// ---------------------------------------------------------------------------------------------

let platform: Platform | undefined;
let sql: postgres.Sql | undefined;
let stopping: Promise<void> | undefined;

function shutdown(): Promise<void> {
  stopping ??= (async () => {
    await sql?.end({ timeout: 2 }).catch(() => {});
    await platform?.stop();
  })();
  return stopping;
}

stopOnSignals(shutdown);

const yesNo = (ok: boolean) => (ok ? "OK" : "FAILED");

let evolutionStandIn: EvolutionControl | undefined;
/** The control client of the bench platform's Evolution stand-in. */
const standIn = () => evolutionStandIn ??= evolutionControl(platform!.standIns.evolution.url);

/** Signs up `count` users in one transaction (`<label>-<n>@bench.example`); their ids. */
async function signUp(db: postgres.Sql, label: string, count: number): Promise<string[]> {
  const rows = await db.begin((tx) =>
    tx`
      insert into auth.users (email, raw_user_meta_data)
      select ${label} || '-' || n || '-' || substr(md5(random()::text), 1, 6) || '@bench.example',
             jsonb_build_object('full_name', 'Bench user ' || n)
      from generate_series(1, ${count}) n
      returning id`
  );
  return rows.map((r) => r.id as string);
}

/**
 * How many of `ids` are provisioned (instance created, webhook set, a QR code stored), and how
 * many queue entries failed for good.
 */
async function provisioned(db: postgres.Sql, ids: string[]) {
  const [row] = await db`
    select count(*) filter (where i.status = 'created' and i.webhook_configured_at is not null
                              and i.qr_code is not null)::int as done,
           count(*) filter (where q.status = 'failed')::int as failed
    from public.evolution_instance_creation_queue q
    left join public.evolution_instances i on i.user_id = q.user_id
    where q.user_id = any(${ids}::uuid[])`;
  return { done: row.done as number, failed: row.failed as number };
}

/** Where a user's provisioning stands: its queue entry, its job, its instance row. */
async function diagnosis(userId: string): Promise<string> {
  const [row] = await sql!`
    select q.status as queue, q.error_message, j.state as job, j.attempts, j.last_error,
           i.status as instance, i.instance_status, i.qr_code is not null as has_qr,
           i.webhook_configured_at is not null as has_webhook
    from auth.users u
    left join public.evolution_instance_creation_queue q on q.user_id = u.id
    left join jobs.jobs j on j.id = q.job_id
    left join public.evolution_instances i on i.user_id = u.id
    where u.id = ${userId}`;
  return JSON.stringify(row ?? "no such user");
}

// ---------------------------------------------------------------------------------------------
// 1. Latency
// ---------------------------------------------------------------------------------------------

interface OneSignUp {
  userId: string;
  /** COMMIT → the poll saw the instance with its webhook and first QR in the table. */
  seenMs: number;
  /** COMMIT → the row held all three (the database's clock: the storing transaction). */
  storedMs: number;
  /** COMMIT → the job claimed (pg_net wake-up, gateway, job_claim). */
  claimMs: number;
}

/**
 * Signs one user up on `conn` and waits until its instance is provisioned; answers the times, or
 * where it stands when its queue entry failed (or a minute passed) instead.
 */
async function signUpOne(
  conn: postgres.ReservedSql,
  n: number,
): Promise<OneSignUp | { userId: string; failure: string }> {
  const db = sql!;
  await conn`begin`;
  const [user] = await conn`
    insert into auth.users (email, raw_user_meta_data)
    values (${`latency-${n}-${crypto.randomUUID().slice(0, 6)}@bench.example`},
            ${conn.json({ full_name: `Latency user ${n}` })})
    returning id`;
  await conn`commit`;
  const committedAt = epochMs();
  const userId = user.id as string;
  const row = await waitFor(
    async () => {
      const [r] = await db`
        select q.status as queue,
               (i.status = 'created' and i.webhook_configured_at is not null
                and i.qr_code is not null) as provisioned,
               greatest(i.created_at, i.webhook_configured_at, i.last_qr_update) as stored_at
        from public.evolution_instance_creation_queue q
        left join public.evolution_instances i on i.user_id = q.user_id
        where q.user_id = ${userId}`;
      return r?.provisioned || r?.queue === "failed" ? r : undefined;
    },
    `the instance of user ${userId}`,
    { timeoutMs: 60_000 },
  ).catch(() => undefined);
  if (!row?.provisioned) return { userId, failure: await diagnosis(userId) };
  const seenAt = epochMs();
  const [claim] = await db`
    select min(created_at) as at from jobs.job_events
    where subject = ${"user:" + userId} and to_state = 'running'`;
  return {
    userId,
    seenMs: seenAt - committedAt,
    storedMs: (row.stored_at as Date).getTime() - committedAt,
    claimMs: (claim.at as Date).getTime() - committedAt,
  };
}

async function latencySection() {
  const conn = await sql!.reserve();
  const results: OneSignUp[] = [];
  const failures: { userId: string; failure: string }[] = [];
  try {
    for (let i = 0; i < LATENCY_WARMUP + SIGNUPS; i++) {
      const result = await signUpOne(conn, i);
      if ("failure" in result) failures.push(result);
      else if (i >= LATENCY_WARMUP) results.push(result);
    }
  } finally {
    conn.release();
  }
  const seen = latencySummary(results.map((r) => r.seenMs));
  const stored = latencySummary(results.map((r) => r.storedMs));
  const claim = latencySummary(results.map((r) => r.claimMs));
  const work = latencySummary(results.map((r) => r.storedMs - r.claimMs));
  const [attempts] = await sql!`
    select count(*) filter (where attempts > 1)::int as retried
    from jobs.jobs where queue = 'evolution'
      and subject = any(${results.map((r) => `user:${r.userId}`)})`;
  header(
    "1. LATENCY: COMMIT of a sign-up → instance created with webhooks, first QR code stored",
  );
  console.log(
    `  ${results.length} sign-ups one after another (each waits for its instance), ` +
      `${LATENCY_WARMUP} warm-up sign-ups not counted; ${attempts.retried} job(s) retried.`,
  );
  console.log(
    `  not provisioned (queue entry failed, or not within 60 s): ${failures.length}` +
      `${failures.length ? " — where they stand:" : ""}`,
  );
  for (const f of failures) console.log(`    user ${f.userId}: ${f.failure}`);
  console.log(`  p50 / p95 / p99 / max:`);
  console.log(
    `    COMMIT → seen provisioned (poll)   ${ms(seen)}   target p99 < 2000 ms: ${
      verdict(seen.p99 < 2000)
    }`,
  );
  console.log(`    COMMIT → row stored (db clock)     ${ms(stored)}`);
  console.log(
    `    of which COMMIT → job claimed      ${ms(claim)}   (pg_net wake-up, gateway, job_claim)`,
  );
  console.log(
    `    job claimed → row stored           ${
      ms(work)
    }   (RPC start, POST /instance/create, RPC complete)`,
  );
  return {
    seen_ms: seen,
    stored_ms: stored,
    claim_ms: claim,
    work_ms: work,
    not_provisioned: failures.length,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Burst
// ---------------------------------------------------------------------------------------------

/** Where a burst's users stand, grouped: queue entry, job, instance, last error. */
async function burstDiagnosis(db: postgres.Sql, ids: string[]): Promise<string> {
  const rows = await db`
    select q.status as queue, j.state as job, i.status as instance, i.instance_status,
           i.qr_code is not null as has_qr, i.webhook_configured_at is not null as has_webhook,
           max(j.attempts) as max_attempts, left(max(j.last_error), 160) as last_error,
           count(*)::int as users
    from auth.users u
    left join public.evolution_instance_creation_queue q on q.user_id = u.id
    left join jobs.jobs j on j.id = q.job_id
    left join public.evolution_instances i on i.user_id = u.id
    where u.id = any(${ids}::uuid[])
    group by 1, 2, 3, 4, 5, 6 order by users desc`;
  return rows.map((r) => JSON.stringify(r)).join("\n");
}

/**
 * Signs `count` users up in one transaction and waits until all are provisioned or failed for
 * good (the integrity check reports those).
 */
async function burstOf(db: postgres.Sql, label: string, count: number) {
  const ids = await signUp(db, label, count);
  const committedAt = epochMs();
  /** Seconds after COMMIT at which each tenth of the burst was provisioned. */
  const tenths: number[] = [];
  let failed = 0;
  await waitFor(
    async () => {
      const state = await provisioned(db, ids);
      const done = state.done;
      failed = state.failed;
      while (tenths.length < 10 && done >= Math.ceil(((tenths.length + 1) * count) / 10)) {
        tenths.push((epochMs() - committedAt) / 1000);
      }
      return done + failed >= count ? true : undefined;
    },
    `${count} sign-ups of the ${label} burst to be provisioned`,
    {
      timeoutMs: BURST_TIMEOUT_S * 1000,
      everyMs: 100,
    },
  ).catch(async (error) => {
    throw new Error(`${error.message}:\n${await burstDiagnosis(db, ids)}`, { cause: error });
  });
  if (failed) {
    console.log(`  ${label}: ${failed} queue entries failed:\n${await burstDiagnosis(db, ids)}`);
  }
  return { ids, committedAt, elapsedS: (epochMs() - committedAt) / 1000, tenths, failed };
}

async function burstSection() {
  const db = sql!;
  await standIn().setBehaviour({ createConcurrency: CREATE_CONCURRENCY });
  // Warm-up: the function runs, every connection of the gateway's pool has compiled the flow's
  // SQL functions, as on a running system.
  await burstOf(db, "warmup", BURST_WARMUP);
  const before = await standIn().stats();
  const { ids, committedAt, elapsedS, tenths, failed } = await burstOf(db, "burst", BURST);
  await sleep(500); // stray duplicate creations, if any, would land now
  const after = await standIn().stats();

  // Integrity in the database: one instance per user, unique names, the queue completed.
  const [dbRow] = await db`
    select count(*)::int as users,
           count(i.user_id)::int as instances,
           count(distinct i.instance_name)::int as names,
           count(*) filter (where i.instance_name = c.instance_name)::int as expected_names,
           count(*) filter (where q.status = 'completed')::int as completed,
           min(i.created_at) as first_at, max(i.created_at) as last_at
    from auth.users u
    left join public.evolution_instances i on i.user_id = u.id
    left join public.evolution_instance_creation_queue q on q.user_id = u.id
    left join whatsapp_internal.instance_credentials c on c.user_id = u.id
    where u.id = any(${ids}::uuid[])`;
  const recorded = await db`
    select c.instance_name as name, i.instance_id as id
    from whatsapp_internal.instance_credentials c
    left join public.evolution_instances i on i.user_id = c.user_id
    where c.user_id = any(${ids}::uuid[])`;
  const names = recorded.map((r) => r.name as string);
  // On the stand-in: one instance per name, the one whose id the database recorded.
  const held = new Map<string, string[]>();
  for (const instance of await standIn().instances()) {
    held.set(instance.name, [...(held.get(instance.name) ?? []), instance.id]);
  }
  const heldOnce = recorded.filter((r) => held.get(r.name)?.length === 1).length;
  const heldTwice = recorded.filter((r) => (held.get(r.name)?.length ?? 0) > 1).length;
  const sameId = recorded.filter((r) => held.get(r.name)?.includes(r.id)).length;
  const missingOnStandIn = recorded.filter((r) => !held.has(r.name)).length;
  const [jobs] = await db`
    select count(*)::int as jobs,
           count(*) filter (where state = 'succeeded')::int as succeeded,
           count(*) filter (where attempts > 1)::int as retried,
           count(*) filter (where result->>'outcome' = 'adopted')::int as adopted,
           coalesce(max(attempts), 0)::int as max_attempts
    from jobs.jobs
    where queue = 'evolution' and subject = any(${ids.map((id) => `user:${id}`)})`;
  const failures = await db`
    select left(regexp_replace(coalesce(error, '(no error)'),
                               '[0-9a-f]{8}-[0-9a-f-]{27}|[0-9]+', '#', 'g'), 100) as error,
           count(*)::int as attempts
    from jobs.job_events
    where subject = any(${ids.map((id) => `user:${id}`)})
      and from_state = 'running' and to_state in ('retrying', 'dead')
    group by 1 order by 2 desc`;
  const requests = after.requests_received - before.requests_received;
  const limited = after.requests_rate_limited - before.requests_rate_limited;

  const integrityOk = dbRow.users === BURST && dbRow.instances === BURST &&
    dbRow.names === BURST && dbRow.expected_names === BURST && dbRow.completed === BURST &&
    names.length === BURST && new Set(names).size === BURST && heldOnce === BURST &&
    heldTwice === 0 && sameId === BURST && missingOnStandIn === 0 && jobs.succeeded === BURST;

  header(`2. BURST: ${BURST} sign-ups committed in ONE transaction (one INSERT of ${BURST} rows)`);
  console.log(
    `  Evolution stand-in: at most ${CREATE_CONCURRENCY} creations at once (setBehaviour)`,
  );
  console.log(
    `  COMMIT → all ${BURST} ${
      failed ? `settled (${failed} FAILED)` : "provisioned"
    } (instance, webhooks, first QR): ${round(elapsedS, 2)} s` +
      `   (${round(BURST / elapsedS, 1)} instances/s)`,
  );
  console.log(
    `  first / last instance stored: ${
      round(((dbRow.first_at as Date).getTime() - committedAt) / 1000, 2)
    } s / ${round(((dbRow.last_at as Date).getTime() - committedAt) / 1000, 2)} s after COMMIT`,
  );
  console.log(
    `  each tenth provisioned by (s after COMMIT): ${tenths.map((t) => round(t, 1)).join(", ")}`,
  );
  console.log(
    `  stand-in requests: ${requests} received, ${
      after.requests_rejected - before.requests_rejected
    } rejected (429 past its create concurrency included), ${limited} rate-limited`,
  );
  console.log(
    `  jobs: ${jobs.jobs}, ${jobs.succeeded} succeeded, ${jobs.retried} retried, highest attempt ` +
      `${jobs.max_attempts}, ${jobs.adopted} adopted an instance after a lost answer`,
  );
  for (const f of failures) console.log(`    failed attempts: ${f.attempts} × ${f.error}`);
  console.log(`  integrity: ${yesNo(integrityOk)}`);
  console.log(
    `    database: ${dbRow.users} users, ${dbRow.instances} instances, ${dbRow.names} distinct ` +
      `names (${dbRow.expected_names} as derived from the user), ${dbRow.completed} queue entries completed`,
  );
  console.log(
    `    stand-in: of the ${names.length} names (${new Set(names).size} distinct), ` +
      `${heldOnce} held once, ${heldTwice} more than once, ${missingOnStandIn} missing; ` +
      `${sameId} with the instance id the database recorded`,
  );
  return {
    signups: BURST,
    create_concurrency: CREATE_CONCURRENCY,
    elapsed_s: round(elapsedS, 2),
    per_second: round(BURST / elapsedS, 1),
    requests,
    rate_limited: limited,
    jobs_retried: jobs.retried,
    integrity: integrityOk,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Webhook burst
// ---------------------------------------------------------------------------------------------

/** Provisioned instances to post events for (signed up here when there are too few). */
async function webhookTargets(db: postgres.Sql): Promise<Target[]> {
  const read = () =>
    db`
    select i.instance_name as instance, c.instance_token as token, c.webhook_secret as secret,
           i.webhook_url as url
    from public.evolution_instances i
    join whatsapp_internal.instance_credentials c on c.user_id = i.user_id
    where i.status = 'created' and i.webhook_url is not null
    order by i.created_at limit ${WEBHOOK_INSTANCES}`;
  let rows = await read();
  if (rows.length < WEBHOOK_INSTANCES) {
    await burstOf(db, "webhook", WEBHOOK_INSTANCES - rows.length);
    rows = await read();
  }
  return rows.map((r) => ({
    instance: r.instance,
    token: r.token,
    secret: r.secret,
    url: r.url,
  }));
}

/**
 * Posts events `from`..`to` from a worker thread (webhook_sender.ts), so that building and
 * sending the load does not share the event loop of the platform it measures (the gateway and
 * the stand-ins run in this process).
 */
function postEventsFromWorker(
  targets: Target[],
  from: number,
  to: number,
  clients: number,
): Promise<{ times: number[]; statuses: Map<string, number> }> {
  const worker = new Worker(new URL("./webhook_sender.ts", import.meta.url).href, {
    type: "module",
  });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<SenderResult>) => {
      worker.terminate();
      resolve({ times: e.data.times, statuses: new Map(e.data.statuses) });
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(`The webhook sender failed: ${e.message}`));
    };
    worker.postMessage(
      {
        targets,
        from,
        to,
        clients,
        serverUrl: platform!.standIns.evolution.url,
        sender: BENCH_SENDER,
      } satisfies SenderJob,
    );
  });
}

async function webhookSection() {
  const db = sql!;
  const targets = await webhookTargets(db);
  // The stand-in's own QR rotations (a webhook per connecting instance every 45 s) would
  // compete with the burst: codes rotate once an hour from here on.
  await standIn().setBehaviour({ qrIntervalMs: 3_600_000 });
  await postEventsFromWorker(targets, 0, WEBHOOK_WARMUP, CLIENTS);
  const [{ before }] = await db`
    select coalesce(max(id), 0)::bigint as before from public.evolution_webhook_events`;
  const [{ inboundBefore }] = await db`
    select count(*)::int as "inboundBefore" from public.whatsapp_inbound_messages`;
  const started = performance.now();
  const { times, statuses } = await postEventsFromWorker(
    targets,
    WEBHOOK_WARMUP,
    WEBHOOK_WARMUP + EVENTS,
    CLIENTS,
  );
  const seconds = (performance.now() - started) / 1000;
  const answer = latencySummary(times);
  const outcomes = await db`
    select event, regexp_replace(outcome, '[0-9]+', '#', 'g') as outcome, count(*)::int as n
    from public.evolution_webhook_events
    where id > ${before} and payload ->> 'sender' = ${BENCH_SENDER}
    group by 1, 2 order by 3 desc`;
  const stored = outcomes.reduce((a, r) => a + r.n, 0);
  const [{ inbound }] = await db`
    select count(*)::int as inbound from public.whatsapp_inbound_messages`;
  const messages = Array.from({ length: EVENTS }, (_, i) => (WEBHOOK_WARMUP + i) % 20 < 16)
    .filter(Boolean).length;
  const ok = statuses.get("200") ?? 0;
  const integrityOk = ok === EVENTS && stored === EVENTS &&
    inbound - inboundBefore === messages;

  header(
    `3. WEBHOOK: ${
      int(EVENTS)
    } Evolution events posted to evolution-webhook by ${CLIENTS} concurrent senders`,
  );
  console.log(
    `  ${targets.length} instances; 80% messages.upsert, 15% qrcode.updated, 5% connection.update; ` +
      `${WEBHOOK_WARMUP} warm-up events not counted`,
  );
  console.log(
    `  events/s: ${int(EVENTS / seconds)}   (${round(seconds, 2)} s for ${int(EVENTS)} events)`,
  );
  console.log(
    `  answer time p50 / p95 / p99 / max: ${ms(answer)}   target p99 < 50 ms: ${
      verdict(answer.p99 < 50)
    }`,
  );
  console.log(
    `  answers: ${[...statuses].map(([s, n]) => `${n} × ${s}`).join(", ")}`,
  );
  console.log(`  integrity: ${yesNo(integrityOk)}`);
  console.log(
    `    events stored: ${stored} of ${EVENTS} (${
      outcomes.map((r) => `${r.n} ${r.event} ${r.outcome}`).join(", ")
    })`,
  );
  console.log(
    `    inbound messages stored: ${inbound - inboundBefore} of ${messages} messages.upsert`,
  );
  return {
    events: EVENTS,
    clients: CLIENTS,
    per_second: Math.round(EVENTS / seconds),
    answer_ms: answer,
    integrity: integrityOk,
  };
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const results: Record<string, unknown> = {};
try {
  const started = performance.now();
  platform = await startPlatform("bench", { fresh: true, log: () => {} });
  sql = postgres(platform.cfg.dbUrl, { max: 8, onnotice: () => {} });
  console.log(
    `bench platform up in ${
      round((performance.now() - started) / 1000)
    } s (db ${platform.cfg.dbUrl}, Evolution stand-in ${platform.standIns.evolution.url})`,
  );
  if (run.has("latency")) results.latency = await latencySection();
  if (run.has("burst")) results.burst = await burstSection();
  if (run.has("webhook")) results.webhook = await webhookSection();
  console.log(`\ntotal ${round((performance.now() - started) / 1000)} s`);
  console.log(JSON.stringify(results));
} finally {
  await shutdown();
}
