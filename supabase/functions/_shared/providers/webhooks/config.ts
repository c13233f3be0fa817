/**
 * The webhook delivery engine's settings, read from the environment through
 * `../../runtime/env.ts`: `WEBHOOK_TIMEOUT_MS` (how long an endpoint has to answer, 15 s by
 * default, as Standard Webhooks senders usually allow), `WEBHOOK_CONCURRENCY` (deliveries in
 * flight at once in one worker, 100 by default) and `WEBHOOK_USER_AGENT`.
 *
 * @example
 * const config = webhookConfig();
 * Deno.serve(queueWorker({ queue: QUEUES.webhooks, handler, concurrency: config.concurrency }));
 */
import { z } from "zod";
import { readEnv } from "../../runtime/env.ts";

/** The default time an endpoint has to answer, headers and body (15 s). */
export const WEBHOOK_TIMEOUT_MS = 15_000;

/** The `user-agent` of deliveries unless `WEBHOOK_USER_AGENT` says otherwise. */
export const DEFAULT_USER_AGENT = "workshop-webhooks/1.0";

const configSchema = z.object({
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(WEBHOOK_TIMEOUT_MS),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(100),
  WEBHOOK_USER_AGENT: z.string().min(1).max(200).default(DEFAULT_USER_AGENT),
});

/** How the engine delivers. */
export interface WebhookConfig {
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number;
  /** Deliveries in flight at once in one worker run. */
  concurrency: number;
  userAgent: string;
}

/**
 * Reads the engine's settings from the environment (every one has a default); names what is
 * wrong.
 *
 * @example
 * webhookConfig({ WEBHOOK_TIMEOUT_MS: "2000" }).timeoutMs; // 2000
 */
export function webhookConfig(
  source: Record<string, string | undefined> = Deno.env.toObject(),
): WebhookConfig {
  const env = readEnv(configSchema, "Webhook delivery is misconfigured", source);
  return {
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    concurrency: env.WEBHOOK_CONCURRENCY,
    userAgent: env.WEBHOOK_USER_AGENT,
  };
}
