/**
 * Shop automations benchmark (issue 11; a script that prints figures, not a test).
 *
 *   bash scripts/bench.sh shop [requests] [replies]
 *     [--orders 10000] [--rate 5] [--timeout 3600] [--replies 200]
 *
 * On a fresh `bench` platform, the shop's WhatsApp instance opened on the Evolution stand-in
 * (a user signs up, the stand-in scans its code) and quiet hours off, it measures:
 *   1. requests: `--orders` orders picked up 8 days ago (one customer each, on WhatsApp),
 *      imported as history; one `request-reviews` call asks them all; the messages go through
 *      the `shop` queue and the WhatsApp sender, paced at `--rate` messages per second per
 *      instance (EVOLUTION_SEND_RATE), while the stand-in admits `--rate` requests per second
 *      (its kit rate limit; 429 beyond):
 *      the call's time, the time until every request is sent, messages per second against the
 *      limit, and proof that none is lost or doubled (the stand-in's sent messages counted per
 *      number: each customer got exactly one);
 *   2. replies: `--replies` customers with a sent request each answer "2" on the stand-in, one
 *      after another: the time from the customer's message to the review stored, and to the
 *      low-review alert accepted by the Resend stand-in (p50/p95/p99, target p99 < 1 s).
 * With no section named, both run. Ctrl-C stops the platform.
 */
import postgres from "postgres";
import { flag, header, int, ms, round, sections, stopOnSignals, verdict, waitFor } from "./cli.ts";
import { type Platform, startPlatform } from "../platform/start.ts";
import { epochMs, latencySummary } from "./stats.ts";
import {
  type EvolutionControl,
  evolutionControl,
} from "../platform/stand_ins/evolution/control.ts";
import { type ResendControl, resendControl } from "../platform/stand_ins/resend/email.ts";
import { openInstance } from "../demo/shop.ts";

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const SECTIONS = ["requests", "replies"] as const;
const run = sections(SECTIONS);

const ORDERS = flag("orders", 10_000);
const REPLIES = flag("replies", 200);
const TIMEOUT_S = flag("timeout", 3600);
/** Messages per second: the stand-in's limit and the sender's pace (EVOLUTION_SEND_RATE). */
const RATE = flag("rate", 5);
/** The bench's admin, alerted by email (no WhatsApp admin: alerts go at the email's pace). */
const ADMIN_EMAIL = "gerante@bench-shop.example";

// ---------------------------------------------------------------------------------------------
// Platform
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
let evolution: EvolutionControl;
let resend: ResendControl;
let instance: string;

/** Signs up the shop's user, opens its instance on the stand-in, sets the shop's settings. */
async function openShop(db: postgres.Sql): Promise<string> {
  const [user] = await db`
    insert into auth.users (email, raw_user_meta_data)
    values ('shop@bench-shop.example', '{"full_name": "Bench shop"}') returning id`;
  const name = await openInstance(db, evolution, user.id, { timeoutMs: 60_000 });
  await db`select shop_internal.settings()`;
  await db`
    update public.shop_settings
    set whatsapp_instance = ${name}, quiet_start = '00:00', quiet_end = '00:00',
        admin_emails = ${[ADMIN_EMAIL]}::text[], admin_whatsapp_numbers = '{}'`;
  // The daily cron run must not take the bench's orders first.
  await db`update cron.job set active = false where jobname = 'request-reviews'`;
  return name;
}

/**
 * Makes `count` customers (numbers `<prefix><n, 7 digits>1`) with one order each, picked up 8
 * days ago, imported as history (no trigger); answers their numbers.
 */
async function dueOrders(db: postgres.Sql, prefix: string, count: number): Promise<string[]> {
  return await db.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const [product] = await tx`
      insert into public.products (name, price_cents, stock)
      values (${`Savon (bench ${prefix})`}, 650, 1000000) returning id`;
    const customers = await tx`
      insert into public.customers (name, whatsapp_number, language, consent_messages)
      select 'Client ' || n, ${prefix} || lpad(n::text, 7, '0') || '1',
             case when n % 3 = 0 then 'en' else 'fr' end, true
      from generate_series(1, ${count}) n
      returning id, whatsapp_number`;
    await tx`
      insert into public.orders (customer_id, status, payment_status, total_cents, created_at,
                                 paid_at, ready_at, picked_up_at, updated_at)
      select c.id, 'picked_up', 'paid', 650, now() - interval '9 days',
             now() - interval '9 days', now() - interval '8 days 2 hours',
             now() - interval '8 days', now() - interval '8 days'
      from public.customers c where c.id = any(${customers.map((c) => c.id)}::uuid[])`;
    await tx`
      insert into public.order_items (order_id, product_id, quantity, unit_price_cents)
      select o.id, ${product.id}, 1, 650 from public.orders o
      where o.customer_id = any(${customers.map((c) => c.id)}::uuid[])`;
    return customers.map((c) => c.whatsapp_number as string);
  }) as string[];
}

/** Calls `request-reviews` as pg_cron does; answers its body. */
async function requestReviews(): Promise<Record<string, number | string | boolean>> {
  const res = await fetch(`${platform!.cfg.apiUrl}/functions/v1/request-reviews`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${platform!.env.CRON_SECRET}`,
      "content-type": "application/json",
    },
    body: "{}",
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`request-reviews answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** How the review_request messages of a set of customers stand. */
interface RequestStates {
  sent: number;
  failed: number;
  total: number;
  first: Date | null;
  last: Date | null;
}

/** The review requests of customers whose number starts with `prefix`, by status. */
async function requestStates(db: postgres.Sql, prefix: string): Promise<RequestStates> {
  const [row] = await db<RequestStates[]>`
    select count(*) filter (where m.status = 'sent')::int as sent,
           count(*) filter (where m.status in ('failed', 'skipped', 'cancelled'))::int as failed,
           count(*)::int as total,
           min(m.sent_at) as first, max(m.sent_at) as last
    from public.shop_messages m join public.customers c on c.id = m.customer_id
    where m.kind = 'review_request' and c.whatsapp_number like ${prefix + "%"}`;
  return row;
}

/** The stand-in's sent messages of the shop's instance, counted per number. */
async function sentPerNumber(): Promise<Map<string, number>> {
  const sent = await evolution.list({ direction: "outgoing", instance, limit: 100_000 });
  const counts = new Map<string, number>();
  for (const m of sent) counts.set(m.number, (counts.get(m.number) ?? 0) + 1);
  return counts;
}

// ---------------------------------------------------------------------------------------------
// 1. Review requests
// ---------------------------------------------------------------------------------------------

async function requestsSection() {
  const db = sql!;
  const pace = Number(platform!.env.EVOLUTION_SEND_RATE);
  const rate = RATE;
  await evolution.rateLimit.set(rate);
  const prefix = "3361";
  const numbers = await dueOrders(db, prefix, ORDERS);
  const statsBefore = await evolution.stats();
  const started = performance.now();
  const answer = await requestReviews();
  const callMs = performance.now() - started;
  let last: RequestStates = { sent: 0, failed: 0, total: 0, first: null, last: null };
  let lastPrint = performance.now();
  await waitFor(
    async () => {
      last = await requestStates(db, prefix);
      if (performance.now() - lastPrint > 30_000) {
        lastPrint = performance.now();
        console.log(`  … ${int(last.sent)} of ${int(ORDERS)} sent`);
      }
      return last.sent + last.failed >= ORDERS ? last : undefined;
    },
    `${ORDERS} review requests sent`,
    { timeoutMs: TIMEOUT_S * 1000, everyMs: 1000 },
  ).catch(
    (error) => console.log(`  ${error.message}: ${last.sent} sent, ${last.failed} failed`),
  );
  const seconds = (performance.now() - started) / 1000;
  const states = await requestStates(db, prefix);
  const sendSeconds = states.first && states.last
    ? (states.last.getTime() - states.first.getTime()) / 1000
    : NaN;
  const counts = await sentPerNumber();
  const lost = numbers.filter((n) => !counts.has(n)).length;
  const doubled = numbers.filter((n) => (counts.get(n) ?? 0) > 1).length;
  const stats = await evolution.stats();
  const [jobs] = await db`
    select count(*) filter (where state = 'dead')::int as dead,
           count(*) filter (where attempts > 1)::int as retried,
           coalesce(max(attempts), 0)::int as highest
    from jobs.jobs where queue = 'shop'`;
  const perSecond = states.sent / sendSeconds;
  const ok = lost === 0 && doubled === 0 && states.sent === ORDERS && jobs.dead === 0;

  header(`1. REQUESTS: ${int(ORDERS)} orders due for a review, one request-reviews call`);
  console.log(
    `  stand-in limit ${rate} req/s per key; the sender paces at EVOLUTION_SEND_RATE ${pace}/s ` +
      `per instance`,
  );
  console.log(
    `  request-reviews answered in ${round(callMs)} ms: ${JSON.stringify(answer)}`,
  );
  console.log(
    `  all sent after ${round(seconds)} s; first → last send ${round(sendSeconds)} s: ` +
      `${round(perSecond, 2)} messages/s = ${round((perSecond / rate) * 100)}% of the limit`,
  );
  console.log(
    `  stand-in: ${int(stats.requests_received - statsBefore.requests_received)} requests, ` +
      `${int(stats.requests_rate_limited - statsBefore.requests_rate_limited)} answered 429; ` +
      `jobs: ${jobs.retried} retried (highest attempt ${jobs.highest}), ${jobs.dead} dead`,
  );
  console.log(
    `  integrity: ${yesNo(ok)} (${int(states.sent)} sent, ${states.failed} failed; ` +
      `stand-in: ${int(numbers.length - lost)} customers got a message, ${lost} none, ` +
      `${doubled} more than one)`,
  );
  return {
    orders: ORDERS,
    limit: rate,
    pace,
    call_ms: round(callMs),
    seconds: round(seconds),
    per_second: round(perSecond, 2),
    lost,
    doubled,
    integrity: ok,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Reply → review → alert
// ---------------------------------------------------------------------------------------------

async function repliesSection() {
  const db = sql!;
  // Requests first, at full speed: this section measures replies, not the rate limit.
  await evolution.rateLimit.set(1000);
  const prefix = "3362";
  const numbers = await dueOrders(db, prefix, REPLIES);
  await requestReviews();
  await waitFor(
    async () => {
      const s = await requestStates(db, prefix);
      return s.sent >= REPLIES ? s : undefined;
    },
    `${REPLIES} review requests sent`,
    { timeoutMs: 600_000, everyMs: 500 },
  );
  const toReview: number[] = [];
  const toAlert: number[] = [];
  let missing = 0;
  for (const number of numbers) {
    const [order] = await db`
      select o.id from public.orders o join public.customers c on c.id = o.customer_id
      where c.whatsapp_number = ${number}`;
    const t0 = epochMs();
    await evolution.customerMessage(instance, { from: number, text: "2 bof, emballage abîmé" });
    try {
      const review = await waitFor(
        async () => {
          const [r] = await db`
          select id, extract(epoch from created_at) * 1000 as at from public.reviews
          where order_id = ${order.id}`;
          return r;
        },
        `the review of order ${order.id}`,
        { timeoutMs: 10_000 },
      );
      toReview.push(Math.max(0, Number(review.at) - t0));
      const alert = await waitFor(
        async () => {
          const [a] = await db`
          select status, deliveries from public.shop_alerts
          where kind = 'low_review' and subject = ${`review:${review.id}`}
            and status <> 'pending'`;
          return a;
        },
        `the alert of review ${review.id}`,
        { timeoutMs: 10_000 },
      );
      // deno-lint-ignore no-explicit-any
      const email = (alert.deliveries as any[]).find((d) => d.channel === "email");
      if (!email?.provider_id) throw new Error(`alert ${JSON.stringify(alert)} has no email`);
      const stored = await resend.get(email.provider_id);
      toAlert.push(Date.parse(stored.created_at) - t0);
    } catch (error) {
      missing++;
      console.log(`  ${error instanceof Error ? error.message : error}`);
    }
  }
  const review = latencySummary(toReview);
  const alert = latencySummary(toAlert);
  header(`2. REPLIES: ${REPLIES} customers answer "2" on the stand-in, one after another`);
  console.log(`  customer's message → review stored p50/p95/p99/max: ${ms(review)}`);
  console.log(
    `  customer's message → alert accepted by Resend p50/p95/p99/max: ${ms(alert)}   ` +
      `target p99 < 1 s: ${verdict(alert.p99 < 1000)}`,
  );
  console.log(`  integrity: ${yesNo(missing === 0)} (${missing} reply(ies) without review/alert)`);
  return { replies: REPLIES, review_ms: review, alert_ms: alert, missing };
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const results: Record<string, unknown> = {};
try {
  const started = performance.now();
  platform = await startPlatform("bench", {
    fresh: true,
    log: () => {},
    env: { EVOLUTION_SEND_RATE: String(RATE) },
  });
  sql = postgres(platform.cfg.dbUrl, { max: 8, onnotice: () => {} });
  evolution = evolutionControl(platform.standIns.evolution.url);
  resend = resendControl(platform.standIns.resend.url);
  instance = await openShop(sql);
  console.log(
    `bench platform up in ${round((performance.now() - started) / 1000)} s ` +
      `(db ${platform.cfg.dbUrl}); the shop's instance ${instance} is open on the stand-in`,
  );
  if (run.has("requests")) results.requests = await requestsSection();
  if (run.has("replies")) results.replies = await repliesSection();
  console.log(`\ntotal ${round((performance.now() - started) / 1000)} s`);
  console.log(JSON.stringify(results));
} finally {
  await shutdown();
}
