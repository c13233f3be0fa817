/**
 * Signed webhooks benchmark (a script that prints figures, not a test).
 *
 *   bash scripts/bench.sh webhooks [overdue] [throughput] [isolation]
 *     [--tickets 100000] [--runs 1000] [--messages 10000] [--endpoints 10]
 *     [--iso-messages 10000] [--iso-endpoints 10] [--timeout 300]
 *
 * On a fresh, durable `bench` platform (the webhook receiver stand-in at its defaults) it
 * measures:
 *   1. overdue: `--tickets` tickets of a glass workshop (most of them completed or archived, the
 *      open ones due over the coming weeks, about 1.5% overdue, two thirds of those already
 *      notified within 24 hours, a history of older notifications): the overdue selection
 *      (`workshop_internal.due_tickets`, the one query `workshop_check_overdue` runs, alone and
 *      through the `overdue_tickets` view) and `workshop_check_overdue()` itself with no
 *      subscriber (the selection, nothing recorded), each `--runs` times:
 *      p50/p95/p99 (target p99 < 20 ms);
 *   2. throughput: `--messages` messages published in one transaction to `--endpoints` endpoints
 *      at the receiver: time from COMMIT until every one is delivered, deliveries per second
 *      (target ≥ 1,000/s), per-message delivery time, and the receiver's count of verified
 *      messages and duplicates;
 *   3. isolation: `--iso-messages` messages to `--iso-endpoints` endpoints of which one hangs
 *      (the receiver's `hang` fault on its path; the engine gives up after 15 s), against the
 *      same run with the healthy endpoints only: the healthy endpoints' delivery time
 *      p50/p95/p99 must not move.
 * With no section named, all three run. Ctrl-C stops the platform.
 */
import postgres from "postgres";
import { flag, header, int, ms, round, sections, stopOnSignals, verdict, waitFor } from "./cli.ts";
import { type Platform, startPlatform } from "../platform/start.ts";
import { latencySummary } from "./stats.ts";
import {
  type WebhookReceiverControl,
  webhookReceiverControl,
} from "../platform/stand_ins/webhook_receiver/control.ts";
import { createEndpoint } from "../demo/workshop.ts";

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const SECTIONS = ["overdue", "throughput", "isolation"] as const;
const run = sections(SECTIONS);

const TICKETS = flag("tickets", 100_000);
const RUNS = flag("runs", 1000);
const MESSAGES = flag("messages", 10_000);
const ENDPOINTS = Math.max(1, flag("endpoints", 10));
const ISO_MESSAGES = flag("iso-messages", 10_000);
const ISO_ENDPOINTS = Math.max(2, flag("iso-endpoints", 10));
const TIMEOUT_S = flag("timeout", 300);
const WARMUP_RUNS = 20;
const WARMUP_MESSAGES = 200;
/** The healthy endpoints' p99 may grow by this factor (noise) and still count as unmoved. */
const ISOLATION_TOLERANCE = 1.5;

// ---------------------------------------------------------------------------------------------
// Platform, clean-up, small helpers
// ---------------------------------------------------------------------------------------------

let platform: Platform | undefined;
let sql: postgres.Sql | undefined;
let stopping: Promise<void> | undefined;

function shutdown(): Promise<void> {
  stopping ??= (async () => {
    await receiverControl?.faults.clear().catch(() => {});
    await sql?.end({ timeout: 2 }).catch(() => {});
    await platform?.stop();
  })();
  return stopping;
}

stopOnSignals(shutdown);

let receiverControl: WebhookReceiverControl | undefined;
/** The control client of the bench platform's webhook receiver stand-in. */
const receiver = () =>
  receiverControl ??= webhookReceiverControl(platform!.standIns.webhook_receiver.url);

/** Prints rows as a table, the first column left-aligned, the others right-aligned. */
function table(head: string[], rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) =>
    "  " + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("   ");
  console.log(line(head));
  for (const r of cells) console.log(line(r));
}

/** Endpoints at the receiver (`/hooks/<prefix>-<n>`), subscribed to `eventType`, secrets given. */
async function endpointsAt(prefix: string, count: number, eventType: string) {
  const created: { id: string; hook: string }[] = [];
  for (let n = 1; n <= count; n++) {
    const hook = `${prefix}-${n}`;
    const { id, secret } = await createEndpoint(sql!, {
      url: receiver().hookUrl(hook),
      description: `Benchmark ${prefix} ${n}`,
      eventTypes: [eventType],
    });
    await receiver().setSecrets(hook, [secret]);
    created.push({ id, hook });
  }
  return created;
}

/**
 * Publishes `events` events of `eventType` in one transaction (one message per event and
 * subscribed endpoint); answers the messages created and when the transaction committed.
 */
async function publish(eventType: string, label: string, events: number) {
  const [row] = await sql!`
    select coalesce(sum(webhooks_internal.publish(
             ${eventType}, jsonb_build_object('n', n, 'label', ${label}::text),
             'evt_' || ${label}::text || '_' || n)), 0)::int as messages
    from generate_series(1, ${events}) n`;
  const committedAt = performance.now();
  // The database's clock at COMMIT: delivery times and the drain are measured against it, so
  // the polling below (every half second, to keep its cost off the figures) adds nothing.
  const [{ at }] = await sql!`select clock_timestamp() as at`;
  return { messages: row.messages as number, committedAt, committedAtDb: at as Date };
}

/** Seconds from `since` (the database's clock) to the last delivery to the endpoints. */
async function lastDeliveryAfter(endpointIds: string[], since: Date): Promise<number> {
  const [row] = await sql!`
    select extract(epoch from max(delivered_at) - ${since}::timestamptz)::float8 as s
    from public.webhook_messages where endpoint_id = any(${endpointIds}::uuid[])`;
  return Number(row.s);
}

/** Waits until the endpoints' messages are all delivered (or failed); answers the counts. */
async function drained(endpointIds: string[], expected: number, what: string) {
  return await waitFor(
    async () => {
      const [row] = await sql!`
      select count(*) filter (where status = 'delivered')::int as delivered,
             count(*) filter (where status = 'failed')::int as failed
      from public.webhook_messages where endpoint_id = any(${endpointIds}::uuid[])`;
      return row.delivered + row.failed >= expected
        ? { delivered: row.delivered as number, failed: row.failed as number }
        : undefined;
    },
    what,
    { timeoutMs: TIMEOUT_S * 1000, everyMs: 500 },
  );
}

/** Delivery times (created → delivered, ms) of the endpoints' delivered messages. */
async function deliveryTimes(endpointIds: string[]): Promise<number[]> {
  const rows = await sql!`
    select extract(epoch from delivered_at - created_at) * 1000 as ms
    from public.webhook_messages
    where endpoint_id = any(${endpointIds}::uuid[]) and status = 'delivered'`;
  return rows.map((r) => Number(r.ms));
}

/** The receiver's counts for the hooks: verified messages, duplicates, failed checks. */
async function receiverCounts(hooks: string[]) {
  const stats = (await receiver().endpoints()).filter((e) => hooks.includes(e.endpoint));
  return {
    received: stats.reduce((a, s) => a + s.received, 0),
    messages: stats.reduce((a, s) => a + s.messages, 0),
    duplicates: stats.reduce((a, s) => a + s.duplicates, 0),
    unverified: stats.reduce((a, s) => a + s.received - s.verified, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// 1. The overdue query
// ---------------------------------------------------------------------------------------------

/** Seeds the workshop: users, machines, `TICKETS` tickets, notifications. */
async function seedTickets() {
  await sql!`
    insert into public.workshop_users (full_name, email, role)
    select 'Technicien ' || n, 'bench-tech-' || n || '@atelier.example',
           case when n <= 2 then 'supervisor' when n <= 40 then 'technician' else 'operator' end
    from generate_series(1, 50) n`;
  await sql!`
    insert into public.machines (name, machine_type, model, serial_number, location, status)
    select 'Machine ' || n,
           (array['Table de découpe', 'Four de trempe', 'CNC', 'Polisseuse', 'Laveuse',
                  'Ligne d''assemblage', 'Perceuse'])[1 + n % 7],
           'Modèle ' || (n % 13), 'BENCH-SN-' || n, 'Atelier ' || chr(65 + n % 4), 'operational'
    from generate_series(1, 200) n`;
  // Statuses: 45% completed, 25% archived, 10% in progress, 5% waiting for parts, 8% received,
  // 7% in diagnostic. Open tickets are due from 3 days ago to 27 days ahead, finished ones in
  // the past year; one in ten open tickets is unassigned.
  await sql!`
    with u as (select array_agg(id order by email) as ids from public.workshop_users
               where email like 'bench-tech-%'),
         m as (select array_agg(id order by id) as ids from public.machines
               where serial_number like 'BENCH-SN-%'),
         g as (select n, (n * 7919) % 100 as bucket from generate_series(1, ${TICKETS}) n),
         s as (select n, bucket,
                      case when bucket < 45 then 'completed' when bucket < 70 then 'archived'
                           when bucket < 80 then 'in_progress' when bucket < 85 then 'waiting_parts'
                           when bucket < 93 then 'received' else 'diagnostic' end as status
               from g)
    insert into public.tickets (title, description, status, priority, machine_id, assigned_to,
                                created_by, scheduled_date, created_at)
    select 'Intervention ' || s.n, 'Ticket de maintenance n°' || s.n || '.', s.status,
           (array['low', 'medium', 'high', 'critical'])[1 + s.n % 4],
           m.ids[1 + s.n % array_length(m.ids, 1)],
           case when s.status in ('received', 'diagnostic') and s.n % 10 = 0 then null
                else u.ids[1 + s.n % array_length(u.ids, 1)] end,
           u.ids[1 + (s.n * 3) % array_length(u.ids, 1)],
           case when s.status in ('completed', 'archived')
                  then now() - ((s.n % 365) || ' days')::interval
                else now() + (((s.n * 31) % 43200) - 4320 || ' minutes')::interval end,
           now() - ((s.n % 400) || ' days')::interval
    from s, u, m`;
  // Two thirds of the overdue tickets were notified an hour ago (inside their window); one
  // finished ticket in ten has an old notification.
  await sql!`
    insert into public.webhook_notifications (ticket_id, notified_at, next_allowed_at, overdue_by,
                                              endpoint_count)
    select t.id, now() - interval '1 hour', now() + interval '23 hours',
           now() - interval '1 hour' - t.scheduled_date, 1
    from public.tickets t
    where t.title like 'Intervention %' and t.status in ('received', 'diagnostic')
      and t.assigned_to is not null and t.scheduled_date < now() - interval '1 hour'
      and t.id % 3 <> 0`;
  await sql!`
    insert into public.webhook_notifications (ticket_id, notified_at, next_allowed_at, overdue_by,
                                              endpoint_count)
    select t.id, t.scheduled_date + interval '1 day', t.scheduled_date + interval '2 days',
           interval '1 day', 1
    from public.tickets t
    where t.title like 'Intervention %' and t.status in ('completed', 'archived')
      and t.id % 10 = 0`;
  await sql!`analyze public.tickets`;
  await sql!`analyze public.webhook_notifications`;
  const [counts] = await sql!`
    select (select count(*)::int from public.tickets) as tickets,
           (select count(*)::int from public.tickets
            where status in ('received', 'diagnostic')) as open_statuses,
           (select count(*)::int from public.tickets
            where status in ('received', 'diagnostic') and assigned_to is not null
              and scheduled_date < now()) as past_due,
           (select count(*)::int from public.overdue_tickets) as overdue,
           (select count(*)::int from public.webhook_notifications) as notifications`;
  return counts;
}

/** Times `query` on one reserved connection, `RUNS` times after a warm-up; in ms. */
async function timeQuery(query: string): Promise<number[]> {
  const conn = await sql!.reserve();
  try {
    for (let i = 0; i < WARMUP_RUNS; i++) await conn.unsafe(query);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await conn.unsafe(query);
      times.push(performance.now() - started);
    }
    return times;
  } finally {
    conn.release();
  }
}

async function overdueSection() {
  const seeding = performance.now();
  const counts = await seedTickets();
  const seededS = (performance.now() - seeding) / 1000;
  const [subscribers] = await sql!`
    select count(*)::int as n from public.webhook_endpoints
    where enabled and (event_types is null or 'ticket.overdue' = any(event_types))`;
  const queries = [
    ["select count(*) from overdue_tickets", "select count(*) from public.overdue_tickets"],
    [
      "the rule: due_tickets(now(), 1000)",
      "select count(*) from workshop_internal.due_tickets(now(), 1000)",
    ],
    ["select workshop_check_overdue() (no subscriber)", "select public.workshop_check_overdue()"],
  ] as const;
  const results = [];
  for (const [label, query] of queries) {
    if (label.startsWith("select workshop") && subscribers.n > 0) continue;
    results.push({ label, summary: latencySummary(await timeQuery(query)) });
  }

  header(`1. OVERDUE: the overdue selection over ${int(counts.tickets)} tickets`);
  console.log(
    `  seeded in ${round(seededS, 1)} s: ${int(counts.open_statuses)} received or in ` +
      `diagnostic, ${int(counts.past_due)} of them assigned and past due, ` +
      `${int(counts.overdue)} overdue now (the others notified within 24 hours); ` +
      `${int(counts.notifications)} notifications`,
  );
  console.log(
    `  each query ${int(RUNS)} times on one connection after ${WARMUP_RUNS} warm-up runs ` +
      `(client round trip included):`,
  );
  table(
    ["query", "p50 ms", "p95 ms", "p99 ms", "max ms", "target p99 < 20 ms"],
    results.map(({ label, summary: s }) => [
      label,
      s.p50,
      s.p95,
      s.p99,
      s.max,
      verdict(s.p99 < 20),
    ]),
  );
  return Object.fromEntries(results.map((r) => [r.label, r.summary]));
}

// ---------------------------------------------------------------------------------------------
// 2. Throughput
// ---------------------------------------------------------------------------------------------

async function throughputSection() {
  const endpoints = await endpointsAt("tp", ENDPOINTS, "bench.throughput");
  const ids = endpoints.map((e) => e.id);
  const hooks = endpoints.map((e) => e.hook);
  // Warm-up: the worker runs, the function's connections have compiled the engine's SQL.
  const warm = await publish("bench.throughput", "warmup", Math.ceil(WARMUP_MESSAGES / ENDPOINTS));
  await drained(ids, warm.messages, "the warm-up messages to be delivered");
  const before = await receiverCounts(hooks);
  const [{ mark }] = await sql!`select now() as mark`;

  const events = Math.ceil(MESSAGES / ENDPOINTS);
  const publishStarted = performance.now();
  const { messages, committedAt, committedAtDb } = await publish("bench.throughput", "tp", events);
  const publishMs = committedAt - publishStarted;
  const done = await drained(ids, messages + warm.messages, `${messages} messages delivered`);
  const elapsedS = await lastDeliveryAfter(ids, committedAtDb);
  const after = await receiverCounts(hooks);
  const rows = await sql!`
    select extract(epoch from delivered_at - ${committedAtDb}::timestamptz) * 1000 as ms, attempts
    from public.webhook_messages
    where endpoint_id = any(${ids}::uuid[]) and status = 'delivered' and created_at >= ${mark}`;
  const times = latencySummary(rows.map((r) => Number(r.ms)));
  const retried = rows.filter((r) => r.attempts > 1).length;
  const perSecond = messages / elapsedS;

  header(
    `2. THROUGHPUT: ${int(messages)} messages to ${ENDPOINTS} endpoints at the receiver ` +
      `(${int(events)} events)`,
  );
  table(["measure", "value"], [
    ["publish (one transaction)", `${round(publishMs)} ms`],
    ["COMMIT → all delivered", `${round(elapsedS, 2)} s`],
    ["deliveries/s", `${int(perSecond)}   target ≥ 1,000/s: ${verdict(perSecond >= 1000)}`],
    ["delivery time after COMMIT p50 / p95 / p99 / max", ms(times)],
    ["delivered / failed (all runs)", `${int(done.delivered)} / ${int(done.failed)}`],
    ["messages retried", int(retried)],
    [
      "delivered more than 30 s after COMMIT",
      int(rows.filter((r) => Number(r.ms) > 30_000).length),
    ],
    ["receiver: new verified messages", int(after.messages - before.messages)],
    ["receiver: duplicates (same webhook-id)", int(after.duplicates - before.duplicates)],
    ["receiver: not verified", int(after.unverified - before.unverified)],
  ]);
  return {
    messages,
    endpoints: ENDPOINTS,
    publish_ms: round(publishMs),
    elapsed_s: round(elapsedS, 2),
    per_second: Math.round(perSecond),
    delivery_ms: times,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Isolation
// ---------------------------------------------------------------------------------------------

/**
 * One isolation run: `healthy` endpoints, plus one hanging endpoint when `withHang`; the
 * messages spread evenly over all of them. Answers the healthy endpoints' delivery times.
 */
async function isolationRun(label: string, withHang: boolean) {
  const eventType = `bench.${label.replaceAll("-", "_")}`;
  const healthyCount = ISO_ENDPOINTS - 1;
  const healthy = await endpointsAt(`${label}-ok`, healthyCount, eventType);
  const dead = withHang ? await endpointsAt(`${label}-dead`, 1, eventType) : [];
  if (dead.length) {
    await receiver().faults.add({ action: "hang", path: `/hooks/${dead[0].hook}`, fraction: 1 });
  }
  const perEndpoint = Math.ceil(ISO_MESSAGES / ISO_ENDPOINTS);
  const { messages, committedAtDb } = await publish(eventType, label, perEndpoint);
  const healthyIds = healthy.map((e) => e.id);
  await drained(healthyIds, perEndpoint * healthyCount, `the healthy messages of ${label}`);
  const elapsedS = await lastDeliveryAfter(healthyIds, committedAtDb);
  const times = latencySummary(await deliveryTimes(healthyIds));
  let deadState = "";
  if (dead.length) {
    const [row] = await sql!`
      select count(*) filter (where status = 'pending')::int as pending,
             count(*) filter (where status = 'delivered')::int as delivered,
             coalesce(sum(attempts), 0)::int as attempts
      from public.webhook_messages where endpoint_id = ${dead[0].id}`;
    deadState = `${row.pending} pending, ${row.delivered} delivered, ${row.attempts} attempts`;
    await receiver().faults.clear();
    // Its messages would keep retrying for hours: the endpoint goes (its messages with it).
    await sql!`delete from public.webhook_endpoints where id = ${dead[0].id}`;
  }
  return { label, messages, healthyCount, elapsedS, times, deadState };
}

async function isolationSection() {
  const baseline = await isolationRun("iso-base", false);
  const hung = await isolationRun("iso-hang", true);
  const ratio = hung.times.p99 / baseline.times.p99;
  header(
    `3. ISOLATION: ~${int(ISO_MESSAGES)} messages to ${ISO_ENDPOINTS} endpoints, one of ` +
      `which hangs, against the healthy endpoints alone`,
  );
  table(
    ["run", "messages", "healthy endpoints done in", "healthy p50", "p95", "p99", "max"],
    [baseline, hung].map((r) => [
      r.label === "iso-base" ? "healthy endpoints only" : "with one hanging endpoint",
      int(r.messages),
      `${round(r.elapsedS, 2)} s`,
      `${r.times.p50} ms`,
      `${r.times.p95} ms`,
      `${r.times.p99} ms`,
      `${r.times.max} ms`,
    ]),
  );
  console.log(
    `  healthy p99 with the hang / without: ${round(ratio, 2)}×   target ≤ ` +
      `${ISOLATION_TOLERANCE}× (does not move): ${verdict(ratio <= ISOLATION_TOLERANCE)}`,
  );
  console.log(`  hanging endpoint when the healthy ones were done: ${hung.deadState}`);
  return {
    baseline_ms: baseline.times,
    with_hang_ms: hung.times,
    p99_ratio: round(ratio, 2),
  };
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const results: Record<string, unknown> = {};
try {
  const started = performance.now();
  platform = await startPlatform("bench", { fresh: true, log: () => {} });
  sql = postgres(platform.cfg.dbUrl, { max: 4, onnotice: () => {} });
  console.log(
    `bench platform up in ${
      round((performance.now() - started) / 1000)
    } s (db ${platform.cfg.dbUrl}, webhook receiver ${platform.standIns.webhook_receiver.url})`,
  );
  if (run.has("overdue")) results.overdue = await overdueSection();
  if (run.has("throughput")) results.throughput = await throughputSection();
  if (run.has("isolation")) results.isolation = await isolationSection();
  console.log(`\ntotal ${round((performance.now() - started) / 1000)} s`);
  console.log(JSON.stringify(results));
} finally {
  await shutdown();
}
