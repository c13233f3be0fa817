/**
 * The `webhooks` queue's job handler, run by `deliver-webhooks`: one job per message delivery
 * series (payload `{message_id}`, subject `endpoint:<id>`). Each run of a job is one attempt:
 *
 * 1. `start` (`webhook_deliveries_start`, batched with the other jobs of the wave): `skip`
 *    (delivered already, gone, endpoint disabled) ends the job with a result; `wait` (the
 *    endpoint's rate limit) gives the job back with a `ThrottledError`, which costs no attempt;
 *    `send` gives the URL, the secrets and the body.
 * 2. The body is signed with every secret given (`./signer.ts`) and POSTed (`./http.ts`, 15 s
 *    timeout, no redirects).
 * 3. `record` (`webhook_deliveries_record`, batched too) stores the attempt; SQL decides what it
 *    becomes, and the handler tells the job core: `delivered` → success; `retry` →
 *    `RetryLaterError` after SQL's delay; `throttled` → `ThrottledError`; `failed` and
 *    `endpoint_disabled` → `PermanentJobError`.
 *
 * Successes are logged at debug level only (a thousand a second would drown the log); the job
 * runner logs failures with the job, and the errors name the message, the endpoint and the
 * attempt.
 */
import { z } from "zod";
import { PermanentJobError, RetryLaterError, ThrottledError } from "../../jobs/errors.ts";
import type { Job, JobContext } from "../../jobs/runner.ts";
import type { DbClient } from "../../runtime/client.ts";
import { log } from "../../runtime/log.ts";
import { DEFAULT_USER_AGENT, WEBHOOK_TIMEOUT_MS } from "./config.ts";
import { postWebhook } from "./http.ts";
import { type DeliveryStore, sqlDeliveryStore, type SqlDeliveryStoreOptions } from "./rpc.ts";
import { signatureHeaders } from "./signer.ts";

const payloadSchema = z.object({ message_id: z.string().min(1) });

/** The payload of a `webhooks` job. */
export type DeliveryJobPayload = z.infer<typeof payloadSchema>;

/** What a job that ends well stores as its result. */
export interface DeliveryResult {
  message_id: string;
  outcome: "delivered" | "skipped";
  /** The message's attempt that delivered it. */
  attempt?: number;
  status?: number;
  duration_ms?: number;
  /** Why it was skipped. */
  reason?: string;
}

/** What the delivery handler needs besides its job. */
export interface DeliveryHandlerDeps {
  /** Per-attempt timeout (default 15 s). */
  timeoutMs?: number;
  userAgent?: string;
  /** The fetch to use (default: the global one, which keeps connections alive). */
  fetch?: typeof fetch;
  /**
   * Makes the store of starts and records (once, with the first job's client); by default the
   * batched SQL store, shared by every run of the process.
   */
  store?: (client: DbClient) => DeliveryStore;
  /** Options of the default store (a frozen clock for tests). */
  storeOptions?: SqlDeliveryStoreOptions;
  /** The clock of attempts (`webhook-timestamp`, `started_at`); the real one by default. */
  now?: () => Date;
}

/** The endpoint a job delivers to, from its subject `endpoint:<id>`. */
function endpointOf(job: Job<unknown>): string {
  return job.subject?.startsWith("endpoint:") ? job.subject.slice("endpoint:".length) : "unknown";
}

/**
 * Builds the handler of the `webhooks` queue.
 *
 * @example
 * const config = webhookConfig();
 * const handler = webhookDeliveryHandler({ timeoutMs: config.timeoutMs });
 * Deno.serve(queueWorker({ queue: QUEUES.webhooks, handler, concurrency: config.concurrency }));
 */
export function webhookDeliveryHandler(deps: DeliveryHandlerDeps = {}) {
  const timeoutMs = deps.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const userAgent = deps.userAgent ?? DEFAULT_USER_AGENT;
  const now = deps.now ?? (() => new Date());
  // One store for every run of this process: concurrent runs (each wake-up is one) share its
  // batches. Their clients are alike (service role, same URL), so any recent one serves.
  let client: DbClient | undefined;
  let store: DeliveryStore | undefined;
  const storeOf = (latest: DbClient) => {
    client = latest;
    store ??= deps.store?.(latest) ?? sqlDeliveryStore(() => client!, deps.storeOptions);
    return store;
  };

  return async (job: Job<unknown>, ctx: JobContext): Promise<DeliveryResult> => {
    const payload = payloadSchema.safeParse(job.payload);
    if (!payload.success) {
      throw new PermanentJobError(
        `Webhook job ${job.id} has an invalid payload: ${payload.error.message}`,
      );
    }
    const messageId = payload.data.message_id;
    const endpoint = endpointOf(job);
    const store = storeOf(ctx.client);
    const start = await store.start(messageId);
    const where = (attempt: number | null | undefined) =>
      `job ${job.id}, message ${messageId}, endpoint ${endpoint}, attempt ${attempt ?? "?"}, ` +
      `job attempt ${job.attempts}`;

    if (start.action === "skip") {
      log.debug("webhook skipped", { job_id: job.id, message_id: messageId, reason: start.reason });
      return { message_id: messageId, outcome: "skipped", reason: start.reason ?? undefined };
    }
    if (start.action === "wait") {
      const wait = Math.max(0.05, start.wait_seconds ?? 1);
      throw new ThrottledError(
        `Endpoint rate limit reached: waiting ${wait} s (${where(start.attempt)})`,
        wait,
      );
    }
    if (!start.url || !start.body || !start.secrets?.length || !start.attempt) {
      throw new PermanentJobError(
        `webhook_deliveries_start gave no URL, body, secret or attempt (${where(start.attempt)})`,
      );
    }

    const at = now();
    const headers = {
      ...signatureHeaders(messageId, at, start.body, start.secrets),
      "content-type": "application/json",
      "user-agent": userAgent,
    };
    const http = await postWebhook(start.url, headers, start.body, {
      timeoutMs,
      signal: ctx.signal,
      fetch: deps.fetch,
    });
    const recorded = await store.record({
      message_id: messageId,
      job_id: job.id,
      job_attempt: job.attempts,
      attempt: start.attempt,
      started_at: at.toISOString(),
      duration_ms: http.durationMs,
      status: http.status,
      response_excerpt: http.excerpt,
      error: http.error,
      retry_after_seconds: http.retryAfterSeconds,
    });

    const answered = http.status === null ? http.error : `HTTP ${http.status}`;
    const why = recorded.reason ? `: ${recorded.reason}` : "";
    switch (recorded.outcome) {
      case "delivered":
        log.debug("webhook delivered", {
          job_id: job.id,
          message_id: messageId,
          endpoint,
          attempt: start.attempt,
          status: http.status,
          duration_ms: http.durationMs,
        });
        return {
          message_id: messageId,
          outcome: "delivered",
          attempt: start.attempt,
          status: http.status ?? undefined,
          duration_ms: http.durationMs,
        };
      case "retry":
        throw new RetryLaterError(
          `Webhook delivery failed (${answered}), retrying${why} (${where(start.attempt)})`,
          recorded.retry_after_seconds ?? undefined,
        );
      case "throttled":
        throw new ThrottledError(
          `Endpoint throttled the delivery (${answered})${why} (${where(start.attempt)})`,
          recorded.retry_after_seconds ?? undefined,
        );
      case "failed":
        throw new PermanentJobError(
          `Webhook delivery failed for good (${answered})${why} (${where(start.attempt)})`,
        );
      case "endpoint_disabled":
        throw new PermanentJobError(
          `Webhook endpoint disabled (${answered})${why} (${where(start.attempt)})`,
        );
    }
  };
}
