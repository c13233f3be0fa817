/**
 * Fixtures for the shop sender's tests on the running test platform: the shop's WhatsApp
 * instance made open (a user signed up, their instance created by the provisioning flow, its code
 * scanned on the Evolution stand-in), settings without quiet hours, customers, products and
 * orders inserted by SQL (orders may be dated in the past so that reminders are due), and waits
 * on what the `shop` worker did (messages recorded, their jobs finished), waking the worker as
 * the cron drain would.
 *
 * ```ts
 * const t = await startShopSenderTest();
 * try {
 *   const customer = await t.customer({ whatsapp: true });
 *   const order = await t.order(customer, [{ product, quantity: 2 }]);
 *   const message = await t.waitForMessage(order, "order_confirmation");
 * } finally {
 *   await t.done(); // restores the settings and the stand-ins, closes the connection
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
import { QUEUES } from "../../supabase/functions/_shared/jobs/queues.ts";
import { testSql } from "./db.ts";
import { waitFor, type WaitOptions } from "./wait.ts";
import { instanceRow, queueRow, signUp } from "./whatsapp.ts";

export type Sql = postgres.Sql;
export type { StoredEmail, StoredMessage };

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.sh`);
  return value;
}

/** The Evolution API stand-in's control client. */
export const evolution: EvolutionControl = evolutionControl(env("EVOLUTION_API_BASE_URL"));
/** The Resend stand-in's control client. */
export const resend: ResendControl = resendControl(env("RESEND_BASE_URL"));

/** A customer inserted by a test. */
export interface Customer {
  id: string;
  name: string;
  whatsapp_number: string | null;
  email: string | null;
  language: "fr" | "en";
}

/** A product inserted by a test. */
export interface Product {
  id: number;
  name: string;
  price_cents: number;
}

/** A `shop_messages` row as the tests read it. */
export type MessageRow = postgres.Row & {
  id: string;
  kind: string;
  status: string;
  channel: string | null;
  fallback_reason: string | null;
  error: string | null;
  cancel_reason: string | null;
  provider_message_id: string | null;
  job_id: string | null;
  job_state: string | null;
  job_result: Record<string, unknown> | null;
};

/** A random WhatsApp number (digits, country code 33) that the stand-in accepts. */
export function randomNumber(): string {
  const digits = Array.from({ length: 8 }, () => Math.floor(Math.random() * 10)).join("");
  // Numbers ending in 0000 are "not on WhatsApp" on the stand-in: end in 1 instead.
  return `336${digits.slice(0, 7)}1`;
}

/** What `jobs.drain` does from pg_cron: wakes the `shop` worker when a job is claimable. */
export async function drainShop(sql: Sql): Promise<void> {
  await sql`select jobs.drain(${QUEUES.shop.name})`;
}

/**
 * Makes the shop's WhatsApp instance open, reusing one open from an earlier test: a user signs
 * up, the provisioning flow creates their instance, the phone scans it on the stand-in, and the
 * shop's settings name it. Returns the instance's name.
 */
export async function openShopInstance(sql: Sql): Promise<string> {
  const [current] = await sql<{ name: string | null }[]>`
    select shop_internal.open_instance() as name`;
  if (current.name) return current.name;
  const user = await signUp(sql, "Shop Owner");
  const created = await waitFor(async () => {
    await sql`select jobs.drain(${QUEUES.evolution.name})`;
    const row = await instanceRow(sql, user.id);
    if (row?.status !== "created" || row.instance_status !== "connecting") return undefined;
    return (await queueRow(sql, user.id))?.status === "completed" ? row : undefined;
  }, { timeoutMs: 20_000, intervalMs: 100, what: `the instance of user ${user.id}` });
  await evolution.scan(created.instance_name, { number: randomNumber(), profileName: "Shop" });
  await waitFor(async () => (await instanceRow(sql, user.id))?.instance_status === "open", {
    timeoutMs: 10_000,
    intervalMs: 50,
    what: `instance ${created.instance_name} open`,
  });
  await sql`update public.shop_settings set whatsapp_instance = ${created.instance_name}`;
  return created.instance_name;
}

/** One test's connection, fixtures and waits. */
export interface ShopSenderTest {
  sql: Sql;
  /** The shop's open instance (null when the test asked for none). */
  instance: string | null;
  customer(opts?: {
    whatsapp?: boolean;
    email?: boolean;
    language?: "fr" | "en";
    name?: string;
    consent?: boolean;
  }): Promise<Customer>;
  product(opts?: { name?: string; price_cents?: number; stock?: number }): Promise<Product>;
  /** Inserts an order with its items (one transaction): the triggers schedule its messages. */
  order(
    customer: Customer,
    items: { product: Product; quantity: number }[],
    opts?: { created_at?: Date; payment_status?: string },
  ): Promise<number>;
  /** The order's message of `kind`, with its job's state and result. */
  message(orderId: number, kind: string): Promise<MessageRow | undefined>;
  /**
   * Waits until the order's `kind` message is no longer scheduled and its job has finished
   * (succeeded, dead or cancelled), waking the worker meanwhile.
   */
  waitForMessage(orderId: number, kind: string, opts?: WaitOptions): Promise<MessageRow>;
  /** WhatsApp messages the stand-in holds for `number`, oldest first. */
  whatsappTo(number: string): Promise<StoredMessage[]>;
  /** Emails the Resend stand-in holds for `address`, oldest first. */
  emailsTo(address: string): Promise<StoredEmail[]>;
  /** Restores the settings and the stand-ins' behaviour, closes the connection. */
  done(): Promise<void>;
}

/**
 * Opens a connection for one test: the shop's settings saved (restored by `done()`), quiet hours
 * off (tests run at any hour), the shop's instance open unless `instance: false`.
 */
export async function startShopSenderTest(
  opts: { instance?: boolean } = {},
): Promise<ShopSenderTest> {
  const sql = testSql();
  let saved: postgres.Row | undefined;
  try {
    await evolution.faults.clear();
    await resend.faults.clear();
    await sql`select shop_internal.settings()`;
    [saved] = await sql`select * from public.shop_settings`;
    const keep = opts.instance === false ? null : saved.whatsapp_instance;
    await sql`update public.shop_settings set quiet_start = '00:00', quiet_end = '00:00',
      whatsapp_instance = ${keep}`;
  } catch (error) {
    await sql.end();
    throw error;
  }
  let instance: string | null = null;
  try {
    if (opts.instance !== false) instance = await openShopInstance(sql);
  } catch (error) {
    await sql.end();
    throw error;
  }

  const message = async (orderId: number, kind: string) => {
    const [row] = await sql<MessageRow[]>`
      select m.id, m.kind, m.status, m.channel, m.fallback_reason, m.error, m.cancel_reason,
             m.provider_message_id, m.job_id::text, j.state as job_state, j.result as job_result
      from public.shop_messages m left join jobs.jobs j on j.id = m.job_id
      where m.order_id = ${orderId} and m.kind = ${kind}`;
    return row;
  };

  return {
    sql,
    instance,
    async customer(c = {}) {
      const name = c.name ?? `Client ${crypto.randomUUID().slice(0, 8)}`;
      const [row] = await sql<Customer[]>`
        insert into public.customers (name, whatsapp_number, email, language, consent_messages)
        values (${name}, ${c.whatsapp === false ? null : randomNumber()},
                ${c.email === false ? null : `shop-${crypto.randomUUID()}@example.test`},
                ${c.language ?? "fr"}, ${c.consent ?? true})
        returning id, name, whatsapp_number, email, language`;
      return row;
    },
    async product(p = {}) {
      const [row] = await sql<Product[]>`
        insert into public.products (name, price_cents, stock)
        values (${p.name ?? `Produit ${crypto.randomUUID().slice(0, 8)}`}, ${p.price_cents ?? 350},
                ${p.stock ?? 1000})
        returning id, name, price_cents`;
      return row;
    },
    async order(customer, items, o = {}) {
      return await sql.begin(async (tx: postgres.TransactionSql) => {
        const [order] = await tx<{ id: number }[]>`
          insert into public.orders (customer_id, payment_status, created_at)
          values (${customer.id}, ${o.payment_status ?? "pending"}, ${o.created_at ?? new Date()})
          returning id`;
        for (const item of items) {
          await tx`insert into public.order_items (order_id, product_id, quantity)
            values (${order.id}, ${item.product.id}, ${item.quantity})`;
        }
        return Number(order.id);
      });
    },
    message,
    waitForMessage: (orderId, kind, w = {}) =>
      waitFor(async () => {
        await drainShop(sql);
        const row = await message(orderId, kind);
        if (!row || row.status === "scheduled") return undefined;
        return ["succeeded", "dead", "cancelled"].includes(row.job_state ?? "") ? row : undefined;
      }, {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: `the ${kind} message of order ${orderId}`,
        ...w,
      }),
    async whatsappTo(number) {
      const all = await evolution.sentMessages(instance ?? undefined);
      return all.filter((m) => m.number === number).reverse();
    },
    async emailsTo(address) {
      return (await resend.list({ to: address, limit: 1000 })).reverse();
    },
    async done() {
      try {
        await evolution.faults.clear();
        await evolution.setNotOnWhatsApp([]);
        await resend.faults.clear();
        if (saved) {
          await sql`update public.shop_settings set quiet_start = ${saved.quiet_start},
            quiet_end = ${saved.quiet_end},
            whatsapp_instance = coalesce(${saved.whatsapp_instance}, whatsapp_instance)`;
        }
      } finally {
        await sql.end();
      }
    },
  };
}
