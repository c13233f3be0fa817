/**
 * The typed control client of the webhook receiver stand-in (control_routes.ts), on the kit's
 * ControlClient (stored deliveries, faults, rate limit, stats, reset):
 *
 * ```ts
 * const receiver = webhookReceiverControl(Deno.env.get("WEBHOOK_RECEIVER_URL")!);
 * const secret = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
 * await receiver.setSecrets("pabbly", [secret]);
 * // ... deliver to receiver.hookUrl("pabbly") ...
 * const [delivery] = await receiver.list({ endpoint: "pabbly" });
 * const { messages, duplicates } = await receiver.endpoint("pabbly");
 * ```
 */
import { ControlClient } from "../kit/control_client.ts";
import type { EndpointSecrets } from "./control_routes.ts";
import { DELIVERIES, type DeliveryFilter, type StoredDelivery } from "./delivery.ts";
import type { EndpointStats } from "./endpoints.ts";

export type { DeliveryFilter, StoredDelivery, VerificationFailure } from "./delivery.ts";
export type { EndpointStats } from "./endpoints.ts";

const path = (name: string) => `/_local/endpoints/${encodeURIComponent(name)}`;

/** The control client of one webhook receiver stand-in. */
export class WebhookReceiverControl
  extends ControlClient<StoredDelivery, "deliveries", DeliveryFilter> {
  #base: string;

  /** @param baseUrl the receiver's URL (`WEBHOOK_RECEIVER_URL`). */
  constructor(baseUrl: string) {
    super(baseUrl, DELIVERIES.plural);
    this.#base = baseUrl.replace(/\/+$/, "");
  }

  /** The URL a delivery engine posts to for this endpoint: `<base>/hooks/<name>`. */
  hookUrl(name: string): string {
    return `${this.#base}/hooks/${encodeURIComponent(name)}`;
  }

  /**
   * Replaces the endpoint's signing secrets (`whsec_...`, oldest first; `[]` removes them);
   * answers them.
   *
   * @throws {Error} when a secret is not in Standard Webhooks format (400).
   */
  async setSecrets(name: string, secrets: string[]): Promise<string[]> {
    return (await this.request<EndpointSecrets>("PUT", `${path(name)}/secrets`, { secrets }))
      .secrets;
  }

  /** The endpoint's signing secrets, oldest first. */
  async secrets(name: string): Promise<string[]> {
    return (await this.request<EndpointSecrets>("GET", `${path(name)}/secrets`)).secrets;
  }

  /** Statistics of every endpoint with a secret or a delivery, by name. */
  async endpoints(): Promise<EndpointStats[]> {
    return (await this.request<{ data: EndpointStats[] }>("GET", "/_local/endpoints")).data;
  }

  /** One endpoint's statistics (zeros when it has neither secret nor delivery). */
  endpoint(name: string): Promise<EndpointStats> {
    return this.request("GET", path(name));
  }
}

/**
 * The control client of the webhook receiver stand-in at `baseUrl` (`WEBHOOK_RECEIVER_URL`).
 *
 * @example
 * const verified = await webhookReceiverControl(url).list({ endpoint: "pabbly", verified: "true" });
 */
export function webhookReceiverControl(baseUrl: string): WebhookReceiverControl {
  return new WebhookReceiverControl(baseUrl);
}
