/**
 * The WhatsApp provider's settings: read from the environment through `../../runtime/env.ts`
 * (`EVOLUTION_API_BASE_URL`, `EVOLUTION_API_KEY`, `EVOLUTION_TIMEOUT_MS`, `EVOLUTION_SEND_RATE`,
 * and `EVOLUTION_WEBHOOK_URL`, which defaults to the `evolution-webhook` function of
 * `SUPABASE_URL`).
 *
 * @example
 * const config = evolutionConfig();
 * const evolution = new EvolutionClient(config);
 * const sender = new WhatsAppSender(evolution, sqlWhatsAppJournal(client), config.sendRate);
 */
import { z } from "zod";
import { readEnv } from "../../runtime/env.ts";

const configSchema = z.object({
  EVOLUTION_API_BASE_URL: z.url(),
  /** Evolution's global key (`AUTHENTICATION_API_KEY`), sent as the `apikey` header. */
  EVOLUTION_API_KEY: z.string().min(1),
  /** How long one call may take before it counts as failed (and retryable). */
  EVOLUTION_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Messages per second the sender allows itself per instance (whole, at least 1). */
  EVOLUTION_SEND_RATE: z.coerce.number().positive().default(5),
  /** Where Evolution posts an instance's events; by default our `evolution-webhook` function. */
  EVOLUTION_WEBHOOK_URL: z.url().optional(),
  SUPABASE_URL: z.url().optional(),
}).refine((env) => env.EVOLUTION_WEBHOOK_URL ?? env.SUPABASE_URL, {
  message: "one of them must be set",
  // Named as the message shows it: "EVOLUTION_WEBHOOK_URL or SUPABASE_URL is not set".
  path: ["EVOLUTION_WEBHOOK_URL or SUPABASE_URL"],
  // Also when other variables are wrong: every problem is named at once.
  when: () => true,
});

/** How the WhatsApp provider reaches Evolution API, and where Evolution reaches us. */
export interface EvolutionConfig {
  /** Evolution's base URL, without a trailing slash. */
  baseUrl: string;
  /** The global API key (header `apikey`). */
  apiKey: string;
  /** Per-call timeout in milliseconds (default 10 s). */
  timeoutMs: number;
  /** Messages per second per instance (default 5). */
  sendRate: number;
  /** The URL instances post their webhooks to. */
  webhookUrl: string;
}

/**
 * Reads the provider's settings from the environment; names what is missing.
 *
 * @example
 * evolutionConfig({ EVOLUTION_API_BASE_URL: "http://localhost:8080", EVOLUTION_API_KEY: "k",
 *   SUPABASE_URL: "http://localhost:54321" }).webhookUrl;
 * // "http://localhost:54321/functions/v1/evolution-webhook"
 */
export function evolutionConfig(
  source: Record<string, string | undefined> = Deno.env.toObject(),
): EvolutionConfig {
  const env = readEnv(configSchema, "WhatsApp is not configured", source);
  return {
    baseUrl: env.EVOLUTION_API_BASE_URL.replace(/\/+$/, ""),
    apiKey: env.EVOLUTION_API_KEY,
    timeoutMs: env.EVOLUTION_TIMEOUT_MS,
    sendRate: env.EVOLUTION_SEND_RATE,
    webhookUrl: env.EVOLUTION_WEBHOOK_URL ??
      `${env.SUPABASE_URL!.replace(/\/+$/, "")}/functions/v1/evolution-webhook`,
  };
}
