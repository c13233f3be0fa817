/**
 * Webhook deliveries of the Evolution API stand-in, with Evolution's rules
 * (src/api/integrations/event/webhook/webhook.controller.ts): an event goes out when the
 * instance's webhook is enabled and its `events` list holds the event's upper-snake name; it is
 * POSTed as JSON `{ event, instance, data, destination, date_time, sender, server_url, apikey }`
 * with the config's `headers` (to `url/<event-with-dashes>` when `byEvents`); a failure is retried
 * up to `maxAttempts` times after `min(base * 2^(n-1), base * 60)` ± 20 % (never below `base`),
 * except answers 400, 401, 403, 404 and 422, which end it at once. Deliveries run on their own and
 * never hold an API answer. Every delivery is logged (attempts, statuses, outcome) for the
 * control API.
 */

/** Statuses Evolution does not retry. */
export const NON_RETRYABLE_STATUSES = [400, 401, 403, 404, 422] as const;

/** An instance's webhook configuration, as `/webhook/find` answers it (Prisma's row). */
export interface WebhookRow {
  id: string;
  url: string;
  headers: Record<string, string> | null;
  enabled: boolean;
  events: string[];
  webhookByEvents: boolean;
  webhookBase64: boolean;
  createdAt: string;
  updatedAt: string;
  instanceId: string;
}

/** The body Evolution POSTs. */
export interface WebhookBody {
  event: string;
  instance: string;
  data: unknown;
  destination: string;
  date_time: string;
  sender?: string;
  server_url: string;
  apikey: string | null;
}

/** One try of a delivery. */
export interface DeliveryAttempt {
  at: string;
  /** The receiver's status; null when it could not be reached or timed out. */
  status: number | null;
  error: string | null;
  duration_ms: number;
}

/** A delivery as the control API lists it. */
export interface WebhookDelivery {
  id: string;
  instance: string;
  event: string;
  url: string;
  headers: Record<string, string>;
  body: WebhookBody;
  /** `pending` while trying or waiting to retry. */
  state: "pending" | "delivered" | "failed";
  attempts: DeliveryAttempt[];
  created_at: string;
}

/** Retry settings (Evolution: 10 attempts, 5 s base, 300 s cap, 30 s timeout). */
export interface RetryRules {
  maxAttempts: number;
  baseDelayMs: number;
  timeoutMs: number;
}

/** Evolution's upper-snake name of an event: `qrcode.updated` → `QRCODE_UPDATED`. */
export function configName(event: string): string {
  return event.replace(/[.-]/g, "_").toUpperCase();
}

/** The delay before try `attempt + 1` after `attempt` failures, as Evolution computes it. */
export function retryDelayMs(attempt: number, baseMs: number, random = Math.random): number {
  const next = Math.min(baseMs * 2 ** (attempt - 1), baseMs * 60);
  const jitter = next * 0.2 * (random() * 2 - 1);
  return Math.max(baseMs, next + jitter);
}

/** Most deliveries kept in the log (oldest dropped first). */
export const MAX_LOGGED_DELIVERIES = 10_000;

/** Sends webhooks and keeps their log. */
export class WebhookDispatcher {
  #log: WebhookDelivery[] = [];
  #abort = new AbortController();
  #running = new Set<Promise<void>>();
  #rules: () => RetryRules;
  #onChange: () => void;

  /** `rules` is read at each delivery (the control API can change it). */
  constructor(rules: () => RetryRules, onChange: () => void = () => {}) {
    this.#rules = rules;
    this.#onChange = onChange;
  }

  /** Deliveries, newest first, optionally of one instance. */
  list(instance?: string): WebhookDelivery[] {
    const out = instance ? this.#log.filter((d) => d.instance === instance) : this.#log;
    return [...out].reverse().map((d) => structuredClone(d));
  }

  /** Starts delivering `body` to `url` (never waits for it). */
  send(url: string, headers: Record<string, string>, body: WebhookBody): WebhookDelivery {
    const delivery: WebhookDelivery = {
      id: crypto.randomUUID(),
      instance: body.instance,
      event: body.event,
      url,
      headers,
      body,
      state: "pending",
      attempts: [],
      created_at: new Date().toISOString(),
    };
    this.#log.push(delivery);
    if (this.#log.length > MAX_LOGGED_DELIVERIES) this.#log.shift();
    const task = this.#deliver(delivery, this.#abort.signal).finally(() => {
      this.#running.delete(task);
    });
    this.#running.add(task);
    return delivery;
  }

  async #deliver(delivery: WebhookDelivery, signal: AbortSignal): Promise<void> {
    const rules = this.#rules();
    const payload = JSON.stringify(delivery.body);
    for (let attempt = 1; attempt <= rules.maxAttempts; attempt++) {
      if (signal.aborted) return;
      const started = performance.now();
      const at = new Date().toISOString();
      let status: number | null = null;
      let error: string | null = null;
      try {
        const res = await fetch(delivery.url, {
          method: "POST",
          headers: { ...delivery.headers, "content-type": "application/json" },
          body: payload,
          signal: AbortSignal.any([signal, AbortSignal.timeout(rules.timeoutMs)]),
        });
        await res.body?.cancel();
        status = res.status;
        if (!res.ok) error = `The receiver answered ${res.status}`;
      } catch (e) {
        if (signal.aborted) return;
        error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      delivery.attempts.push({
        at,
        status,
        error,
        duration_ms: Math.round(performance.now() - started),
      });
      if (status !== null && status >= 200 && status < 300) {
        delivery.state = "delivered";
        this.#onChange();
        return;
      }
      const final = attempt === rules.maxAttempts ||
        (status !== null && (NON_RETRYABLE_STATUSES as readonly number[]).includes(status));
      if (final) {
        delivery.state = "failed";
        this.#onChange();
        return;
      }
      this.#onChange();
      const wait = retryDelayMs(attempt, rules.baseDelayMs);
      await new Promise<void>((resolve) => {
        const stop = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          signal.removeEventListener("abort", stop);
          resolve();
        }, wait);
        signal.addEventListener("abort", stop, { once: true });
      });
    }
  }

  /** Abandons every delivery in progress and forgets the log. */
  async reset(): Promise<void> {
    await this.stop();
    this.#abort = new AbortController();
    this.#log = [];
  }

  /** Abandons every delivery in progress (retries included) and waits for them to end. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#running]);
  }
}
