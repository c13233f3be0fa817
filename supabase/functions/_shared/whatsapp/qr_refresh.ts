/**
 * `refresh-qr-codes`: the fallback for QR codes that Evolution's `qrcode.updated` webhooks did
 * not bring. Called every minute by the pg_cron job of the same name (only when an instance is
 * due), or by hand: each instance still connecting whose code is older than
 * `whatsapp_settings.qr_refresh_after` (`whatsapp_qr_due`) gets one from
 * `GET /instance/connect/{instance}`, stored with `whatsapp_qr_store`; an instance that turns
 * out to be open (or closed) has that state recorded (`whatsapp_connection_store`).
 *
 * An instance Evolution no longer has (404) is recorded as deleted, so it stops being due and
 * the user's settings show it gone (they can ask for a new one).
 *
 * Instances are asked a few at a time; a failure for one does not stop the others and is
 * counted in the summary.
 */
import {
  type EvolutionClient,
  InstanceNotFoundError,
} from "../providers/whatsapp/evolution_client.ts";
import type { DbClient } from "../runtime/client.ts";
import { errorText, log } from "../runtime/log.ts";
import { connectionStore, instanceRemoved, qrDue, qrStore } from "./rpc.ts";

/** What one refresh did. */
export interface QrRefreshSummary {
  /** Instances due. */
  checked: number;
  /** Instances that got a new QR code. */
  refreshed: number;
  /** Instances found connected (no code needed any more). */
  connected: number;
  /** Instances Evolution no longer has: recorded as deleted. */
  gone: number;
  /** Instances whose call or record failed (they stay due). */
  failed: number;
}

/** Options of {@link refreshQrCodes}. */
export interface QrRefreshOptions {
  /** Calls to Evolution at once (default 5). */
  concurrency?: number;
  /** Instances at most (default: `whatsapp_settings.qr_refresh_batch`). */
  limit?: number;
}

/** What happened to one due instance. */
type Refreshed = "refreshed" | "connected" | "state_recorded" | "gone";

/** Asks Evolution for one instance's current code and records the answer. */
async function refreshOne(
  client: DbClient,
  evolution: EvolutionClient,
  name: string,
  userId: string,
): Promise<Refreshed> {
  const context = `QR refresh of instance ${name}`;
  let answer: Awaited<ReturnType<EvolutionClient["connect"]>>;
  try {
    answer = await evolution.connect(name);
  } catch (error) {
    if (!(error instanceof InstanceNotFoundError)) throw error;
    await instanceRemoved(client, userId, "deleted");
    log.warn("instance gone from Evolution: recorded as deleted", { instance: name });
    return "gone";
  }
  if ("qr" in answer) {
    await qrStore(client, name, answer.qr, context);
    return "refreshed";
  }
  await connectionStore(client, name, answer.state, context);
  return answer.state === "open" ? "connected" : "state_recorded";
}

/**
 * Refreshes the QR codes that are due and answers what it did.
 *
 * @example
 * const summary = await refreshQrCodes(serviceClient(env), new EvolutionClient(evolutionConfig()));
 * // { checked: 3, refreshed: 2, connected: 1, gone: 0, failed: 0 }
 */
export async function refreshQrCodes(
  client: DbClient,
  evolution: EvolutionClient,
  opts: QrRefreshOptions = {},
): Promise<QrRefreshSummary> {
  const due = await qrDue(client, opts.limit);
  const summary: QrRefreshSummary = {
    checked: due.length,
    refreshed: 0,
    connected: 0,
    gone: 0,
    failed: 0,
  };
  let next = 0;
  const worker = async () => {
    while (next < due.length) {
      const { instance_name: name, user_id: userId } = due[next++];
      try {
        const outcome = await refreshOne(client, evolution, name, userId);
        if (outcome !== "state_recorded") summary[outcome]++;
      } catch (error) {
        summary.failed++;
        log.warn("qr refresh failed", { instance: name, error: errorText(error) });
      }
    }
  };
  const workers = Math.max(1, Math.min(opts.concurrency ?? 5, due.length));
  await Promise.all(Array.from({ length: workers }, worker));
  log.info("qr codes refreshed", { ...summary });
  return summary;
}
