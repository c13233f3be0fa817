/**
 * The local stand-in for Resend's email API (https://resend.com/docs/api-reference), on one
 * port: the `resend` SDK works against it through its base URL (`RESEND_BASE_URL`, or
 * `new Resend(key, { baseUrl })`).
 *
 * - `/emails`, `/emails/batch`, `/emails/{id}`: Resend's endpoints (emails_api.ts), with API
 *   keys, idempotency keys, the per-key rate limit and faults on demand;
 * - `/_local/...`: the stand-in's control API (control_api.ts);
 * - `/` and `/inbox/{id}`: the inbox page (inbox_page.ts).
 *
 * Emails are kept in memory and, with `persistPath`, appended to a JSONL file read back at start.
 */
import { ControlApi } from "./control_api.ts";
import { EmailStore } from "./email_store.ts";
import { EmailsApi, isEmailsPath } from "./emails_api.ts";
import { APPLICATION_ERROR, ENDPOINT_NOT_FOUND, errorResponse } from "./errors.ts";
import { FaultInjector } from "./faults.ts";
import { IdempotencyCache } from "./idempotency.ts";
import {
  INBOX_LIST_LIMIT,
  INBOX_VERSION_HEADER,
  renderEmailPage,
  renderInboxItems,
  renderInboxList,
  renderNotFound,
} from "./inbox_page.ts";
import { DEFAULT_REQUESTS_PER_SECOND, SlidingWindowLimiter } from "./rate_limiter.ts";
import { type StandInState, zeroCounters } from "./state.ts";

/** Options of {@link startResendStandIn}. */
export interface ResendStandInOptions {
  /** Port on 127.0.0.1; 0 picks a free one (see {@link ResendStandIn.url}). */
  port: number;
  /** Accepted API keys; at least one. */
  apiKeys: string[];
  /** Requests admitted per second and API key. Default 5, as on Resend. */
  requestsPerSecond?: number;
  /** JSONL file the emails are appended to and loaded from; in memory only when absent. */
  persistPath?: string;
  /** Receives one JSON line per failure. Default: standard error. */
  log?: (line: string) => void;
  /** The clock, in milliseconds since the epoch (tests). Default `Date.now`. */
  now?: () => number;
  /** How long idempotency keys are remembered (tests). Default 24 hours. */
  idempotencyTtlMs?: number;
}

/** A running stand-in. */
export interface ResendStandIn {
  /** Base URL, e.g. `http://127.0.0.1:54324`: the SDK's `baseUrl` and the inbox. */
  url: string;
  port: number;
  /** Lets hanging and delayed calls go, closes the server, finishes writing the file. */
  stop(): Promise<void>;
}

const HTML_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** `GET /`, `/inbox`, `/inbox?partial=1` and `/inbox/{id}`. */
function inbox(req: Request, url: URL, state: StandInState): Response {
  if (req.method !== "GET") {
    return new Response("Method not allowed", { status: 405, headers: { allow: "GET" } });
  }
  const path = url.pathname.replace(/\/+$/, "") || "/";
  if (path === "/" || path === "/inbox") {
    const emails = state.store.list({ limit: INBOX_LIST_LIMIT });
    const version = String(state.store.revision);
    const body = url.searchParams.has("partial")
      ? renderInboxItems(emails)
      : renderInboxList(emails, state.store.revision);
    return new Response(body, { headers: { ...HTML_HEADERS, [INBOX_VERSION_HEADER]: version } });
  }
  let id = path.slice("/inbox/".length);
  try {
    id = decodeURIComponent(id);
  } catch {
    // an undecodable id is not found
  }
  const email = state.store.get(id);
  return email
    ? new Response(renderEmailPage(email), { headers: HTML_HEADERS })
    : new Response(renderNotFound(), { status: 404, headers: HTML_HEADERS });
}

function isInboxPath(path: string): boolean {
  return path === "/" || path === "/inbox" || path === "/inbox/" ||
    /^\/inbox\/[^/]+$/.test(path);
}

/**
 * Starts the stand-in; loads `persistPath` first when given.
 *
 * @throws {Error} when the options are invalid, the file cannot be read or the port is taken.
 * @example
 * const resend = await startResendStandIn({ port: 0, apiKeys: ["re_test"] });
 * const client = new Resend("re_test", { baseUrl: resend.url });
 * await resend.stop();
 */
export async function startResendStandIn(opts: ResendStandInOptions): Promise<ResendStandIn> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const now = opts.now ?? Date.now;
  const requestsPerSecond = opts.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND;
  if (!Number.isInteger(requestsPerSecond) || requestsPerSecond < 1) {
    throw new Error(
      `The Resend stand-in's rate limit must be a positive integer, not ${opts.requestsPerSecond}`,
    );
  }
  if (opts.apiKeys.length === 0 || opts.apiKeys.some((key) => !key)) {
    throw new Error("The Resend stand-in needs at least one non-empty API key");
  }

  const state: StandInState = {
    apiKeys: new Set(opts.apiKeys),
    store: await EmailStore.open({ path: opts.persistPath, log }),
    idempotency: new IdempotencyCache({ ttlMs: opts.idempotencyTtlMs, now }),
    limiter: new SlidingWindowLimiter(requestsPerSecond, now),
    faults: new FaultInjector(),
    counters: zeroCounters(),
    now,
  };
  const emails = new EmailsApi(state);
  const control = new ControlApi(state);

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    try {
      if (path === "/_local" || path.startsWith("/_local/")) return await control.handle(req, url);
      if (isEmailsPath(path)) return await emails.handle(req, url);
      if (isInboxPath(path)) return inbox(req, url, state);
      return errorResponse(ENDPOINT_NOT_FOUND);
    } catch (error) {
      log(JSON.stringify({
        level: "error",
        component: "resend_stand_in",
        msg: "Request failed",
        method: req.method,
        path,
        error: error instanceof Error ? error.message : String(error),
      }));
      return errorResponse(APPLICATION_ERROR);
    }
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: opts.port, onListen() {} }, handler);
  const port = server.addr.port;
  let stopped: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop() {
      stopped ??= (async () => {
        state.faults.releaseAll();
        await server.shutdown();
        await state.store.flush();
      })();
      return stopped;
    },
  };
}
