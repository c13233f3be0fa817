/**
 * Fixtures for the WhatsApp provisioning tests, on the running test platform: sign up a user by
 * SQL (the `auth.users` insert that creates the profile, whose trigger asks for an instance),
 * read what the flow did (the queue row, the instance, its job, the stored webhook events), wait
 * for it, act as the user (a JWT signed with the local secret) on the settings endpoint, post
 * webhooks as Evolution would, and drive the Evolution stand-in (faults, QR rotation, scans).
 *
 * ```ts
 * const t = await startWhatsAppTest();
 * try {
 *   const user = await t.signUp();
 *   const instance = await t.waitForInstance(user.id);
 * } finally {
 *   await t.done(); // clears faults, restores the stand-in and the queue, closes the connection
 * }
 * ```
 */
import type postgres from "postgres";
import { signLocalJwt } from "../../scripts/platform/keys.ts";
import {
  type EvolutionControl,
  evolutionControl,
} from "../../scripts/platform/stand_ins/evolution/control.ts";
import { QUEUES } from "../../supabase/functions/_shared/jobs/queues.ts";
import { testSql } from "./db.ts";
import { waitFor, type WaitOptions } from "./wait.ts";

export type Sql = postgres.Sql;

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.sh`);
  return value;
}

/** `<SUPABASE_URL>/functions/v1`. */
export const FUNCTIONS_URL = `${env("SUPABASE_URL")}/functions/v1`;
/** The settings endpoint (`create-evolution-instance`). */
export const SETTINGS_URL = `${FUNCTIONS_URL}/create-evolution-instance`;
/** Where Evolution posts events (`evolution-webhook`). */
export const WEBHOOK_URL = `${FUNCTIONS_URL}/evolution-webhook`;
/** The QR fallback (`refresh-qr-codes`). */
export const REFRESH_URL = `${FUNCTIONS_URL}/refresh-qr-codes`;
/** The control client of the test platform's Evolution stand-in. */
export const evolution: EvolutionControl = evolutionControl(env("EVOLUTION_API_BASE_URL"));
/** `EVOLUTION_TIMEOUT_MS` of the functions (2 s in the test profile). */
export const EVOLUTION_TIMEOUT_MS = Number(Deno.env.get("EVOLUTION_TIMEOUT_MS") ?? 10_000);

/** A user signed up by a test. */
export interface TestUser {
  id: string;
  email: string;
  fullName: string;
}

/** A user's row of `evolution_instance_creation_queue`. */
export interface QueueRow {
  status: string;
  error_message: string | null;
  retry_count: number;
  job_id: string | null;
  processed_at: Date | null;
}

/** A user's row of `evolution_instances` (with its token: tests read as the superuser). */
export type InstanceRow = postgres.Row & {
  instance_name: string;
  status: string;
  instance_status: string;
  instance_token: string | null;
  qr_code: string | null;
  qr_count: number;
  last_qr_update: Date | null;
};

/** Signs up a user the way Supabase Auth does: one insert into `auth.users`. */
export async function signUp(sql: Sql, fullName = "Ada Test"): Promise<TestUser> {
  const email = `wa-${crypto.randomUUID()}@example.test`;
  const [row] = await sql<{ id: string }[]>`
    insert into auth.users (email, raw_user_meta_data)
    values (${email}, ${sql.json({ full_name: fullName })})
    returning id`;
  return { id: row.id, email, fullName };
}

/** Signs up `count` users in one transaction (one statement). */
export async function signUpMany(sql: Sql, count: number): Promise<TestUser[]> {
  const users = Array.from({ length: count }, (_, i) => ({
    email: `wa-${crypto.randomUUID()}@example.test`,
    raw_user_meta_data: { full_name: `Test User ${i}` },
  }));
  const rows = await sql<{ id: string; email: string }[]>`
    insert into auth.users (email, raw_user_meta_data)
    select email, meta from unnest(${users.map((u) => u.email)}::text[],
      ${users.map((u) => JSON.stringify(u.raw_user_meta_data))}::jsonb[]) as t(email, meta)
    returning id, email`;
  return rows.map((r, i) => ({ id: r.id, email: r.email, fullName: `Test User ${i}` }));
}

/** The user's queue row, or undefined. */
export async function queueRow(sql: Sql, userId: string): Promise<QueueRow | undefined> {
  const [row] = await sql<QueueRow[]>`
    select status, error_message, retry_count, job_id::text, processed_at
    from public.evolution_instance_creation_queue where user_id = ${userId}`;
  return row;
}

/** The user's instance row, or undefined. */
export async function instanceRow(sql: Sql, userId: string): Promise<InstanceRow | undefined> {
  const [row] = await sql<InstanceRow[]>`
    select * from public.evolution_instances where user_id = ${userId}`;
  return row;
}

/** The credentials SQL generated for the user (name, token, webhook secret). */
export async function credentialsOf(
  sql: Sql,
  userId: string,
): Promise<{ instance_name: string; instance_token: string; webhook_secret: string }> {
  const [row] = await sql<
    { instance_name: string; instance_token: string; webhook_secret: string }[]
  >`select instance_name, instance_token, webhook_secret
    from whatsapp_internal.instance_credentials where user_id = ${userId}`;
  if (!row) throw new Error(`User ${userId} has no instance credentials`);
  return row;
}

/** The user's latest job of the `evolution` queue. */
export async function jobOf(sql: Sql, userId: string): Promise<postgres.Row | undefined> {
  const [row] = await sql`
    select id, state, attempts, last_error, result from jobs.jobs
    where queue = ${QUEUES.evolution.name} and subject = ${`user:${userId}`}
    order by id desc limit 1`;
  return row;
}

/**
 * What pg_cron's `process-evolution-queue` does every minute: wakes the worker when a job is
 * claimable (a retry whose backoff is over). Called in wait loops instead of waiting a minute.
 */
export async function cronTick(sql: Sql): Promise<void> {
  await sql`select jobs.drain(${QUEUES.evolution.name})`;
}

/** The webhook events stored for an instance, oldest first. */
export async function storedEvents(sql: Sql, instance: string): Promise<postgres.Row[]> {
  return await sql`
    select id, event, outcome, payload from public.evolution_webhook_events
    where instance_name = ${instance} order by id`;
}

/** A JWT of the user, as Supabase Auth would give them (signed with the local secret). */
export function userJwt(userId: string): Promise<string> {
  return signLocalJwt(env("JWT_SECRET"), {
    sub: userId,
    role: "authenticated",
    aud: "authenticated",
    exp: Math.floor(Date.now() / 1000) + 3600,
  });
}

/** An answer of a function: status and JSON body. */
export interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  text: string;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the test reads `text`.
  }
  return { status: res.status, body, text };
}

/**
 * Calls the settings endpoint with `token` as bearer (a user's JWT, the anon key...): GET
 * without `body`, POST with it.
 */
export async function callSettings(
  token: string | null,
  body?: unknown,
  method = body === undefined ? "GET" : "POST",
): Promise<Answer> {
  const headers: Record<string, string> = { apikey: env("SUPABASE_ANON_KEY") };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(SETTINGS_URL, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return await answer(res);
}

/** Posts a webhook as Evolution would (raw `body` when a string), with the secret header. */
export async function postWebhook(
  body: unknown,
  secret: string | null,
  method = "POST",
): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret !== null) headers["x-evolution-secret"] = secret;
  const res = await fetch(WEBHOOK_URL, {
    method,
    headers,
    body: method === "GET" || method === "HEAD"
      ? undefined
      : typeof body === "string"
      ? body
      : JSON.stringify(body),
  });
  return await answer(res);
}

/** An Evolution webhook body for `instance`. */
export function webhookBody(instance: string, event: string, data: unknown) {
  return {
    event,
    instance,
    data,
    destination: WEBHOOK_URL,
    date_time: new Date().toISOString(),
    sender: null,
    server_url: "http://evolution.test",
    apikey: null,
  };
}

/** Calls `refresh-qr-codes` as pg_cron does (cron secret). */
export async function refreshQrCodes(): Promise<Answer> {
  const res = await fetch(REFRESH_URL, {
    method: "POST",
    headers: { authorization: `Bearer ${env("CRON_SECRET")}`, "content-type": "application/json" },
    body: "{}",
  });
  return await answer(res);
}

/**
 * Evolution loses an instance without telling us: its webhook is switched off, then it is
 * deleted on the stand-in (no `remove.instance` event reaches the database).
 */
export async function loseOnEvolution(instanceName: string): Promise<void> {
  const base = env("EVOLUTION_API_BASE_URL");
  const apikey = env("EVOLUTION_API_KEY");
  const off = await fetch(`${base}/webhook/set/${instanceName}`, {
    method: "POST",
    headers: { apikey, "content-type": "application/json" },
    body: JSON.stringify({ webhook: { enabled: false, url: "http://127.0.0.1:9/none" } }),
  });
  if (off.status !== 201) {
    throw new Error(`webhook/set answered ${off.status}: ${await off.text()}`);
  }
  const deleted = await fetch(`${base}/instance/delete/${instanceName}`, {
    method: "DELETE",
    headers: { apikey },
  });
  if (deleted.status !== 200) {
    throw new Error(`instance/delete answered ${deleted.status}: ${await deleted.text()}`);
  }
}

/** One WhatsApp test's connection, with the flow's readers and waits bound to it. */
export interface WhatsAppTest {
  sql: Sql;
  signUp(fullName?: string): Promise<TestUser>;
  /**
   * Waits until the user's instance exists (status created), their queue row is `completed`
   * (the job has finished too) and the instance matches `accept`.
   */
  waitForInstance(
    userId: string,
    accept?: (row: InstanceRow) => boolean,
    opts?: WaitOptions,
  ): Promise<InstanceRow>;
  /** Waits until the user's queue row has `status`, ticking the cron drain meanwhile. */
  waitForQueue(userId: string, status: string, opts?: WaitOptions): Promise<QueueRow>;
  /** Clears the stand-in's faults and behaviour, restores the queue, closes the connection. */
  done(): Promise<void>;
}

/**
 * Opens a connection for one test: the stand-in's faults cleared, the `evolution` queue's
 * backoff shortened to half a second (retries within the test, not 5 s later). `done()` in
 * `finally`.
 */
export async function startWhatsAppTest(): Promise<WhatsAppTest> {
  const sql = testSql();
  let backoff: { base: string; cap: string } | undefined;
  try {
    await evolution.faults.clear();
    const [queue] = await sql<{ base: string; cap: string }[]>`
      select backoff_base_seconds::text as base, backoff_cap_seconds::text as cap
      from jobs.queues where name = ${QUEUES.evolution.name}`;
    backoff = queue;
    await sql`update jobs.queues set backoff_base_seconds = 0.5, backoff_cap_seconds = 2
      where name = ${QUEUES.evolution.name}`;
  } catch (error) {
    await sql.end();
    throw error;
  }
  const tick = () => cronTick(sql);
  return {
    sql,
    signUp: (fullName) => signUp(sql, fullName),
    waitForInstance: (userId, accept = () => true, opts = {}) =>
      waitFor(async () => {
        await tick();
        const row = await instanceRow(sql, userId);
        if (!row || row.status !== "created" || !accept(row)) return undefined;
        return (await queueRow(sql, userId))?.status === "completed" ? row : undefined;
      }, { timeoutMs: 15_000, intervalMs: 50, what: `the instance of user ${userId}`, ...opts }),
    waitForQueue: (userId, status, opts = {}) =>
      waitFor(async () => {
        await tick();
        const row = await queueRow(sql, userId);
        return row?.status === status ? row : undefined;
      }, {
        timeoutMs: 15_000,
        intervalMs: 50,
        what: `queue row of user ${userId} in status ${status}`,
        ...opts,
      }),
    done: async () => {
      try {
        await evolution.faults.clear();
        if (backoff) {
          await sql`update jobs.queues
            set backoff_base_seconds = ${backoff.base}::numeric,
                backoff_cap_seconds = ${backoff.cap}::numeric
            where name = ${QUEUES.evolution.name}`;
        }
      } finally {
        await sql.end();
      }
    },
  };
}
