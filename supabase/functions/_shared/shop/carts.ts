/**
 * The expired-cart clean-up (the seed's `clean-expired-carts` cron, hourly): deletes the carts
 * whose `expires_at` has passed in batches of `shop_settings.cart_cleanup_batch`, each batch
 * one short transaction of its own (`shop_clean_expired_carts_batch`, rows locked with skip
 * locked), until a batch comes back short. No lock is held longer than one batch, so carts
 * being created or edited meanwhile never wait for the clean-up. Every run is logged in
 * `shop_automation_runs`, failed ones with their error.
 *
 * @example
 * const { status, body } = await cleanExpiredCarts(serviceClient(env), { trigger: "schedule" });
 */
import type { DbClient } from "../runtime/client.ts";
import { errorText, log } from "../runtime/log.ts";
import {
  cartCleanupBatchSize,
  cleanExpiredCartsBatch,
  recordAutomationRun,
  type RunTrigger,
} from "./rpc.ts";

/** What the endpoint answers on success (the seed's shape, plus the run's figures). */
export interface CartCleanupSuccess {
  success: true;
  deletedCount: number;
  /** When the run started (ISO 8601). */
  timestamp: string;
  /** Batches run (the last one short). */
  batches: number;
  /** The longest single batch, in milliseconds (round trip). */
  longestBatchMs: number;
  /** False when the time budget ran out before a short batch: the next run goes on. */
  complete: boolean;
}

/** What the endpoint answers when a batch failed (HTTP 500): what was deleted until then. */
export interface CartCleanupFailure {
  success: false;
  error: string;
  deletedCount: number;
  timestamp: string;
}

/** A clean-up run's answer and its HTTP status. */
export interface CartCleanupOutcome {
  status: 200 | 500;
  body: CartCleanupSuccess | CartCleanupFailure;
}

/** How a run is made. */
export interface CartCleanupOptions {
  /** Who started it (logged with the run). */
  trigger: RunTrigger;
  /** Carts per batch (default: `shop_settings.cart_cleanup_batch`). */
  batchSize?: number;
  /**
   * Stop starting batches after this long (default 120 s, under the edge runtime's wall-clock
   * limit); the rest goes at the next run.
   */
  budgetMs?: number;
}

const DEFAULT_BUDGET_MS = 120_000;

/**
 * Runs the clean-up to the end (a short batch) or the time budget, logs the run, and returns
 * the answer. Never throws for a failed batch: it answers 500 with what was deleted, and logs
 * the run with the error (a failure to log is itself only logged).
 */
export async function cleanExpiredCarts(
  client: DbClient,
  opts: CartCleanupOptions,
): Promise<CartCleanupOutcome> {
  const startedAt = new Date();
  const timestamp = startedAt.toISOString();
  const context = `clean-expired-carts (${opts.trigger} run of ${timestamp})`;
  const budgetMs = opts.budgetMs ?? DEFAULT_BUDGET_MS;
  let deletedCount = 0;
  let batches = 0;
  let longestBatchMs = 0;
  let outcome: CartCleanupOutcome;
  try {
    const limit = opts.batchSize ?? await cartCleanupBatchSize(client, context);
    let complete = false;
    for (;;) {
      const began = performance.now();
      const deleted = await cleanExpiredCartsBatch(
        client,
        { limit },
        `${context}, batch ${batches + 1}`,
      );
      const took = performance.now() - began;
      batches++;
      deletedCount += deleted;
      longestBatchMs = Math.max(longestBatchMs, took);
      if (deleted < limit) {
        complete = true;
        break;
      }
      if (Date.now() - startedAt.getTime() >= budgetMs) break;
    }
    outcome = {
      status: 200,
      body: {
        success: true,
        deletedCount,
        timestamp,
        batches,
        longestBatchMs: Math.round(longestBatchMs * 10) / 10,
        complete,
      },
    };
  } catch (error) {
    log.error("expired-cart clean-up failed", {
      context,
      deletedCount,
      batches,
      error: errorText(error),
    });
    outcome = {
      status: 500,
      body: { success: false, error: errorText(error), deletedCount, timestamp },
    };
  }
  try {
    await recordAutomationRun(client, {
      automation: "clean-expired-carts",
      trigger: opts.trigger,
      startedAt,
      result: { ...outcome.body },
      error: outcome.body.success ? undefined : outcome.body.error,
    }, context);
  } catch (error) {
    log.error("expired-cart clean-up run not logged", { context, error: errorText(error) });
  }
  return outcome;
}
