/**
 * The typed client of a stand-in's control API (control_api.ts), for tests, benchmarks and the
 * dev command: list and read stored items, reset, install and clear faults, read and change the
 * rate limit, read the counters. Every call throws on an answer that is not 2xx, with the
 * method, the path, the status and the stand-in's message.
 *
 * ```ts
 * const resend = resendControl(Deno.env.get("RESEND_BASE_URL")!);
 * await resend.faults.add({ action: "status", status: 500, count: 2 });
 * const emails = await resend.list({ to: "ada@example.test" });
 * ```
 */
import type { ActiveFault, FaultRule } from "./faults.ts";
import type { StoredItem } from "./item_store.ts";
import type { Counters } from "./state.ts";

/** `GET /_local/stats`: the counters plus `<items>_stored`. */
export type StandInStats<Plural extends string> = Counters & Record<`${Plural}_stored`, number>;

/** The query of `GET /_local/<items>`: `limit` and the stand-in's filters. */
export type ListQuery<Filter extends string> = { limit?: number } & { [F in Filter]?: string };

/** A client of one stand-in's control API. */
export class ControlClient<Item extends StoredItem, Plural extends string, Filter extends string> {
  #base: string;
  #plural: Plural;

  /**
   * @param baseUrl the stand-in's URL (`RESEND_BASE_URL`), with or without a trailing slash.
   * @param plural its items' name in paths (`emails`).
   */
  constructor(baseUrl: string, plural: Plural) {
    this.#base = baseUrl.replace(/\/+$/, "");
    this.#plural = plural;
  }

  /**
   * Any call to the control API, answering its JSON (null for an empty body).
   *
   * @throws {Error} when the answer is not 2xx.
   */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.#base + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      throw new Error(`The stand-in answered ${method} ${path} with ${res.status}: ${text}`);
    }
    return (text ? JSON.parse(text) : null) as T;
  }

  /** Stored items, newest first (at most 1000 unless `limit` says more). */
  async list(query: ListQuery<Filter> = {}): Promise<Item[]> {
    const params = new URLSearchParams(
      Object.entries(query)
        .filter(([, value]) => value !== undefined)
        .map(([name, value]) => [name, String(value)]),
    );
    const search = params.size ? `?${params}` : "";
    return (await this.request<{ data: Item[] }>("GET", `/_local/${this.#plural}${search}`)).data;
  }

  /** One stored item. @throws {Error} when there is none with this id (404). */
  get(id: string): Promise<Item> {
    return this.request("GET", `/_local/${this.#plural}/${encodeURIComponent(id)}`);
  }

  /** Forgets items, idempotency keys, faults, rate-limit windows and counters; how many items. */
  async reset(): Promise<number> {
    return (await this.request<{ deleted: number }>("DELETE", `/_local/${this.#plural}`)).deleted;
  }

  /** The fault rules (faults.ts). */
  readonly faults = {
    /** Installs a rule; answers it with its id and counters. */
    add: (rule: FaultRule): Promise<ActiveFault> => this.request("POST", "/_local/faults", rule),
    /** The installed rules. */
    list: async (): Promise<ActiveFault[]> =>
      (await this.request<{ data: ActiveFault[] }>("GET", "/_local/faults")).data,
    /** Removes every rule and lets hanging calls go; how many rules there were. */
    clear: async (): Promise<number> =>
      (await this.request<{ deleted: number }>("DELETE", "/_local/faults")).deleted,
  };

  /** The per-key rate limit, in requests per second. */
  readonly rateLimit = {
    get: async (): Promise<number> =>
      (await this.request<RateLimitBody>("GET", "/_local/rate-limit")).requests_per_second,
    /** Changes it; answers the new limit. */
    set: async (requestsPerSecond: number): Promise<number> =>
      (await this.request<RateLimitBody>("PUT", "/_local/rate-limit", {
        requests_per_second: requestsPerSecond,
      })).requests_per_second,
  };

  /** The counters and how many items are stored. */
  stats(): Promise<StandInStats<Plural>> {
    return this.request("GET", "/_local/stats");
  }
}

interface RateLimitBody {
  requests_per_second: number;
}
