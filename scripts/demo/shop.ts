/**
 * The shop's demo in the dev command (issue 11, the seed's shop that sells through WhatsApp):
 * seeds, idempotently, customers (French and English speakers, one whose number is not on
 * WhatsApp, one with an email only, one without consent), products with stock and low-stock
 * thresholds, carts (some expired), orders in every state (some picked up more than 7 days ago,
 * so that a review request is due), and the shop's settings (admins to alert by email and
 * WhatsApp, and the shop's WhatsApp instance, which the demo opens on the Evolution stand-in: a
 * shop user signs up, its instance is provisioned, and the demo scans its code as a phone would).
 *
 * Orders older than a day are imported as history (inserted with the triggers off, as a data
 * import would: no confirmation goes out for a ten-day-old order); recent ones go through the
 * triggers as in production (confirmations, reminders). A second run adds nothing (customers by
 * number or email, products by name, orders and carts only when the demo customers have none).
 *
 * It then prints the statements that run the automations now and how to answer a review request
 * as a customer on the stand-in's page. Tests reuse its helpers (`openInstance`, `importOrder`).
 */
import type postgres from "postgres";
import type { DemoContext, DemoText, FlowDemo } from "./demo.ts";
import {
  type EvolutionControl,
  evolutionControl,
} from "../platform/stand_ins/evolution/control.ts";

type Sql = postgres.Sql;

/** The shop's user: signs up, and their WhatsApp instance is the shop's. */
export const SHOP_USER = {
  id: "7d1f0c3e-0000-4000-8000-000000000501",
  email: "boutique@la-boutique.example",
  fullName: "La Boutique",
};

/** The admins the shop alerts (a low review, a low stock, dead jobs). */
export const SHOP_ADMINS = {
  emails: ["gerante@la-boutique.example"],
  whatsappNumbers: ["33612999999"],
};

/** A customer of the demo. */
export interface DemoCustomer {
  name: string;
  whatsapp_number: string | null;
  email: string | null;
  language: "fr" | "en";
  consent_messages: boolean;
}

/**
 * The demo's customers. Léa's number ends in 0000: the stand-in answers it is not on WhatsApp
 * (her messages fall back to email). Jules has an email only; Inès did not consent to messages.
 */
export const DEMO_CUSTOMERS: readonly DemoCustomer[] = [
  {
    name: "Camille Dubois",
    whatsapp_number: "33612000001",
    email: "camille.dubois@example.com",
    language: "fr",
    consent_messages: true,
  },
  {
    name: "Hugo Lambert",
    whatsapp_number: "33612000002",
    email: null,
    language: "fr",
    consent_messages: true,
  },
  {
    name: "Emma Wilson",
    whatsapp_number: "447700900123",
    email: "emma.wilson@example.co.uk",
    language: "en",
    consent_messages: true,
  },
  {
    name: "Noah Smith",
    whatsapp_number: "447700900456",
    email: null,
    language: "en",
    consent_messages: true,
  },
  {
    name: "Léa Moreau",
    whatsapp_number: "33612340000",
    email: "lea.moreau@example.com",
    language: "fr",
    consent_messages: true,
  },
  {
    name: "Jules Petit",
    whatsapp_number: null,
    email: "jules.petit@example.com",
    language: "fr",
    consent_messages: true,
  },
  {
    name: "Inès Garnier",
    whatsapp_number: "33612000007",
    email: null,
    language: "fr",
    consent_messages: false,
  },
];

/** The customer who answers the review request on the stand-in's page. */
export const REVIEWER = DEMO_CUSTOMERS[0];

/** A product of the demo. */
export interface DemoProduct {
  name: string;
  price_cents: number;
  stock: number;
  low_stock_threshold: number;
}

/** The demo's products: the lavender honey is one order away from its threshold. */
export const DEMO_PRODUCTS: readonly DemoProduct[] = [
  { name: "Savon au lait d'ânesse", price_cents: 650, stock: 40, low_stock_threshold: 5 },
  { name: "Bougie parfumée à la figue", price_cents: 1800, stock: 12, low_stock_threshold: 5 },
  { name: "Miel de lavande 250 g", price_cents: 990, stock: 6, low_stock_threshold: 5 },
  { name: "Confiture d'abricot", price_cents: 550, stock: 30, low_stock_threshold: 5 },
  { name: "Huile d'olive 50 cl", price_cents: 1400, stock: 0, low_stock_threshold: 3 },
  { name: "Carnet en lin", price_cents: 1200, stock: 20, low_stock_threshold: 4 },
];

/** An order of the demo. */
export interface DemoOrder {
  /** The customer's name. */
  customer: string;
  status: "pending" | "paid" | "preparing" | "ready_pickup" | "picked_up" | "cancelled";
  payment_status: "pending" | "paid" | "failed";
  /** `created_at` as an interval before now. */
  created_ago: string;
  /** When it was picked up, as an interval before now (picked_up orders). */
  picked_up_ago?: string;
  items: { product: string; quantity: number }[];
}

const SOAP = DEMO_PRODUCTS[0].name;
const CANDLE = DEMO_PRODUCTS[1].name;
const HONEY = DEMO_PRODUCTS[2].name;
const JAM = DEMO_PRODUCTS[3].name;
const NOTEBOOK = DEMO_PRODUCTS[5].name;

/**
 * The demo's orders, in every state. Five were picked up 7+ days ago (one of them 12 days ago,
 * which a daily window of "7 days ± 1 hour" would have skipped for good): four get a review
 * request (two by WhatsApp, two by email), Inès's is skipped (no consent).
 */
export const DEMO_ORDERS: readonly DemoOrder[] = [
  {
    customer: "Camille Dubois",
    status: "picked_up",
    payment_status: "paid",
    created_ago: "11 days",
    picked_up_ago: "10 days",
    items: [{ product: SOAP, quantity: 2 }, { product: JAM, quantity: 1 }],
  },
  {
    customer: "Emma Wilson",
    status: "picked_up",
    payment_status: "paid",
    created_ago: "9 days",
    picked_up_ago: "8 days",
    items: [{ product: CANDLE, quantity: 1 }],
  },
  {
    customer: "Léa Moreau",
    status: "picked_up",
    payment_status: "paid",
    created_ago: "10 days",
    picked_up_ago: "9 days",
    items: [{ product: NOTEBOOK, quantity: 1 }, { product: SOAP, quantity: 1 }],
  },
  {
    customer: "Jules Petit",
    status: "picked_up",
    payment_status: "paid",
    created_ago: "8 days",
    picked_up_ago: "7 days 2 hours",
    items: [{ product: JAM, quantity: 3 }],
  },
  {
    customer: "Inès Garnier",
    status: "picked_up",
    payment_status: "paid",
    created_ago: "13 days",
    picked_up_ago: "12 days",
    items: [{ product: CANDLE, quantity: 2 }],
  },
  {
    customer: "Hugo Lambert",
    status: "picked_up",
    payment_status: "paid",
    created_ago: "3 days",
    picked_up_ago: "2 days",
    items: [{ product: NOTEBOOK, quantity: 1 }],
  },
  {
    customer: "Noah Smith",
    status: "cancelled",
    payment_status: "failed",
    created_ago: "4 days",
    items: [{ product: SOAP, quantity: 1 }],
  },
  {
    customer: "Noah Smith",
    status: "ready_pickup",
    payment_status: "paid",
    created_ago: "3 hours",
    items: [{ product: CANDLE, quantity: 1 }, { product: JAM, quantity: 2 }],
  },
  {
    customer: "Hugo Lambert",
    status: "preparing",
    payment_status: "paid",
    created_ago: "2 hours",
    items: [{ product: SOAP, quantity: 3 }],
  },
  {
    customer: "Camille Dubois",
    status: "paid",
    payment_status: "paid",
    created_ago: "1 hour",
    items: [{ product: HONEY, quantity: 1 }],
  },
  {
    customer: "Emma Wilson",
    status: "pending",
    payment_status: "pending",
    created_ago: "30 minutes",
    items: [{ product: NOTEBOOK, quantity: 2 }],
  },
];

/** A cart of the demo. */
export interface DemoCart {
  /** The customer's name; null for an anonymous cart. */
  customer: string | null;
  /** `created_at` as an interval before now. */
  created_ago: string;
  items: { product: string; quantity: number }[];
}

/** Carts: those created more than 24 hours ago are expired (the cleanup deletes them). */
export const DEMO_CARTS: readonly DemoCart[] = [
  { customer: "Hugo Lambert", created_ago: "2 days", items: [{ product: HONEY, quantity: 2 }] },
  { customer: null, created_ago: "30 hours", items: [{ product: SOAP, quantity: 1 }] },
  { customer: null, created_ago: "3 days", items: [{ product: CANDLE, quantity: 1 }] },
  { customer: "Emma Wilson", created_ago: "1 hour", items: [{ product: JAM, quantity: 1 }] },
  { customer: null, created_ago: "10 minutes", items: [{ product: NOTEBOOK, quantity: 1 }] },
];

/** Runs the review requests now, as pg_cron does once a day at the review hour. */
export const REQUEST_REVIEWS_STATEMENT =
  "select jobs.call_function('request-reviews', '{}', 'manual');";
/** Deletes the expired carts now, as pg_cron does every hour. */
export const CLEAN_CARTS_STATEMENT =
  "select jobs.call_function('clean-expired-carts', '{}', 'manual');";
/** Computes the daily analytics now. */
export const ANALYTICS_STATEMENT = "select shop_compute_analytics();";
/** Turns quiet hours off (proactive messages otherwise wait for their end). */
export const NO_QUIET_HOURS_STATEMENT =
  "update shop_settings set quiet_start = '00:00', quiet_end = '00:00';";
/** What to watch in psql: the review requests and the messages. */
export const WATCH_STATEMENTS = [
  "select * from shop_review_request_status;",
  "select * from reviews;",
  "select kind, status, details from shop_alerts order by id desc limit 5;",
];

/** Polls `probe` every 100 ms until it answers something; throws after `timeoutMs`. */
async function until<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Options of {@link openInstance}. */
export interface OpenInstanceOptions {
  /** How long to wait for the provisioning, then for the scan to be seen (default 20 s). */
  timeoutMs?: number;
  /** The phone number the stand-in gives the connected instance. */
  number?: string;
}

/**
 * Waits until the user's WhatsApp instance is provisioned, scans its code on the stand-in as a
 * phone would (unless it is open already) and waits until the database sees it open; answers
 * its name. The `evolution` queue is drained meanwhile (as pg_cron would, every minute).
 *
 * @throws {Error} when the instance is not provisioned or not seen open in time, or the
 *   stand-in no longer holds it (it keeps no instances across restarts).
 */
export async function openInstance(
  sql: Sql,
  control: EvolutionControl,
  userId: string,
  opts: OpenInstanceOptions = {},
): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const row = async () => {
    const [r] = await sql<{ instance_name: string; status: string; instance_status: string }[]>`
      select instance_name, status, instance_status from public.evolution_instances
      where user_id = ${userId}`;
    return r;
  };
  const created = await until(
    async () => {
      await sql`select jobs.drain('evolution')`;
      const r = await row();
      return r?.status === "created" ? r : undefined;
    },
    `the WhatsApp instance of user ${userId}`,
    timeoutMs,
  );
  const name = created.instance_name;
  if (created.instance_status === "open") return name;
  if (!(await control.instance(name))) {
    throw new Error(
      `The Evolution stand-in no longer holds instance ${name} of user ${userId} ` +
        "(it keeps no instances across restarts)",
    );
  }
  // The creation's events (connecting, the first code) must reach the database before the
  // scan's, which Evolution posts at once and in no set order.
  await until(
    async () => {
      const deliveries = await control.webhookDeliveries(name);
      return deliveries.length && deliveries.every((d) => d.state !== "pending") ? true : undefined;
    },
    `the creation events of instance ${name}`,
    timeoutMs,
  );
  if ((await control.instance(name))?.state !== "open") {
    await control.scan(name, opts.number ? { number: opts.number } : {});
  }
  await until(
    async () => (await row())?.instance_status === "open" ? true : undefined,
    `instance ${name} seen open by the database`,
    timeoutMs,
  );
  return name;
}

/** An order to insert as history: its timestamps are given, no trigger runs. */
export interface ImportedOrder {
  customer_id: string;
  status: DemoOrder["status"];
  payment_status: DemoOrder["payment_status"];
  /** `created_at` as an interval before now; null: a day before the pickup (or now). */
  created_ago: string | null;
  /** `picked_up_at` as an interval before now (picked_up orders). */
  picked_up_ago?: string | null;
  items: { product_id: number; quantity: number }[];
}

/**
 * Inserts orders as a data import would: with the triggers off (`session_replication_role =
 * replica`, in one transaction), so no message is scheduled and no stock moves; `total_cents`,
 * `unit_price_cents` and the state timestamps are computed here. Answers the new ids in order.
 */
export async function importOrders(sql: Sql, orders: ImportedOrder[]): Promise<number[]> {
  if (orders.length === 0) return [];
  return await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const rows = await tx<{ id: number }[]>`
      with input as (
        select o.ord, o.customer_id, o.status, o.payment_status,
               coalesce(now() - o.created_ago::interval,
                        now() - o.picked_up_ago::interval - interval '1 day',
                        now()) as created_at,
               now() - o.picked_up_ago::interval as picked_up_at
        from jsonb_to_recordset(${tx.json(orders.map((o, ord) => ({ ...o, ord })))})
          as o(ord int, customer_id uuid, status text, payment_status text, created_ago text,
               picked_up_ago text)
      ),
      totals as (
        select (o->>'ord')::int as ord,
               sum((i->>'quantity')::int * p.price_cents)::int as total_cents
        from jsonb_array_elements(${tx.json(orders.map((o, ord) => ({ ...o, ord })))}) o
        cross join jsonb_array_elements(o->'items') i
        join public.products p on p.id = (i->>'product_id')::bigint
        group by 1
      )
      insert into public.orders (customer_id, status, payment_status, total_cents, created_at,
                                 paid_at, ready_at, picked_up_at, cancelled_at, updated_at)
      select i.customer_id, i.status, i.payment_status, coalesce(t.total_cents, 0), i.created_at,
             case when i.payment_status = 'paid' then i.created_at + interval '5 minutes' end,
             case when i.status = 'picked_up' then i.picked_up_at - interval '1 day' end,
             i.picked_up_at,
             case when i.status = 'cancelled' then i.created_at + interval '1 day' end,
             coalesce(i.picked_up_at, i.created_at)
      from input i left join totals t using (ord)
      order by i.ord
      returning id::int`;
    const items = orders.flatMap((o, n) => o.items.map((it) => ({ order_id: rows[n].id, ...it })));
    if (items.length) {
      await tx`
        insert into public.order_items (order_id, product_id, quantity, unit_price_cents)
        select i.order_id, i.product_id, i.quantity, p.price_cents
        from jsonb_to_recordset(${tx.json(items)})
          as i(order_id bigint, product_id bigint, quantity int)
        join public.products p on p.id = i.product_id`;
    }
    return rows.map((r) => r.id);
  }) as number[];
}

/** What the demo seeded and found. */
export interface ShopSeed {
  customers: number;
  products: number;
  orders: number;
  carts: number;
  expiredCarts: number;
  /** Demo orders picked up at least the review delay ago, without a request yet. */
  dueForReview: number;
}

/**
 * Inserts the demo's customers, products, orders and carts that are not there yet (see the
 * module's description); answers how many of each exist now.
 */
export async function seedShop(sql: Sql): Promise<ShopSeed> {
  await sql`
    insert into public.customers (name, whatsapp_number, email, language, consent_messages)
    select c.name, c.whatsapp_number, c.email, c.language, c.consent_messages
    from jsonb_to_recordset(${sql.json(DEMO_CUSTOMERS as unknown as postgres.JSONValue)})
      as c(name text, whatsapp_number text, email text, language text, consent_messages boolean)
    where not exists (select from public.customers x
                      where x.whatsapp_number = c.whatsapp_number
                         or lower(x.email) = lower(c.email))`;
  await sql`
    insert into public.products (name, price_cents, stock, low_stock_threshold)
    select p.name, p.price_cents, p.stock, p.low_stock_threshold
    from jsonb_to_recordset(${sql.json(DEMO_PRODUCTS as unknown as postgres.JSONValue)})
      as p(name text, price_cents int, stock int, low_stock_threshold int)
    where not exists (select from public.products x where x.name = p.name)`;
  const customers = new Map(
    (await demoCustomers(sql)).map((c) => [c.name, c.id]),
  );
  const products = new Map(
    (await sql<{ id: number; name: string }[]>`
      select id::int, name from public.products
      where name = any(${DEMO_PRODUCTS.map((p) => p.name)})`).map((p) => [p.name, p.id]),
  );
  const ids = [...customers.values()];
  const [{ has_orders, has_carts }] = await sql`
    select exists (select from public.orders where customer_id = any(${ids}::uuid[])) as has_orders,
           exists (select from public.carts c join public.cart_items i on i.cart_id = c.id
                   where i.product_id = any(${[...products.values()]}::bigint[])) as has_carts`;
  if (!has_orders) {
    const items = (o: DemoOrder | DemoCart) =>
      o.items.map((i) => ({ product_id: products.get(i.product)!, quantity: i.quantity }));
    // History: picked up or cancelled days ago.
    const history = DEMO_ORDERS.filter((o) => o.status === "picked_up" || o.status === "cancelled");
    await importOrders(
      sql,
      history.map((o) => ({
        customer_id: customers.get(o.customer)!,
        status: o.status,
        payment_status: o.payment_status,
        created_ago: o.created_ago,
        picked_up_ago: o.picked_up_ago ?? null,
        items: items(o),
      })),
    );
    // Live: created pending, then moved on, through the triggers (messages, stock).
    for (const o of DEMO_ORDERS.filter((o) => !history.includes(o))) {
      await sql.begin(async (tx) => {
        const [order] = await tx<{ id: number }[]>`
          insert into public.orders (customer_id, created_at)
          values (${customers.get(o.customer)!}, now() - ${o.created_ago}::interval)
          returning id::int`;
        for (const item of items(o)) {
          await tx`insert into public.order_items (order_id, product_id, quantity)
                   values (${order.id}, ${item.product_id}, ${item.quantity})`;
        }
        if (o.status !== "pending" || o.payment_status !== "pending") {
          await tx`update public.orders
                   set status = ${o.status}, payment_status = ${o.payment_status}
                   where id = ${order.id}`;
        }
      });
    }
  }
  if (!has_carts) {
    for (const c of DEMO_CARTS) {
      await sql.begin(async (tx) => {
        const [cart] = await tx<{ id: string }[]>`
          insert into public.carts (customer_id, created_at)
          values (${c.customer ? customers.get(c.customer)! : null},
                  now() - ${c.created_ago}::interval)
          returning id`;
        // Expiry as the shop's cart lifetime gives it, from the cart's (past) creation.
        await tx`update public.carts
                 set expires_at = created_at + (select cart_lifetime from shop_internal.settings())
                 where id = ${cart.id}`;
        for (const item of c.items) {
          await tx`insert into public.cart_items (cart_id, product_id, quantity)
                   values (${cart.id}, ${products.get(item.product)!}, ${item.quantity})`;
        }
      });
    }
  }
  const [row] = await sql<ShopSeed[]>`
    select (select count(*)::int from public.customers where id = any(${ids}::uuid[])) as customers,
           (select count(*)::int from public.products
            where name = any(${DEMO_PRODUCTS.map((p) => p.name)})) as products,
           (select count(*)::int from public.orders
            where customer_id = any(${ids}::uuid[])) as orders,
           (select count(distinct c.id)::int from public.carts c
            join public.cart_items i on i.cart_id = c.id
            where i.product_id = any(${[...products.values()]}::bigint[])) as carts,
           (select count(distinct c.id)::int from public.carts c
            join public.cart_items i on i.cart_id = c.id
            where i.product_id = any(${[...products.values()]}::bigint[])
              and c.expires_at <= now()) as "expiredCarts",
           (select count(*)::int from public.orders o
            where o.customer_id = any(${ids}::uuid[]) and o.status = 'picked_up'
              and o.picked_up_at <= now() - (select review_delay from shop_internal.settings())
              and not exists (select from public.review_requests r where r.order_id = o.id)
              and not exists (select from public.reviews v where v.order_id = o.id))
             as "dueForReview"`;
  return row;
}

/** The demo's customers as stored (name and id). */
export async function demoCustomers(sql: Sql): Promise<{ id: string; name: string }[]> {
  return await sql<{ id: string; name: string }[]>`
    select id, name from public.customers
    where whatsapp_number = any(${DEMO_CUSTOMERS.flatMap((c) => c.whatsapp_number ?? [])})
       or lower(email) = any(${DEMO_CUSTOMERS.flatMap((c) => c.email?.toLowerCase() ?? [])})`;
}

/** Signs up the shop's user (once): the triggers provision their WhatsApp instance. */
export async function ensureShopUser(sql: Sql): Promise<void> {
  await sql`
    insert into auth.users (id, email, email_confirmed_at, raw_user_meta_data)
    select ${SHOP_USER.id}::uuid, ${SHOP_USER.email}, now(),
           ${sql.json({ full_name: SHOP_USER.fullName })}
    where not exists (select from auth.users where id = ${SHOP_USER.id}::uuid)`;
}

/** Sets the shop's admins and, when given, its WhatsApp instance. */
export async function configureShop(sql: Sql, instance: string | null): Promise<void> {
  await sql`select shop_internal.settings()`;
  await sql`
    update public.shop_settings
    set admin_emails = ${SHOP_ADMINS.emails}::text[],
        admin_whatsapp_numbers = ${SHOP_ADMINS.whatsappNumbers}::text[],
        whatsapp_instance = coalesce(${instance}, whatsapp_instance)`;
}

/** The quiet hours as set, and whether now is inside them. */
async function quietHours(
  sql: Sql,
): Promise<{ start: string; end: string; quiet: boolean; zone: string }> {
  const [row] = await sql<{ start: string; end: string; quiet: boolean; zone: string }[]>`
    select to_char(s.quiet_start, 'HH24:MI') as start, to_char(s.quiet_end, 'HH24:MI') as end,
           shop_internal.quiet_until(now()) > now() as quiet, s.time_zone as zone
    from shop_internal.settings() s`;
  return row;
}

/** How to try the shop's automations. */
export function shopDemoText(
  evolutionUrl: string,
  resendUrl: string,
  instance: string | null,
  quiet: { start: string; end: string; quiet: boolean; zone: string },
): string {
  const quietLine = quiet.quiet
    ? `     It is now inside the shop's quiet hours (${quiet.start}-${quiet.end}, ${quiet.zone}):
     the requests wait for ${quiet.end}. To see them now, turn quiet hours off first:
       ${NO_QUIET_HOURS_STATEMENT}\n`
    : "";
  const where = instance ? `the conversation of instance ${instance}` : "the shop's conversation";
  return `Try the shop's automations, in psql:
  1. Ask for the reviews now (pg_cron does it daily at the review hour, 10:00 shop time): four
     orders picked up 7+ days ago get a request (two by WhatsApp, two by email), the one of a
     customer without consent is skipped; running it again requests nothing more:
       ${REQUEST_REVIEWS_STATEMENT}
${quietLine}     Delete the expired carts (pg_cron: hourly), compute the daily analytics:
       ${CLEAN_CARTS_STATEMENT}
       ${ANALYTICS_STATEMENT}
  2. Open the Evolution stand-in's page, ${evolutionUrl}/, and in ${where}
     type "2" as customer ${REVIEWER.whatsapp_number} (${REVIEWER.name}): the review appears,
     the customer gets a thank-you, and the low-review alert lands in the inbox,
     ${resendUrl}/ (and on WhatsApp for ${SHOP_ADMINS.whatsappNumbers[0]}). In psql:
       ${WATCH_STATEMENTS.join("\n       ")}
`;
}

/** The shop's instance: provisioned, scanned and set in the settings; or why not. */
async function prepareInstance(ctx: DemoContext): Promise<{ name: string | null; note: string }> {
  const control = evolutionControl(ctx.platform.standIns.evolution.url);
  try {
    await ensureShopUser(ctx.sql);
    const name = await openInstance(ctx.sql, control, SHOP_USER.id, { number: "33612888888" });
    return { name, note: `the shop's WhatsApp instance ${name} is open` };
  } catch (error) {
    return {
      name: null,
      note: `the shop's WhatsApp instance is not open (${
        error instanceof Error ? error.message : String(error)
      }; bash scripts/dev.sh --reset provisions it again), so messages go by email`,
    };
  }
}

/** The shop's demo. */
export const shopDemo: FlowDemo = {
  flow: "shop",
  async run(ctx: DemoContext): Promise<DemoText> {
    const instance = await prepareInstance(ctx);
    await configureShop(ctx.sql, instance.name);
    const seeded = await seedShop(ctx.sql);
    return {
      check: `Shop check: ${seeded.customers} customers, ${seeded.products} products, ` +
        `${seeded.orders} orders (${seeded.dueForReview} picked up 7+ days ago without a request), ` +
        `${seeded.carts} carts (${seeded.expiredCarts} expired); ${instance.note}.`,
      tryIt: shopDemoText(
        ctx.platform.standIns.evolution.url,
        ctx.platform.standIns.resend.url,
        instance.name,
        await quietHours(ctx.sql),
      ),
    };
  },
};
