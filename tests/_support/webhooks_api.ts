/**
 * Fixtures for the tests of the `webhooks` management API on the running test platform: JWTs of
 * an admin and of a signed-in member who is not one (signed with the local secret, as Supabase
 * Auth would give them, `app_metadata.role` included), a caller of the function with any token,
 * method and body, fresh `whsec_` secrets, SQL reads of what the API did (the endpoint row and
 * its Vault secrets, a message and its job) and waits for the delivery worker
 * (`deliver-webhooks`) to settle a message. `done()` clears the receiver stand-in's faults,
 * deletes the endpoints a test created (their messages and attempts go with them, their Vault
 * secrets too) and closes the connection.
 *
 * ```ts
 * const t = await startWebhooksApiTest();
 * try {
 *   const created = await t.call(t.admin, "POST", "/endpoints", { url: t.receiverUrl("a").url });
 * } finally {
 *   await t.done();
 * }
 * ```
 */
import type postgres from "postgres";
import { signLocalJwt } from "../../scripts/platform/keys.ts";
import {
  type WebhookReceiverControl,
  webhookReceiverControl,
} from "../../scripts/platform/stand_ins/webhook_receiver/control.ts";
import { testSql } from "./db.ts";
import { waitFor, type WaitOptions } from "./wait.ts";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.sh`);
  return value;
}

/** `<SUPABASE_URL>/functions/v1/webhooks`. */
export const WEBHOOKS_API_URL = `${env("SUPABASE_URL")}/functions/v1/webhooks`;

/** The control client of the test platform's webhook receiver stand-in. */
export const receiver: WebhookReceiverControl = webhookReceiverControl(
  env("WEBHOOK_RECEIVER_URL"),
);

/** A user's JWT as Supabase Auth gives it; `admin` puts `app_metadata.role = 'admin'` in it. */
export function userJwt(userId: string, opts: { admin?: boolean } = {}): Promise<string> {
  return signLocalJwt(env("JWT_SECRET"), {
    sub: userId,
    role: "authenticated",
    aud: "authenticated",
    email: `${userId}@example.test`,
    app_metadata: opts.admin
      ? { provider: "email", providers: ["email"], role: "admin" }
      : { provider: "email", providers: ["email"] },
    user_metadata: {},
    exp: Math.floor(Date.now() / 1000) + 3600,
  });
}

/** A fresh signing secret: `whsec_` and the base64 of `bytes` random bytes. */
export function newSecret(bytes = 32): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))))}`;
}

/** An answer of the function: status, headers and JSON body (`text` when it is not JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
  text: string;
}

/**
 * Calls the API at `path` (under `/webhooks`) with `token` as bearer (null: no header). A string
 * `body` goes as is; anything else as JSON.
 */
export async function callApi(
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const headers: Record<string, string> = { apikey: env("SUPABASE_ANON_KEY") };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${WEBHOOKS_API_URL}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the test reads `text`.
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** An endpoint row as SQL holds it, with its secrets decrypted from Vault. */
export type EndpointRow = postgres.Row & {
  id: string;
  url: string;
  enabled: boolean;
  secret: string | null;
  previous_secret: string | null;
};

/** The endpoint's row and its decrypted secrets, or undefined when it is gone. */
export async function endpointRow(
  sql: postgres.Sql,
  id: string,
): Promise<EndpointRow | undefined> {
  const [row] = await sql<EndpointRow[]>`
    select e.*,
      (select decrypted_secret from vault.decrypted_secrets where id = e.secret_id) as secret,
      (select decrypted_secret from vault.decrypted_secrets where id = e.previous_secret_id)
        as previous_secret
    from public.webhook_endpoints e where e.id = ${id}`;
  return row;
}

/** A message row and its current job (state, subject, dedupe key), or undefined. */
export async function messageRow(
  sql: postgres.Sql,
  id: string,
): Promise<postgres.Row | undefined> {
  const [row] = await sql`
    select m.*, j.state as job_state, j.subject as job_subject, j.dedupe_key as job_dedupe_key,
      j.queue as job_queue
    from public.webhook_messages m left join jobs.jobs j on j.id = m.job_id
    where m.id = ${id}`;
  return row;
}

/** Job states that mean the worker has not finished with the job. */
const UNFINISHED = new Set(["waiting", "running", "retrying"]);

/** A test's connection, its users and the endpoints it created. */
export interface WebhooksApiTest {
  sql: postgres.Sql;
  /** An admin's JWT, and their user id. */
  admin: string;
  adminId: string;
  /** A signed-in member who is not an admin. */
  member: string;
  /** Calls the API; endpoints a 201 creates are deleted by `done()`. */
  call(token: string | null, method: string, path: string, body?: unknown): Promise<Answer>;
  /** A receiver stand-in URL of a fresh name for this test (`/hooks/<prefix>-<random>`). */
  receiverUrl(prefix: string): { name: string; url: string };
  /** Waits for `probe` to hold (10 s by default). */
  until(probe: () => Promise<boolean>, opts?: WaitOptions): Promise<void>;
  /**
   * Waits for a message to reach `status` with no unfinished job (the delivery worker is done
   * with it); answers its row.
   */
  untilMessage(id: string, status: string, opts?: WaitOptions): Promise<postgres.Row>;
  /** Clears the receiver's faults, deletes the test's endpoints, closes the connection. */
  done(): Promise<void>;
}

/** Starts a test: a connection, an admin and a member (JWTs only: no auth.users rows needed). */
export async function startWebhooksApiTest(): Promise<WebhooksApiTest> {
  const sql = testSql();
  const adminId = crypto.randomUUID();
  const created = new Set<string>();
  const t: WebhooksApiTest = {
    sql,
    adminId,
    admin: await userJwt(adminId, { admin: true }),
    member: await userJwt(crypto.randomUUID()),
    async call(token, method, path, body) {
      const answer = await callApi(token, method, path, body);
      if (answer.status === 201 && typeof answer.body?.id === "string") created.add(answer.body.id);
      return answer;
    },
    receiverUrl(prefix) {
      const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
      return { name, url: receiver.hookUrl(name) };
    },
    async until(probe, opts) {
      await waitFor(probe, opts);
    },
    async untilMessage(id, status, opts) {
      return await waitFor(async () => {
        const row = await messageRow(sql, id);
        return row?.status === status && !UNFINISHED.has(row.job_state) ? row : undefined;
      }, { what: `message ${id} ${status}`, ...opts });
    },
    async done() {
      try {
        await receiver.faults.clear();
        if (created.size) {
          await sql`
            with gone as (
              delete from public.webhook_endpoints where id = any(${[...created]}::uuid[])
              returning secret_id, previous_secret_id
            )
            delete from vault.secrets
            where id in (select secret_id from gone union select previous_secret_id from gone)`;
        }
      } finally {
        await sql.end();
      }
    },
  };
  return t;
}
