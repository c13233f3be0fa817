/**
 * Fixtures for the shop's tests (issue 11: its automations, customer messages, admin alerts and
 * review replies), on the running test platform: customers, products and orders made by SQL
 * (live orders through the triggers, possibly dated in the past so that their reminders are due,
 * or history imported with past timestamps and no trigger), the shop's settings set for the test
 * and restored after (quiet hours off unless a test sets them, its own admins), the shop's
 * WhatsApp instance open on the Evolution stand-in (a user signs up, the instance is provisioned,
 * the stand-in scans it, as the demo does: done once per test run and kept; `instance: false`
 * leaves the shop without one), the pg_cron job `request-reviews` paused while the test runs,
 * the `shop` queue drained as pg_cron would, and waits on the audit log (`shop_messages` with
 * their jobs), the admin alerts (`shop_alerts`), the stand-in's sent messages and Resend's inbox.
 * `done()` removes the test's customers (their orders, carts and reviews with them) and products,
 * restores the settings and the stand-ins' behaviour, and closes the connection.
 *
 * ```ts
 * const t = await startShopTest();
 * try {
 *   const c = await t.customer({ language: "en" });
 *   const p = await t.product({ stock: 10 });
 *   const [order] = await t.pastOrders([{ customer: c, pickedUpAgo: "8 days", items: [[p, 1]] }]);
 *   await callRequestReviews();
 *   const msg = await t.waitForMessage(order, "review_request", "sent");
 *   const live = await t.order(c, { items: [[p, 2]] }); // confirmation, payment reminder
 *   const confirmation = await t.waitForMessage(live, "order_confirmation"); // sent, job done
 * } finally {
 *   await t.done();
 * }
 * ```
 */
import type postgres from "postgres";
import {
  type EvolutionControl,
  evolutionControl,
  type StoredMessage,
} from "../../scripts/platform/stand_ins/evolution/control.ts";
import {
  type ResendControl,
  resendControl,
  type StoredEmail,
} from "../../scripts/platform/stand_ins/resend/email.ts";
import { importOrders, openInstance } from "../../scripts/demo/shop.ts";
import { QUEUES } from "../../supabase/functions/_shared/jobs/queues.ts";
import { testSql } from "./db.ts";
import { waitFor, type WaitOptions } from "./wait.ts";

/** The tests' database client. */
export type Sql = postgres.Sql;

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.sh`);
  return value;
}

/** `<SUPABASE_URL>/functions/v1`. */
export const FUNCTIONS_URL = `${env("SUPABASE_URL")}/functions/v1`;
/** The `Authorization` header of pg_cron and of an outside scheduler. */
export const CRON_AUTH = `Bearer ${env("CRON_SECRET")}`;
/** The `Authorization` header of an operator calling by hand. */
export const SERVICE_AUTH = `Bearer ${env("SUPABASE_SERVICE_ROLE_KEY")}`;
/** The `Authorization` header of anyone holding the public anon key. */
export const ANON_AUTH = `Bearer ${env("SUPABASE_ANON_KEY")}`;
/** The control client of the test platform's Evolution stand-in. */
export const evolution: EvolutionControl = evolutionControl(env("EVOLUTION_API_BASE_URL"));
/** The control client of the test platform's Resend stand-in. */
export const resend: ResendControl = resendControl(env("RESEND_BASE_URL"));

/** The test user whose WhatsApp instance is the shop's (signed up once per test run). */
export const SHOP_TEST_USER_EMAIL = "shop-instance@la-boutique.test";

/** What a function answered. */
export interface FunctionAnswer {
  status: number;
  text: string;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/**
 * Calls the function `name` with `authorization` (none when null) and `body` (POST).
 *
 * @example
 * const { status, body } = await callFunction("request-reviews", CRON_AUTH, { trigger: "manual" });
 */
export async function callFunction(
  name: string,
  authorization: string | null = CRON_AUTH,
  body: unknown = {},
  method = "POST",
): Promise<FunctionAnswer> {
  const res = await fetch(`${FUNCTIONS_URL}/${name}`, {
    method,
    headers: {
      ...(authorization ? { authorization } : {}),
      ...(method === "POST" ? { "content-type": "application/json" } : {}),
    },
    body: method === "POST" ? (typeof body === "string" ? body : JSON.stringify(body)) : undefined,
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the text says what it was.
  }
  return { status: res.status, text, body: parsed };
}

/** Calls `request-reviews` as pg_cron does (cron secret), with `{trigger}` when given. */
export function callRequestReviews(
  trigger?: "schedule" | "manual",
  authorization: string | null = CRON_AUTH,
): Promise<FunctionAnswer> {
  return callFunction("request-reviews", authorization, trigger ? { trigger } : {});
}

/** A customer made by a test. */
export interface TestCustomer {
  id: string;
  name: string;
  whatsapp_number: string | null;
  email: string | null;
  language: "fr" | "en";
}

/** Options of {@link ShopTest.customer}. */
export interface CustomerOptions {
  name?: string;
  /** Digits; a unique random French mobile number by default; null: none. */
  whatsapp?: string | null;
  /** A unique address by default; null: none. */
  email?: string | null;
  language?: "fr" | "en";
  /** Consent to messages (default true). */
  consent?: boolean;
  /** A number the stand-in refuses as not on WhatsApp (one ending in 0000). */
  notOnWhatsApp?: boolean;
}

/** A product made by a test. */
export interface TestProduct {
  id: number;
  name: string;
  price_cents: number;
}

/** Options of {@link ShopTest.product}. */
export interface ProductOptions {
  name?: string;
  /** The price in cents (default 1250). */
  priceCents?: number;
  /** The stock (default 100). */
  stock?: number;
  /** The low-stock alert threshold (default 5). */
  threshold?: number;
}

/** An order line: the product and the quantity. */
export type Line = [TestProduct, number];

/** Options of {@link ShopTest.order} (a live order, through the triggers). */
export interface LiveOrderOptions {
  /** The order's lines (default: one of a new product). */
  items?: Line[];
  /** The status it is moved to after its insert (pending by default: no update). */
  status?: "pending" | "paid" | "preparing" | "ready_pickup" | "picked_up" | "cancelled";
  /**
   * The payment status it is inserted with (default: pending when `status` is pending or
   * cancelled, paid otherwise).
   */
  paymentStatus?: "pending" | "paid" | "failed";
  /** Its `created_at` (default now): in the past, the reminders counted from it fall due sooner. */
  createdAt?: Date;
}

/** An order imported as history (past timestamps, no trigger, no message). */
export interface PastOrder {
  customer: TestCustomer;
  /** Status picked_up with `picked_up_at = now() - pickedUpAgo` (e.g. "8 days"). */
  pickedUpAgo?: string;
  status?: "pending" | "paid" | "preparing" | "ready_pickup" | "picked_up" | "cancelled";
  paymentStatus?: "pending" | "paid" | "failed";
  /** `created_at` before now (default: a day before the pickup, or "1 hour"). */
  createdAgo?: string;
  items?: Line[];
}

/** A row of `shop_messages`, with the state and result of its job. */
export type MessageRow = postgres.Row & {
  id: string;
  order_id: number;
  kind: string;
  status: string;
  channel: string | null;
  scheduled_for: Date;
  sent_at: Date | null;
  attempts: number;
  provider_message_id: string | null;
  fallback_reason: string | null;
  error: string | null;
  cancel_reason: string | null;
  job_id: number | null;
  job_state: string | null;
  job_result: Record<string, unknown> | null;
};

/** A row of `shop_alerts`, with the state and result of its job. */
export type AlertRow = postgres.Row & {
  id: number;
  kind: string;
  status: string;
  deliveries: {
    channel: string;
    to: string;
    status: string;
    provider_id: string | null;
    error: string | null;
  }[];
  job_state: string | null;
  job_result: Record<string, unknown> | null;
};

/** The settings a test may change (columns of `shop_settings`). */
export type SettingsPatch = Partial<{
  shop_name: string;
  time_zone: string;
  review_delay: string;
  review_hour: string;
  quiet_start: string;
  quiet_end: string;
  admin_emails: string[];
  admin_whatsapp_numbers: string[];
  admin_language: "fr" | "en";
  whatsapp_instance: string | null;
  reply_window: string;
  cart_lifetime: string;
}>;

/** Options of {@link startShopTest}. */
export interface ShopTestOptions {
  /** False: the shop has no WhatsApp instance (every message goes by email). Default true. */
  instance?: boolean;
}

/** One test's shop. */
export interface ShopTest {
  /** The test's database connection (superuser; closed by `done()`). */
  sql: Sql;
  /** A short unique tag of the test's data. */
  tag: string;
  /** The shop's WhatsApp instance (open on the stand-in); null when the test asked for none. */
  instance: string | null;
  /** The admins set at the start: one email, one WhatsApp number (see `admins()`). */
  defaultAdmins: { email: string; whatsapp: string };
  /** A customer (removed by `done()`, with their orders). */
  customer(opts?: CustomerOptions): Promise<TestCustomer>;
  /** A product (removed by `done()`). */
  product(opts?: ProductOptions): Promise<TestProduct>;
  /**
   * A live order, in one transaction: inserted with its payment status and `created_at` (the
   * triggers schedule its confirmation and payment reminder), its items added, then moved to
   * `status` unless pending. Answers its id.
   */
  order(customer: TestCustomer, opts?: LiveOrderOptions): Promise<number>;
  /** Orders imported as history (no trigger, no message); answers their ids in order. */
  pastOrders(orders: PastOrder[]): Promise<number[]>;
  /** Changes the shop's settings (restored by `done()`). */
  settings(patch: SettingsPatch): Promise<void>;
  /** Sets the admins to alert and their language (restored by `done()`). */
  admins(emails: string[], numbers: string[], language?: "fr" | "en"): Promise<void>;
  /** The order's messages with their jobs, oldest first. */
  messages(orderId: number): Promise<MessageRow[]>;
  /** The order's message of `kind` with its job, if any. */
  message(orderId: number, kind: string): Promise<MessageRow | undefined>;
  /**
   * Waits until the order's message of `kind` has one of `statuses`, or, without `statuses`,
   * until it is no longer scheduled and its job has finished (succeeded, dead or cancelled);
   * drains the queue meanwhile.
   */
  waitForMessage(
    orderId: number,
    kind: string,
    statuses?: string | string[],
    opts?: WaitOptions,
  ): Promise<MessageRow>;
  /** Waits until the alert is no longer pending and its job has finished; drains meanwhile. */
  waitForAlert(alertId: number, opts?: WaitOptions): Promise<AlertRow>;
  /** Wakes the `shop` queue's worker when a job is due (as pg_cron does every minute). */
  drain(): Promise<void>;
  /**
   * WhatsApp messages sent to `number`, oldest first: by the shop's instance, or by any
   * instance when the shop has none.
   */
  sentTo(number: string): Promise<StoredMessage[]>;
  /** Waits until at least `count` messages were sent to `number` (see `sentTo`). */
  waitForWhatsApp(number: string, count?: number, opts?: WaitOptions): Promise<StoredMessage[]>;
  /** Emails the Resend stand-in holds for `address`, oldest first. */
  emailsTo(address: string): Promise<StoredEmail[]>;
  /**
   * Removes the test's data, restores the settings and the cron job, clears the stand-ins'
   * faults and not-on-WhatsApp numbers, closes the connection.
   */
  done(): Promise<void>;
}

/** A random French mobile number (11 digits, not ending in 0000 unless asked). */
export function randomNumber(notOnWhatsApp = false): string {
  const digits = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b % 10).join("");
  const number = `336${digits}`;
  if (notOnWhatsApp) return `${number.slice(0, 7)}0000`;
  return number.endsWith("0000") ? `${number.slice(0, 10)}1` : number;
}

/**
 * Opens the shop's WhatsApp instance for the tests (a user signed up once per test run; their
 * instance provisioned and scanned on the stand-in, by the demo's `openInstance`) and answers
 * its name. A later call finds it open and answers at once.
 */
export async function shopInstance(sql: Sql): Promise<string> {
  const [user] = await sql<{ id: string }[]>`
    with made as (
      insert into auth.users (email, raw_user_meta_data)
      select ${SHOP_TEST_USER_EMAIL}, ${sql.json({ full_name: "Boutique (tests)" })}
      where not exists (select from auth.users where email = ${SHOP_TEST_USER_EMAIL})
      returning id)
    select id from made
    union all select id from auth.users where email = ${SHOP_TEST_USER_EMAIL}
    limit 1`;
  return await openInstance(sql, evolution, user.id, { timeoutMs: 30_000 });
}

/**
 * Sets up one test's shop (see the module's description): the instance open and set (none with
 * `instance: false`), quiet hours off, the test's own admins. `done()` in `finally`.
 */
export async function startShopTest(opts: ShopTestOptions = {}): Promise<ShopTest> {
  const sql = testSql();
  const tag = crypto.randomUUID().slice(0, 8);
  const customerIds: string[] = [];
  const productIds: number[] = [];
  const orderIds: number[] = [];
  let saved: SettingsPatch | undefined;
  let cronPaused = false;
  const defaultAdmins = { email: `admin-${tag}@la-boutique.test`, whatsapp: randomNumber() };

  async function cleanUp() {
    try {
      await evolution.faults.clear().catch(() => {});
      await evolution.setNotOnWhatsApp([]).catch(() => {});
      await resend.faults.clear().catch(() => {});
      // Scheduled messages of the test's orders must not run after their orders are gone.
      await sql`
        select public.job_cancel(j.id, 'test over')
        from public.shop_messages m join jobs.jobs j on j.id = m.job_id
          join public.orders o on o.id = m.order_id
        where (o.id = any(${orderIds}::bigint[]) or o.customer_id = any(${customerIds}::uuid[]))
          and j.state in ('waiting', 'retrying')`;
      await sql`delete from public.orders where id = any(${orderIds}::bigint[])`;
      await sql`delete from public.orders where customer_id = any(${customerIds}::uuid[])`;
      await sql`delete from public.carts where customer_id = any(${customerIds}::uuid[])`;
      await sql`delete from public.customers where id = any(${customerIds}::uuid[])`;
      await sql`delete from public.order_items where product_id = any(${productIds}::bigint[])`;
      await sql`delete from public.products where id = any(${productIds}::bigint[])`;
      if (saved) await settings(saved);
    } finally {
      if (cronPaused) {
        await sql`update cron.job set active = true where jobname = 'request-reviews'`
          .catch(() => {});
      }
      await sql.end();
    }
  }

  async function settings(patch: SettingsPatch) {
    for (const [column, value] of Object.entries(patch)) {
      await sql`update public.shop_settings set ${
        sql({ [column]: value } as Record<string, never>)
      }`;
    }
  }

  async function messages(orderId: number): Promise<MessageRow[]> {
    return await sql<MessageRow[]>`
      select m.id, m.order_id::int, m.kind, m.status, m.channel, m.scheduled_for, m.sent_at,
             m.attempts, m.provider_message_id, m.fallback_reason, m.error, m.cancel_reason,
             m.job_id::int, j.state as job_state, j.result as job_result
      from public.shop_messages m left join jobs.jobs j on j.id = m.job_id
      where m.order_id = ${orderId} order by m.created_at, m.kind`;
  }

  try {
    await evolution.faults.clear();
    await resend.faults.clear();
    // The cron job must not request reviews of the test's orders between its steps.
    const paused = await sql`
      update cron.job set active = false where jobname = 'request-reviews' and active
      returning jobid`;
    cronPaused = paused.length > 0;
    const [current] = await sql<SettingsPatch[]>`
      select shop_name, time_zone, review_delay::text, review_hour::text, quiet_start::text,
             quiet_end::text, admin_emails, admin_whatsapp_numbers, admin_language,
             whatsapp_instance, reply_window::text, cart_lifetime::text
      from shop_internal.settings()`;
    saved = { ...current };
    const instance = opts.instance === false ? null : await shopInstance(sql);
    await settings({
      whatsapp_instance: instance,
      quiet_start: "00:00",
      quiet_end: "00:00",
      admin_emails: [defaultAdmins.email],
      admin_whatsapp_numbers: [defaultAdmins.whatsapp],
    });

    const t: ShopTest = {
      sql,
      tag,
      instance,
      defaultAdmins,
      async customer(opts = {}) {
        const n = customerIds.length + 1;
        const number = opts.whatsapp === undefined
          ? randomNumber(opts.notOnWhatsApp)
          : opts.whatsapp;
        const email = opts.email === undefined ? `client-${tag}-${n}@example.test` : opts.email;
        const [row] = await sql<TestCustomer[]>`
          insert into public.customers (name, whatsapp_number, email, language, consent_messages)
          values (${opts.name ?? `Client ${tag} ${n}`}, ${number}, ${email},
                  ${opts.language ?? "fr"}, ${opts.consent ?? true})
          returning id, name, whatsapp_number, email, language`;
        customerIds.push(row.id);
        return row;
      },
      async product(opts = {}) {
        const [row] = await sql<TestProduct[]>`
          insert into public.products (name, price_cents, stock, low_stock_threshold)
          values (${opts.name ?? `Produit ${tag} ${productIds.length + 1}`},
                  ${opts.priceCents ?? 1250}, ${opts.stock ?? 100}, ${opts.threshold ?? 5})
          returning id::int, name, price_cents`;
        productIds.push(row.id);
        return row;
      },
      async order(customer, opts = {}) {
        const items = opts.items ?? [[await t.product(), 1]];
        const status = opts.status ?? "pending";
        const payment = opts.paymentStatus ??
          (status === "pending" || status === "cancelled" ? "pending" : "paid");
        return await sql.begin(async (tx) => {
          const [order] = await tx<{ id: number }[]>`
            insert into public.orders (customer_id, payment_status, created_at)
            values (${customer.id}, ${payment}, coalesce(${
            opts.createdAt ?? null
          }::timestamptz, now()))
            returning id::int`;
          orderIds.push(order.id);
          for (const [product, quantity] of items) {
            await tx`insert into public.order_items (order_id, product_id, quantity)
                     values (${order.id}, ${product.id}, ${quantity})`;
          }
          if (status !== "pending") {
            await tx`update public.orders set status = ${status} where id = ${order.id}`;
          }
          return order.id;
        }) as number;
      },
      async pastOrders(orders) {
        const withItems: PastOrder[] = [];
        for (const o of orders) {
          withItems.push({ ...o, items: o.items ?? [[await t.product(), 1]] });
        }
        const ids = await importOrders(
          sql,
          withItems.map((o) => {
            const status = o.status ?? (o.pickedUpAgo ? "picked_up" : "pending");
            return {
              customer_id: o.customer.id,
              status,
              payment_status: o.paymentStatus ?? (status === "pending" ? "pending" : "paid"),
              created_ago: o.createdAgo ?? (o.pickedUpAgo ? null : "1 hour"),
              picked_up_ago: status === "picked_up" ? o.pickedUpAgo ?? "8 days" : null,
              items: o.items!.map(([p, quantity]) => ({ product_id: p.id, quantity })),
            };
          }),
        );
        orderIds.push(...ids);
        return ids;
      },
      settings,
      async admins(emails, numbers, language = "fr") {
        await settings({
          admin_emails: emails,
          admin_whatsapp_numbers: numbers,
          admin_language: language,
        });
      },
      messages,
      async message(orderId, kind) {
        return (await messages(orderId)).find((m) => m.kind === kind);
      },
      async waitForMessage(orderId, kind, statuses, opts = {}) {
        const wanted = typeof statuses === "string" ? [statuses] : statuses;
        return await waitFor(async () => {
          await t.drain();
          const row = await t.message(orderId, kind);
          if (!row) return undefined;
          if (wanted) return wanted.includes(row.status) ? row : undefined;
          if (row.status === "scheduled") return undefined;
          return ["succeeded", "dead", "cancelled"].includes(row.job_state ?? "") ? row : undefined;
        }, {
          timeoutMs: 20_000,
          intervalMs: 50,
          what: `the ${kind} message of order ${orderId} ${
            wanted ? `in status ${wanted.join(" or ")}` : "done with its job"
          }`,
          ...opts,
        });
      },
      async waitForAlert(alertId, opts = {}) {
        return await waitFor(async () => {
          await t.drain();
          const [row] = await sql<AlertRow[]>`
            select a.id::int, a.kind, a.status, a.deliveries, j.state as job_state,
                   j.result as job_result
            from public.shop_alerts a left join jobs.jobs j on j.id = a.job_id
            where a.id = ${alertId}`;
          if (!row || row.status === "pending") return undefined;
          return ["succeeded", "dead"].includes(row.job_state ?? "") ? row : undefined;
        }, { timeoutMs: 20_000, intervalMs: 50, what: `alert ${alertId} sent`, ...opts });
      },
      async drain() {
        await sql`select jobs.drain(${QUEUES.shop.name})`;
      },
      async sentTo(number) {
        const sent = await evolution.sentMessages(instance ?? undefined);
        return sent.filter((m) => m.number === number).reverse();
      },
      async waitForWhatsApp(number, count = 1, opts = {}) {
        return await waitFor(async () => {
          await t.drain();
          const sent = await t.sentTo(number);
          return sent.length >= count ? sent : undefined;
        }, {
          timeoutMs: 20_000,
          intervalMs: 50,
          what: `${count} WhatsApp message(s) from ${instance ?? "any instance"} to ${number}`,
          ...opts,
        });
      },
      async emailsTo(address) {
        return (await resend.list({ to: address, limit: 1000 })).reverse();
      },
      done: cleanUp,
    };
    return t;
  } catch (error) {
    await cleanUp().catch(() => {});
    throw error;
  }
}
