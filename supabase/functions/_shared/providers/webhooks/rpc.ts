/**
 * The delivery engine's SQL functions (migration `20261128150200_webhooks_api.sql`), with typed
 * arguments, zod-checked results and the error policy of `../../runtime/rpc.ts`:
 *
 * - `webhook_deliveries_start(p_message_ids, p_now)`: for each message, send it (URL, secrets,
 *   body, attempt number), skip it (delivered, gone, endpoint disabled) or wait (the endpoint's
 *   rate limit);
 * - `webhook_deliveries_record(p_attempts, p_now)`: stores the attempts and answers what each
 *   becomes (delivered, retry, throttled, failed, endpoint_disabled) — SQL owns the retry
 *   schedule and the endpoint rules.
 *
 * Both take arrays: `sqlDeliveryStore` batches the calls of concurrent jobs (`./batcher.ts`) so
 * that one call serves every delivery of a wave. A record is made with the patient retry policy:
 * the request went out, and losing its record would send it again.
 *
 * @example
 * const store = sqlDeliveryStore(client);
 * const start = await store.start("msg_…");
 */
import { z } from "zod";
import type { DbClient } from "../../runtime/client.ts";
import { AFTER_EFFECT_RETRY, callRpc } from "../../runtime/rpc.ts";
import { Batcher } from "./batcher.ts";

const startSchema = z.object({
  message_id: z.string(),
  action: z.enum(["send", "skip", "wait"]),
  url: z.string().nullish(),
  secrets: z.array(z.string()).nullish(),
  body: z.string().nullish(),
  event_type: z.string().nullish(),
  attempt: z.number().int().nullish(),
  wait_seconds: z.number().nullish(),
  reason: z.string().nullish(),
});

/** What `webhook_deliveries_start` says about one message. */
export type DeliveryStart = z.infer<typeof startSchema>;

/** One HTTP attempt, as `webhook_deliveries_record` stores it. */
export interface AttemptRecord {
  message_id: string;
  job_id: number;
  /** The job's attempt (`jobs.jobs.attempts` at claim): SQL's retry schedule is by it. */
  job_attempt: number;
  /** The message's attempt number, from `webhook_deliveries_start`. */
  attempt: number;
  /** ISO 8601. */
  started_at: string;
  duration_ms: number;
  status: number | null;
  response_excerpt: string | null;
  error: string | null;
  retry_after_seconds: number | null;
}

const outcomeSchema = z.object({
  message_id: z.string(),
  outcome: z.enum(["delivered", "retry", "throttled", "failed", "endpoint_disabled"]),
  retry_after_seconds: z.number().nullish(),
  reason: z.string().nullish(),
});

/** What an attempt became. */
export type RecordedOutcome = z.infer<typeof outcomeSchema>;

/** A short context naming the messages of a batch (the first few ids). */
function batchContext(ids: string[]): string {
  const shown = ids.slice(0, 3).join(", ");
  return ids.length > 3 ? `${ids.length} messages: ${shown}…` : `messages ${shown}`;
}

/** Orders `rows` by `ids`; throws when one is missing. */
function alignById<T extends { message_id: string }>(fn: string, ids: string[], rows: T[]): T[] {
  const byId = new Map(rows.map((row) => [row.message_id, row]));
  return ids.map((id) => {
    const row = byId.get(id);
    if (!row) throw new Error(`${fn} answered nothing for message ${id}`);
    return row;
  });
}

/** Calls `webhook_deliveries_start` for `messageIds`; one answer per id, in order. */
export async function startDeliveries(
  client: DbClient,
  messageIds: string[],
  now?: Date,
): Promise<DeliveryStart[]> {
  const rows = await callRpc(
    client,
    "webhook_deliveries_start",
    { p_message_ids: messageIds, p_now: now?.toISOString() },
    z.array(startSchema),
    { context: batchContext(messageIds) },
  );
  return alignById("webhook_deliveries_start", messageIds, rows);
}

/** Calls `webhook_deliveries_record` for `attempts`; one outcome per attempt, in order. */
export async function recordAttempts(
  client: DbClient,
  attempts: AttemptRecord[],
  now?: Date,
): Promise<RecordedOutcome[]> {
  const ids = attempts.map((a) => a.message_id);
  const rows = await callRpc(
    client,
    "webhook_deliveries_record",
    { p_attempts: attempts as unknown as never, p_now: now?.toISOString() },
    z.array(outcomeSchema),
    { context: batchContext(ids), retry: AFTER_EFFECT_RETRY },
  );
  return alignById("webhook_deliveries_record", ids, rows);
}

/** Where the delivery handler starts messages and records attempts, one at a time. */
export interface DeliveryStore {
  start(messageId: string): Promise<DeliveryStart>;
  record(attempt: AttemptRecord): Promise<RecordedOutcome>;
}

/** Options of {@link sqlDeliveryStore}. */
export interface SqlDeliveryStoreOptions {
  /** The clock passed as `p_now` (tests freeze it); SQL's `now()` when absent. */
  now?: () => Date;
  /** Most messages in one call (default 500). */
  maxBatch?: number;
  /** Calls of each function under way at once (default 2: fewer, larger calls). */
  maxInFlight?: number;
}

/**
 * The store in Postgres, through `client` (a service-role client, or a function giving the
 * one to use at each call): concurrent `start`s and `record`s are batched into single calls.
 */
export function sqlDeliveryStore(
  client: DbClient | (() => DbClient),
  opts: SqlDeliveryStoreOptions = {},
): DeliveryStore {
  const batching = { maxBatch: opts.maxBatch ?? 500, maxInFlight: opts.maxInFlight ?? 2 };
  const clientOf = typeof client === "function" ? client : () => client;
  const starts = new Batcher<string, DeliveryStart>(
    (ids) => startDeliveries(clientOf(), ids, opts.now?.()),
    batching,
  );
  const records = new Batcher<AttemptRecord, RecordedOutcome>(
    (attempts) => recordAttempts(clientOf(), attempts, opts.now?.()),
    batching,
  );
  return {
    start: (messageId) => starts.add(messageId),
    record: (attempt) => records.add(attempt),
  };
}
