/**
 * The stand-ins the local platform runs for the SaaS the functions call, in one list: for each,
 * its port (an offset from `saasPortBase`), how it is configured from `.env`, the variables it
 * gives functions and tests, and whether the dev profile keeps what it stored across restarts.
 * start.ts starts them in this order; the dev command prints their pages. Resend (email), the
 * Evolution API (WhatsApp) and a receiver of signed webhooks are here; a new stand-in is one more
 * entry.
 */
import type { Profile } from "../config.ts";
import { startEvolutionStandIn } from "./evolution/server.ts";
import { DEFAULT_REQUESTS_PER_SECOND, startResendStandIn } from "./resend/server.ts";
import { startWebhookReceiverStandIn } from "./webhook_receiver/server.ts";

/** The API key the Resend stand-in accepts when `.env` sets none. Local only. */
export const LOCAL_RESEND_API_KEY = "re_local_stand_in_not_a_real_key";

/** The global API key the Evolution API stand-in accepts when `.env` sets none. Local only. */
export const LOCAL_EVOLUTION_API_KEY = "evolution_local_stand_in_key";

/** What a registered stand-in is started with. */
export interface StandInStart {
  port: number;
  /** The project's `.env` (or `.env.example`). */
  projectEnv: Record<string, string>;
  /** JSONL file of its items (dev profile only); in memory when absent. */
  persistPath?: string;
  log: (line: string) => void;
}

/** A started stand-in, as the platform holds it. */
export interface StartedStandIn {
  /** Base URL: the provider's API, its page and `/_local/`. */
  url: string;
  /** What functions and tests get (`RESEND_BASE_URL`, `RESEND_API_KEY`). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** One entry of the registry. */
export interface RegisteredStandIn {
  /** Its key in `Platform.standIns`. */
  name: string;
  /** Its port is `saasPortBase + portOffset`. */
  portOffset: number;
  /** Its page for people, as the dev command lists it (`Inbox` at `/`). */
  page: { label: string; path: string };
  /** File in the profile's state folder that keeps its items in the dev profile; null: none. */
  devPersistFile: string | null;
  /**
   * Function variables it sets by default for a profile; `.env` can override them (the test
   * profile shortens the functions' Resend timeout so that hanging calls are quick to test).
   */
  profileDefaults: Partial<Record<Profile, Record<string, string>>>;
  start(opts: StandInStart): Promise<StartedStandIn>;
}

/**
 * A positive integer setting: the environment first, then `.env`, else `fallback`.
 *
 * @throws {Error} when the value is set but is not a positive integer.
 */
export function positiveIntegerSetting(
  name: string,
  projectEnv: Record<string, string>,
  fallback: number,
): number {
  const raw = Deno.env.get(name) ?? projectEnv[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, not "${raw}"`);
  }
  return value;
}

/**
 * Resend (email): `RESEND_API_KEY` from `.env` (or a local key) is the key it accepts,
 * `RESEND_LOCAL_RATE_LIMIT` its requests per second (default 5, as on Resend); it gives
 * `RESEND_BASE_URL` and `RESEND_API_KEY`. The dev inbox is kept in `resend_emails.jsonl`.
 */
const resend = {
  name: "resend",
  portOffset: 0,
  page: { label: "Inbox", path: "/" },
  devPersistFile: "resend_emails.jsonl",
  profileDefaults: { test: { RESEND_TIMEOUT_MS: "2000" } },
  async start({ port, projectEnv, persistPath, log }) {
    const apiKey = projectEnv.RESEND_API_KEY || LOCAL_RESEND_API_KEY;
    const running = await startResendStandIn({
      port,
      apiKeys: [apiKey],
      requestsPerSecond: positiveIntegerSetting(
        "RESEND_LOCAL_RATE_LIMIT",
        projectEnv,
        DEFAULT_REQUESTS_PER_SECOND,
      ),
      persistPath,
      log,
    });
    return {
      url: running.url,
      env: { RESEND_API_KEY: apiKey, RESEND_BASE_URL: running.url },
      stop: running.stop,
    };
  },
} as const satisfies RegisteredStandIn;

/**
 * Evolution API (WhatsApp): `EVOLUTION_API_KEY` from `.env` (or a local key) is the global key
 * it accepts; it gives `EVOLUTION_API_BASE_URL` and `EVOLUTION_API_KEY`. The dev profile keeps
 * its instances and their messages in `evolution_instances.jsonl` (the test profile: memory).
 * Tests speed up QR codes and webhook retries through its control API.
 */
const evolution = {
  name: "evolution",
  portOffset: 1,
  page: { label: "WhatsApp", path: "/" },
  devPersistFile: "evolution_instances.jsonl",
  profileDefaults: { test: { EVOLUTION_TIMEOUT_MS: "2000" } },
  async start({ port, projectEnv, persistPath, log }) {
    const apiKey = projectEnv.EVOLUTION_API_KEY || LOCAL_EVOLUTION_API_KEY;
    const running = await startEvolutionStandIn({ port, apiKey, persistPath, log });
    return {
      url: running.url,
      env: { EVOLUTION_API_KEY: apiKey, EVOLUTION_API_BASE_URL: running.url },
      stop: running.stop,
    };
  },
} as const satisfies RegisteredStandIn;

/**
 * The webhook receiver (customers' endpoints, such as an automation service): no key, as the
 * signature is the credential; it gives `WEBHOOK_RECEIVER_URL`. Endpoints get their secrets
 * through its control API. The dev profile keeps its deliveries in `webhook_deliveries.jsonl`.
 */
const webhookReceiver = {
  name: "webhook_receiver",
  portOffset: 2,
  page: { label: "Webhooks", path: "/" },
  devPersistFile: "webhook_deliveries.jsonl",
  profileDefaults: {},
  async start({ port, persistPath, log }) {
    const running = await startWebhookReceiverStandIn({ port, persistPath, log });
    return {
      url: running.url,
      env: { WEBHOOK_RECEIVER_URL: running.url },
      stop: running.stop,
    };
  },
} as const satisfies RegisteredStandIn;

/** Every stand-in the platform runs, in start order. */
export const STAND_INS = [
  resend,
  evolution,
  webhookReceiver,
] as const satisfies readonly RegisteredStandIn[];

/** The name of a registered stand-in. */
export type StandInName = typeof STAND_INS[number]["name"];
