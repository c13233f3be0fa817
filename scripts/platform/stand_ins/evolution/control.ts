/**
 * The typed control client of the Evolution API stand-in (control_routes.ts), on the kit's
 * ControlClient (stored messages, faults, rate limit, stats, reset):
 *
 * ```ts
 * const evo = evolutionControl(Deno.env.get("EVOLUTION_API_BASE_URL")!);
 * await evo.setBehaviour({ qrIntervalMs: 200, qrLimit: 3 });
 * await evo.scan("user_abc");
 * await evo.customerMessage("user_abc", { from: "33611223344", text: "Bonjour" });
 * ```
 */
import { ControlClient } from "../kit/control_client.ts";
import type { CustomerMessage, InstanceView } from "./control_routes.ts";
import { MESSAGES, type StoredMessage } from "./message.ts";
import type { WebhookDelivery } from "./webhooks.ts";
import type { Behaviour } from "./world.ts";

export type { InstanceView } from "./control_routes.ts";
export type { StoredMessage } from "./message.ts";
export type { WebhookDelivery } from "./webhooks.ts";
export type { Behaviour } from "./world.ts";

const path = (name: string) => `/_local/instances/${encodeURIComponent(name)}`;

/** The control client of one Evolution API stand-in. */
export class EvolutionControl
  extends ControlClient<StoredMessage, "messages", "instance" | "direction"> {
  /** Every instance, oldest first. */
  async instances(): Promise<InstanceView[]> {
    return (await this.request<{ data: InstanceView[] }>("GET", "/_local/instances")).data;
  }

  /** One instance; null when there is none of that name. */
  async instance(name: string): Promise<InstanceView | null> {
    const all = await this.instances();
    return all.find((inst) => inst.name === name) ?? null;
  }

  /**
   * The phone scans the instance's code: it connects (`connection.update` open).
   *
   * @throws {Error} when the instance is unknown (404) or not connecting (409).
   */
  scan(name: string, phone: { number?: string; profileName?: string } = {}): Promise<InstanceView> {
    return this.request("POST", `${path(name)}/scan`, phone);
  }

  /**
   * A customer writes to the instance (`messages.upsert`, fromMe false); answers the message in
   * Evolution's shape.
   *
   * @throws {Error} when the instance is unknown (404) or not open (409).
   */
  customerMessage(name: string, message: CustomerMessage): Promise<Record<string, unknown>> {
    return this.request("POST", `${path(name)}/messages`, message);
  }

  /** Messages the instances sent (sendText), newest first; of one instance when named. */
  sentMessages(name?: string): Promise<StoredMessage[]> {
    return this.list({ direction: "outgoing", ...(name ? { instance: name } : {}) });
  }

  /** Messages customers sent, newest first; of one instance when named. */
  receivedMessages(name?: string): Promise<StoredMessage[]> {
    return this.list({ direction: "incoming", ...(name ? { instance: name } : {}) });
  }

  /** Webhook deliveries, newest first; of one instance when named. */
  async webhookDeliveries(name?: string): Promise<WebhookDelivery[]> {
    const query = name ? `?instance=${encodeURIComponent(name)}` : "";
    return (await this.request<{ data: WebhookDelivery[] }>(
      "GET",
      `/_local/webhook-deliveries${query}`,
    )).data;
  }

  /** The current behaviour. */
  behaviour(): Promise<Behaviour> {
    return this.request("GET", "/_local/behaviour");
  }

  /** Changes part of the behaviour; answers the whole. A reset restores the start values. */
  setBehaviour(patch: Partial<Behaviour>): Promise<Behaviour> {
    return this.request("PUT", "/_local/behaviour", patch);
  }

  /** Sets the numbers sendText answers as not on WhatsApp (besides those ending in 0000). */
  async setNotOnWhatsApp(numbers: string[]): Promise<string[]> {
    return (await this.request<{ numbers: string[] }>("PUT", "/_local/not-on-whatsapp", {
      numbers,
    })).numbers;
  }
}

/**
 * The control client of the Evolution API stand-in at `baseUrl` (`EVOLUTION_API_BASE_URL`).
 *
 * @example
 * const deliveries = await evolutionControl(Deno.env.get("EVOLUTION_API_BASE_URL")!).webhookDeliveries();
 */
export function evolutionControl(baseUrl: string): EvolutionControl {
  return new EvolutionControl(baseUrl, MESSAGES.plural);
}
