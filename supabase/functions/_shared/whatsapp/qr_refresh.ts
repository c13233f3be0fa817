/**
 * `refresh-qr-codes`: the fallback for QR codes that Evolution's `qrcode.updated` webhooks did
 * not bring. Called every minute by the pg_cron job of the same name (only when an instance is
 * due), or by hand: each instance still connecting whose code is older than
 * `whatsapp_settings.qr_refresh_after` (`whatsapp_qr_due`) gets one from
 * `GET /instance/connect/{instance}`, stored with `whatsapp_qr_store`; an instance that turns
 * out to be open (or closed) has that state recorded (`whatsapp_connection_store`).
 *
 * Instances are asked a few at a time; a failure for one does not stop the others and is
 * counted in the summary.
 */
import type { EvolutionClient } from "../providers/whatsapp/evolution_client.ts";
import type { DbClient } from "../runtime/client.ts";
import { errorText, log } from "../runtime/log.ts";
import { connectionStore, qrDue, qrStore } from "./rpc.ts";

/** What one refresh did. */
export interface QrRefreshSummary {
  /** Instances due. */
  checked: number;
  /** Instances that got a new QR code. */
  refreshed: number;
  /** Instances found connected (no code needed any more). */
  connected: number;
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

/**
 * Refreshes the QR codes that are due and answers what it did.
 *
 * @example
 * const summary = await refreshQrCodes(serviceClient(env), new EvolutionClient(evolutionConfig()));
 * // { checked: 3, refreshed: 2, connected: 1, failed: 0 }
 */
export async function refreshQrCodes(
  client: DbClient,
  evolution: EvolutionClient,
  opts: QrRefreshOptions = {},
): Promise<QrRefreshSummary> {
  const due = await qrDue(client, opts.limit);
  const summary: QrRefreshSummary = { checked: due.length, refreshed: 0, connected: 0, failed: 0 };
  let next = 0;
  const worker = async () => {
    while (next < due.length) {
      const { instance_name: name } = due[next++];
      const context = `QR refresh of instance ${name}`;
      try {
        const answer = await evolution.connect(name);
        if ("qr" in answer) {
          await qrStore(client, name, answer.qr, context);
          summary.refreshed++;
        } else {
          await connectionStore(client, name, answer.state, context);
          if (answer.state === "open") summary.connected++;
        }
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
