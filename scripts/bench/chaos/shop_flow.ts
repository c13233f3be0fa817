/**
 * The chaos check's `shop` scenario (issue 11): `due` orders picked up 8 days ago (imported as
 * history) whose review requests are asked by two `shop_request_reviews` runs at the same moment
 * (as two overlapping cron runs would), and `live` orders created in one transaction (each
 * schedules its confirmation at once). Every message goes through the `shop` queue and the
 * WhatsApp sender to the shop's instance on the Evolution stand-in, while the check kills
 * `process-shop-queue` and restarts Postgres, with the stand-in answering a `throttled` share of
 * the instance's sends 429 with `retry-after: 1` and a `slow` share only after `slowMs` (so that
 * kills find sends in flight).
 *
 * Each order has its own customer, and only one of its messages is due (the review request, or
 * the confirmation; the payment reminders wait a day), so counting the stand-in's sent messages
 * per number counts them per `shop_messages` key. Items are those messages; one is delivered
 * when its customer got it, lost when not, twice when the customer got more than one (plus any
 * order asked for a review twice, which the schema forbids).
 */
import { evolutionControl } from "../../platform/stand_ins/evolution/control.ts";
import { openInstance } from "../../demo/shop.ts";
import type { ChaosContext, ChaosFlow, Tally } from "./flow.ts";

/** Options of {@link shopFlow}. */
export interface ShopFlowOptions {
  /** Orders due for a review request. */
  due: number;
  /** Orders created in the burst (a confirmation each). */
  live: number;
  /** Share of the instance's sends answered 429 with `retry-after: 1` (0: none). */
  throttled: number;
  /** Share of the instance's sends answered late, after `slowMs` (0: none). */
  slow: number;
  slowMs: number;
}

/** Number prefixes of the scenario's customers: due orders, live orders. */
const DUE_PREFIX = "3363";
const LIVE_PREFIX = "3364";

/** The shop scenario. */
export function shopFlow(opts: ShopFlowOptions): ChaosFlow {
  let instance = "";
  let productId = 0;
  let liveCustomers: string[] = [];
  const control = (ctx: ChaosContext) => evolutionControl(ctx.platform.standIns.evolution.url);

  return {
    name: "shop",
    queues: ["shop"],

    async prepare(ctx) {
      const { db } = ctx;
      const evolution = control(ctx);
      const [user] = await db`
        insert into auth.users (email, raw_user_meta_data)
        values ('shop@chaos-shop.example', '{"full_name": "Chaos shop"}') returning id`;
      instance = await openInstance(db, evolution, user.id, { timeoutMs: 120_000 });
      await db`select shop_internal.settings()`;
      await db`
        update public.shop_settings
        set whatsapp_instance = ${instance}, quiet_start = '00:00', quiet_end = '00:00',
            admin_emails = '{}', admin_whatsapp_numbers = '{}'`;
      await db`update cron.job set active = false where jobname = 'request-reviews'`;
      const path = `/message/sendText/${instance}`;
      if (opts.throttled > 0) {
        await evolution.faults.add({
          action: "status",
          status: 429,
          retry_after: 1,
          fraction: opts.throttled,
          random: true,
          path,
        });
      }
      if (opts.slow > 0) {
        await evolution.faults.add({
          action: "delay",
          delay_ms: opts.slowMs,
          fraction: opts.slow,
          random: true,
          path,
        });
      }
      await db.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        const [product] = await tx`
          insert into public.products (name, price_cents, stock)
          values ('Savon (chaos)', 650, 1000000) returning id::int`;
        productId = product.id;
        await tx`
          with c as (
            insert into public.customers (name, whatsapp_number, consent_messages)
            select 'Client chaos ' || n, ${DUE_PREFIX} || lpad(n::text, 7, '0') || '1', true
            from generate_series(1, ${opts.due}) n
            returning id),
          o as (
            insert into public.orders (customer_id, status, payment_status, total_cents,
                                       created_at, paid_at, ready_at, picked_up_at, updated_at)
            select c.id, 'picked_up', 'paid', 650, now() - interval '9 days',
                   now() - interval '9 days', now() - interval '8 days 2 hours',
                   now() - interval '8 days', now() - interval '8 days'
            from c returning id)
          insert into public.order_items (order_id, product_id, quantity, unit_price_cents)
          select o.id, ${productId}, 1, 650 from o`;
      });
      const rows = await db`
        insert into public.customers (name, whatsapp_number, language, consent_messages)
        select 'Client chaos live ' || n, ${LIVE_PREFIX} || lpad(n::text, 7, '0') || '1',
               case when n % 2 = 0 then 'en' else 'fr' end, true
        from generate_series(1, ${opts.live}) n
        returning id`;
      liveCustomers = rows.map((r) => r.id as string);
    },

    async burst({ db, note }) {
      const live = db.begin(async (tx) => {
        const orders = await tx`
          insert into public.orders (customer_id)
          select unnest(${liveCustomers}::uuid[]) returning id`;
        await tx`
          insert into public.order_items (order_id, product_id, quantity)
          select unnest(${orders.map((o) => o.id)}::bigint[]), ${productId}, 1`;
      });
      // Two runs at once, as two overlapping cron runs: each order is asked once.
      const runs = await Promise.all(
        [1, 2].map(() => db`select public.shop_request_reviews() as answer`),
      );
      await live;
      note(
        `shop: ${opts.live} orders created; two concurrent review runs asked ${
          runs.map(([r]) => r.answer.sent).join(" and ")
        }`,
      );
    },

    async tally(ctx): Promise<Tally> {
      const { db } = ctx;
      const evolution = control(ctx);
      const messages = await db`
        select c.whatsapp_number as number, m.kind, m.status, m.attempts
        from public.shop_messages m join public.customers c on c.id = m.customer_id
        where (c.whatsapp_number like ${DUE_PREFIX + "%"} and m.kind = 'review_request')
           or (c.whatsapp_number like ${LIVE_PREFIX + "%"} and m.kind = 'order_confirmation')`;
      const [requests] = await db`
        select count(*)::int as requests, count(distinct r.order_id)::int as orders
        from public.review_requests r join public.customers c on c.id = r.customer_id
        where c.whatsapp_number like ${DUE_PREFIX + "%"}`;
      const sent = await evolution.list({ direction: "outgoing", instance, limit: 100_000 });
      const perNumber = new Map<string, number>();
      for (const m of sent) perNumber.set(m.number, (perNumber.get(m.number) ?? 0) + 1);
      const wanted = [
        ...Array.from(
          { length: opts.due },
          (_, i) => `${DUE_PREFIX}${`${i + 1}`.padStart(7, "0")}1`,
        ),
        ...Array.from(
          { length: opts.live },
          (_, i) => `${LIVE_PREFIX}${`${i + 1}`.padStart(7, "0")}1`,
        ),
      ];
      const delivered = wanted.filter((n) => perNumber.has(n)).length;
      const twice = wanted.filter((n) => (perNumber.get(n) ?? 0) > 1).length;
      const byStatus = new Map<string, number>();
      for (const m of messages) {
        const key = `${m.kind} ${m.status}`;
        byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
      }
      const [jobs] = await db`
        select count(*) filter (where state = 'dead')::int as dead,
               count(*) filter (where attempts > 1)::int as reclaimed,
               coalesce(max(attempts), 0)::int as highest
        from jobs.jobs where queue = 'shop'`;
      const stats = await evolution.stats();
      await db`update cron.job set active = true where jobname = 'request-reviews'`;
      return {
        items: wanted.length,
        delivered,
        lost: wanted.length - delivered,
        twice: twice + (requests.requests - requests.orders),
        dead: jobs.dead,
        details: [
          `shop: ${opts.due} orders due for a review (${requests.orders} asked), ${opts.live} ` +
          `orders created; messages: ${
            [...byStatus].map(([k, n]) => `${n} ${k}`).join(", ") || "none"
          }; ${jobs.reclaimed} job(s) ran more than once, highest attempt ${jobs.highest}.`,
          `shop: Evolution stand-in (${Math.round(opts.throttled * 100)}% of the shop's sends ` +
          `answered 429, ${Math.round(opts.slow * 100)}% after ${opts.slowMs} ms): ` +
          `${sent.length} messages sent by ${instance}, ${twice} customer(s) got more than one; ` +
          `${stats.requests_faulted} requests faulted in all.`,
        ],
      };
    },
  };
}
