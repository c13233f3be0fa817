/**
 * The receiver's endpoints: each `/hooks/<name>` is one, with the signing secrets it was given
 * through the control API and the `webhook-id`s of the messages it accepted, by which it
 * recognises a second delivery of one message as a duplicate (per endpoint, as an automation
 * service deduplicates). Secrets live in memory only; the seen ids are rebuilt from the stored
 * deliveries at start. Also the per-endpoint statistics of the control API.
 */
import { isAccepted, type StoredDelivery } from "./delivery.ts";

/** Statistics of one endpoint, as `GET /_local/endpoints` shows them. */
export interface EndpointStats {
  endpoint: string;
  /** How many secrets it holds. */
  secrets: number;
  /** Every delivery recorded. */
  received: number;
  /** Deliveries whose signature verified. */
  verified: number;
  /** Accepted deliveries of a message it already had. */
  duplicates: number;
  /** Distinct messages: accepted deliveries that were not duplicates. */
  messages: number;
}

/** Secrets and seen message ids per endpoint. */
export class EndpointBook {
  #secrets = new Map<string, string[]>();
  #seen = new Map<string, Set<string>>();

  /** The endpoint's secrets, oldest first (empty when it has none). */
  secrets(endpoint: string): string[] {
    return [...(this.#secrets.get(endpoint) ?? [])];
  }

  /** Replaces the endpoint's secrets; an empty list removes them. */
  setSecrets(endpoint: string, secrets: string[]): void {
    if (secrets.length === 0) this.#secrets.delete(endpoint);
    else this.#secrets.set(endpoint, [...secrets]);
  }

  /**
   * Marks an accepted message's id as seen at this endpoint; true when it was seen before (a
   * duplicate). Synchronous, so two deliveries at once cannot both be new.
   */
  seen(endpoint: string, webhookId: string): boolean {
    let ids = this.#seen.get(endpoint);
    if (!ids) this.#seen.set(endpoint, ids = new Set());
    if (ids.has(webhookId)) return true;
    ids.add(webhookId);
    return false;
  }

  /** Puts back the seen ids of deliveries read from the file. */
  restore(deliveries: StoredDelivery[]): void {
    for (const delivery of deliveries) {
      if (isAccepted(delivery) && delivery.webhook_id) {
        this.seen(delivery.endpoint, delivery.webhook_id);
      }
    }
  }

  /** Forgets every secret and seen id. */
  clear(): void {
    this.#secrets.clear();
    this.#seen.clear();
  }

  /**
   * Statistics of every endpoint that has a secret or a delivery, by name (or of the one
   * named, with zeros when it has neither).
   */
  stats(deliveries: StoredDelivery[], only?: string): EndpointStats[] {
    const byName = new Map<string, EndpointStats>();
    const entry = (endpoint: string) => {
      let stats = byName.get(endpoint);
      if (!stats) {
        stats = {
          endpoint,
          secrets: this.#secrets.get(endpoint)?.length ?? 0,
          received: 0,
          verified: 0,
          duplicates: 0,
          messages: 0,
        };
        byName.set(endpoint, stats);
      }
      return stats;
    };
    if (only !== undefined) entry(only);
    else for (const endpoint of this.#secrets.keys()) entry(endpoint);
    for (const delivery of deliveries) {
      if (only !== undefined && delivery.endpoint !== only) continue;
      const stats = entry(delivery.endpoint);
      stats.received++;
      if (delivery.verified) stats.verified++;
      if (delivery.duplicate) stats.duplicates++;
      else if (isAccepted(delivery)) stats.messages++;
    }
    return [...byName.values()].sort((a, b) => a.endpoint.localeCompare(b.endpoint));
  }
}
