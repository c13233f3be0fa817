/**
 * Fixtures for the tests of the `webhooks` management API on the running test platform: JWTs of
 * an admin and of a signed-in member who is not one (signed with the local secret, as Supabase
 * Auth would give them, `app_metadata.role` included), a caller of the function with any token,
 * method and body, fresh `whsec_` secrets, and SQL reads of what the API did (the endpoint row
 * and its Vault secrets, a message and its job). `done()` deletes the endpoints a test created
 * (their messages and attempts go with them, their Vault secrets too) and closes the connection.
 *
 * ```ts
 * const t = await startWebhooksApiTest();
 * try {
 *   const created = await t.call(t.admin, "POST", "/endpoints", { url: t.receiverUrl("a") });
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
  /** Deletes the test's endpoints and closes the connection. */
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
    async done() {
      try {
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

/** What the engine's SQL decided for one attempt the test made as the worker. */
export interface WorkerOutcome {
  outcome: string;
  job_state: string;
}

/**
 * Does what the delivery worker does for one message, with the engine's own SQL and without
 * HTTP: claims the message's job (queue `webhooks`), starts the delivery
 * (`webhook_deliveries_start`), records an attempt answered `status`
 * (`webhook_deliveries_record`), and reports the job as the outcome says. For tests of the
 * management API that must not depend on the delivery worker; throws when the job cannot be
 * claimed (a worker took it) or SQL does not say `send`.
 */
export async function attemptAsWorker(
  sql: postgres.Sql,
  messageId: string,
  status: number,
): Promise<WorkerOutcome> {
  const worker = `webhooks-api-test-${crypto.randomUUID().slice(0, 8)}`;
  const [message] = await sql<{ job_id: string }[]>`
    select job_id::text from public.webhook_messages where id = ${messageId}`;
  if (!message?.job_id) throw new Error(`Message ${messageId} has no job`);
  // Claims every claimable job of the queue: in this test file, only the test's own.
  const claimed = await sql<{ id: string; attempts: number }[]>`
    select id::text, attempts from public.job_claim('webhooks', ${worker}, 100)`;
  const job = claimed.find((j) => j.id === message.job_id);
  const others = claimed.filter((j) => j !== job).map((j) => ({
    id: Number(j.id),
    ok: false,
    error: "claimed by the webhooks API test by mistake",
    retry_after_seconds: 0,
  }));
  if (others.length) await sql`select public.job_report(${worker}, ${sql.json(others)})`;
  if (!job) throw new Error(`Job ${message.job_id} of message ${messageId} was not claimable`);
  const [{ start }] = await sql<{ start: { action: string; attempt: number }[] }[]>`
    select public.webhook_deliveries_start(array[${messageId}]::text[]) as start`;
  if (start[0]?.action !== "send") {
    throw new Error(`Message ${messageId}: SQL says ${JSON.stringify(start[0])}, not send`);
  }
  const [{ recorded }] = await sql<{ recorded: { outcome: string }[] }[]>`
    select public.webhook_deliveries_record(${
    sql.json([{
      message_id: messageId,
      job_id: Number(job.id),
      job_attempt: job.attempts,
      attempt: start[0].attempt,
      started_at: new Date().toISOString(),
      duration_ms: 7,
      status,
      response_excerpt: `answered ${status} by the test`,
      error: null,
      retry_after_seconds: null,
    }])
  }) as recorded`;
  const outcome = recorded[0].outcome;
  const report = outcome === "delivered" ? { id: Number(job.id), ok: true, result: { outcome } } : {
    id: Number(job.id),
    ok: false,
    error: `answered ${status}`,
    permanent: outcome === "failed" || outcome === "endpoint_disabled",
  };
  const [{ state }] = await sql<{ state: string }[]>`
    select state::text from public.job_report(${worker}, ${sql.json([report])})`;
  return { outcome, job_state: state };
}
