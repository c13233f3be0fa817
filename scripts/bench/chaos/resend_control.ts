/**
 * The chaos check's only use of the Resend stand-in's control API (`/_local/...` over HTTP):
 * set its rate limit, read its counters, list the emails it accepted. Kept in this one small
 * module so that the typed control client of the stand-in kit can replace it in one place.
 */
import type { StoredEmail } from "../../platform/resend/email_store.ts";
import type { Counters } from "../../platform/resend/state.ts";

export type { StoredEmail };

/** `GET /_local/stats`: the stand-in's counters and how many emails it holds. */
export type StandInStats = Counters & { emails_stored: number };

/** What the chaos check asks of the Resend stand-in. */
export interface ResendControl {
  /** `PUT /_local/rate-limit`: requests admitted per second and API key. */
  setRateLimit(requestsPerSecond: number): Promise<void>;
  /** `GET /_local/stats`. */
  stats(): Promise<StandInStats>;
  /** `GET /_local/emails`: every stored email, newest first. */
  emails(): Promise<StoredEmail[]>;
}

/** A control client of the stand-in at `baseUrl` (the platform's `resendUrl`). */
export function resendControl(baseUrl: string): ResendControl {
  async function call<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await fetch(`${baseUrl}${path}`, init);
    if (!res.ok) {
      throw new Error(
        `Resend stand-in: ${init?.method ?? "GET"} ${path} answered ${res.status} ${await res
          .text()}`,
      );
    }
    return await res.json() as T;
  }
  return {
    async setRateLimit(requestsPerSecond) {
      await call("/_local/rate-limit", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ requests_per_second: requestsPerSecond }),
      });
    },
    stats: () => call<StandInStats>("/_local/stats"),
    emails: async () => (await call<{ data: StoredEmail[] }>("/_local/emails?limit=100000")).data,
  };
}
