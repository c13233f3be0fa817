/**
 * Fixtures for the expired-cart clean-up tests on the running test platform: calls of the
 * `clean-expired-carts` function, carts made by SQL (expired or fresh, with items), the runs the
 * function logged, and a pause of the pg_cron job `clean-expired-carts` while a test runs (so
 * the hourly run never deletes a test's carts between its steps); `done()` resumes it, restores
 * the batch size and removes what the test made.
 *
 * ```ts
 * const t = await startCartsTest();
 * try {
 *   const expired = await t.carts(3, { expiredFor: "1 hour" });
 *   const answer = await cleanExpiredCarts(CRON_AUTH, { trigger: "schedule" });
 * } finally {
 *   await t.done();
 * }
 * ```
 */
import type postgres from "postgres";
import { testSql } from "./db.ts";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.sh`);
  return value;
}

/** The `clean-expired-carts` function. */
export const CLEAN_EXPIRED_CARTS_URL = `${env("SUPABASE_URL")}/functions/v1/clean-expired-carts`;
/** The `Authorization` header of pg_cron and of an outside scheduler. */
export const CRON_AUTH = `Bearer ${env("CRON_SECRET")}`;
/** The `Authorization` header of an operator calling by hand. */
export const SERVICE_AUTH = `Bearer ${env("SUPABASE_SERVICE_ROLE_KEY")}`;
/** The `Authorization` header of anyone holding the public anon key. */
export const ANON_AUTH = `Bearer ${env("SUPABASE_ANON_KEY")}`;

/** What the function answered. */
export interface FunctionAnswer {
  status: number;
  text: string;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/**
 * Calls `clean-expired-carts` with `authorization` (none when null), by `method`, with `body`
 * as JSON for a POST.
 */
export async function cleanExpiredCarts(
  authorization: string | null,
  body: unknown = {},
  method = "POST",
): Promise<FunctionAnswer> {
  const res = await fetch(CLEAN_EXPIRED_CARTS_URL, {
    method,
    headers: {
      ...(authorization ? { authorization } : {}),
      ...(method === "POST" ? { "content-type": "application/json" } : {}),
    },
    body: method === "POST" ? JSON.stringify(body) : undefined,
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

/** A test of the clean-up: its database client, its carts, and its end. */
export interface CartsTest {
  sql: postgres.Sql;
  /**
   * Makes `count` carts, each with one item of the test's product: expired `expiredFor` ago, or
   * fresh (the default expiry) when absent. Returns their ids.
   */
  carts(count: number, opts?: { expiredFor?: string }): Promise<string[]>;
  /** Which of `ids` still exist. */
  remaining(ids: string[]): Promise<string[]>;
  /** Sets `shop_settings.cart_cleanup_batch` for this test (restored by `done`). */
  batchSize(n: number): Promise<void>;
  /** The clean-expired-carts runs logged since the test started, oldest first. */
  runs(): Promise<postgres.Row[]>;
  /** Resumes the cron job, restores the settings and removes the test's carts and product. */
  done(): Promise<void>;
}

/** Starts a clean-up test: pauses the cron job, makes a product for the carts' items. */
export async function startCartsTest(): Promise<CartsTest> {
  const sql = testSql();
  const [{ started_at, batch }] = await sql`
    select clock_timestamp() as started_at,
           (select cart_cleanup_batch from public.shop_settings) as batch`;
  await sql`update cron.job set active = false where jobname = 'clean-expired-carts'`;
  const [product] = await sql`
    insert into public.products (name, price_cents, stock)
    values (${`Carts test ${crypto.randomUUID().slice(0, 8)}`}, 250, 10)
    returning id`;
  const made: string[] = [];
  return {
    sql,
    async carts(count, opts = {}) {
      const rows = opts.expiredFor
        ? await sql`
            insert into public.carts (created_at, expires_at)
            select now() - interval '2 days', now() - ${opts.expiredFor}::interval
            from generate_series(1, ${count})
            returning id`
        : await sql`insert into public.carts select from generate_series(1, ${count}) returning id`;
      const ids = rows.map((r) => r.id as string);
      await sql`
        insert into public.cart_items (cart_id, product_id, quantity)
        select unnest(${ids}::uuid[]), ${product.id}, 1`;
      made.push(...ids);
      return ids;
    },
    async remaining(ids) {
      const rows = await sql`select id from public.carts where id = any(${ids}::uuid[])`;
      return rows.map((r) => r.id as string);
    },
    async batchSize(n) {
      await sql`update public.shop_settings set cart_cleanup_batch = ${n}`;
    },
    runs() {
      return sql`
        select id, trigger, started_at, finished_at, result, error from public.shop_automation_runs
        where automation = 'clean-expired-carts' and started_at >= ${started_at}
        order by id`;
    },
    async done() {
      try {
        await sql`update public.shop_settings set cart_cleanup_batch = ${batch ?? 5000}`;
        await sql`delete from public.carts where id = any(${made}::uuid[])`;
        await sql`delete from public.products where id = ${product.id}`;
        await sql`update cron.job set active = true where jobname = 'clean-expired-carts'`;
      } finally {
        await sql.end();
      }
    },
  };
}
