/**
 * The email sender's settings: read from the environment through `../../runtime/env.ts`
 * (`RESEND_API_KEY`, `RESEND_BASE_URL`, `RESEND_REQUESTS_PER_SECOND`, `RESEND_TIMEOUT_MS`).
 *
 * @example
 * const sender = new EmailSender(resendConfig(), sqlEmailJournal(client));
 */
import { z } from "zod";
import { readEnv } from "../../runtime/env.ts";

const configSchema = z.object({
  RESEND_API_KEY: z.string().min(1),
  /** Unset in production (the SDK's default); the local stand-in's URL locally. */
  RESEND_BASE_URL: z.url().optional(),
  /**
   * Requests per second this sender allows itself at most: Resend's default account limit is
   * 5. A lower limit announced by Resend (`ratelimit-limit`) wins.
   */
  RESEND_REQUESTS_PER_SECOND: z.coerce.number().positive().default(5),
  /** How long one request may take before it counts as failed (and retryable). */
  RESEND_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

/** How the email sender talks to Resend and batches. */
export interface EmailSenderConfig {
  apiKey: string;
  baseUrl?: string;
  /** The most requests per second; Resend's announced limit lowers it. */
  requestsPerSecond: number;
  /**
   * Longest wait for more emails before a partial batch goes, while participants are still
   * preparing theirs (default 50 ms).
   */
  lingerMs?: number;
  /**
   * Longest wait for a batch to fill when the participants still preparing emails are enough
   * to fill it, judging by how many emails a participant has sent on average (default 1 s): a
   * request slot is worth 100 emails, so a burst is not spent on small batches.
   */
  fillWaitMs?: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /**
   * Identical re-sends of a request without a definite answer (a timeout, a dropped connection,
   * the same key in flight), before its emails fail retryably (default 3).
   */
  ambiguousRetries?: number;
}

/** Reads the sender's settings from the environment; names what is missing. */
export function resendConfig(
  source: Record<string, string | undefined> = Deno.env.toObject(),
): EmailSenderConfig {
  const env = readEnv(configSchema, "Email sending is not configured", source);
  return {
    apiKey: env.RESEND_API_KEY,
    baseUrl: env.RESEND_BASE_URL,
    requestsPerSecond: env.RESEND_REQUESTS_PER_SECOND,
    timeoutMs: env.RESEND_TIMEOUT_MS,
  };
}
