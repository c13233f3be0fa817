/**
 * Runs one stand-in on one port of 127.0.0.1. A stand-in is a module (a {@link StandInModule})
 * that declares its provider's API, what it stores and its pages; the kit gives it the rest:
 *
 * - `/_local/...`: the control API (control_api.ts);
 * - the paths its API owns: faults, authentication, rate limit, counters (provider_api.ts);
 * - its pages (page.ts), GET only;
 * - any other path: the provider's 404; an exception: the provider's 500, logged.
 *
 * Items are kept in memory and, with `persistPath`, appended to a JSONL file read back at start
 * (item_store.ts). `stop()` lets hanging and delayed calls go, closes the server and finishes
 * writing the file.
 */
import { ControlApi, type ControlRoute, type ItemKind } from "./control_api.ts";
import { FaultInjector } from "./faults.ts";
import { IdempotencyCache } from "./idempotency.ts";
import { ItemStore, type StoredItem } from "./item_store.ts";
import type { PageRoute } from "./page.ts";
import { handleApiCall, type ProviderApi } from "./provider_api.ts";
import { SlidingWindowLimiter } from "./rate_limiter.ts";
import { findRoute, trimSlashes } from "./router.ts";
import { type StandInState, zeroCounters } from "./state.ts";

/** What a stand-in declares; see resend/server.ts for one. */
export interface StandInModule<Item extends StoredItem> {
  /** The provider's name in messages: `Resend` (“The Resend stand-in's rate limit…”). */
  name: string;
  /** The `component` of its log lines: `resend_stand_in`. */
  component: string;
  items: ItemKind<Item>;
  api: ProviderApi<Item>;
  pages: PageRoute<Item>[];
  /** Control routes of its own under `/_local/`, besides the kit's. */
  control?: ControlRoute<Item>[];
  /**
   * Forgets the stand-in's own state (instances, timers, logs) when `DELETE /_local/<items>`
   * resets the kit's.
   */
  onReset?: () => void | Promise<void>;
  /**
   * Runs once the item store is open, before the server listens: a stand-in that keeps state of
   * its own in a file puts it back here (Evolution's instances and their messages).
   */
  onStart?: (state: StandInState<Item>) => void | Promise<void>;
  /** Stops the stand-in's own work (timers, outgoing calls) before the server closes. */
  onStop?: () => void | Promise<void>;
}

/** Options every stand-in takes. */
export interface StandInOptions {
  /** Port on 127.0.0.1; 0 picks a free one (see {@link RunningStandIn.url}). */
  port: number;
  /** Requests admitted per second and key. */
  requestsPerSecond: number;
  /** JSONL file the items are appended to and loaded from; in memory only when absent. */
  persistPath?: string;
  /** Receives one JSON line per failure. Default: standard error. */
  log?: (line: string) => void;
  /** The clock, in milliseconds since the epoch (tests). Default `Date.now`. */
  now?: () => number;
  /** How long idempotency keys are remembered (tests). Default 24 hours. */
  idempotencyTtlMs?: number;
}

/** A running stand-in. */
export interface RunningStandIn {
  /** Base URL, e.g. `http://127.0.0.1:54324`: the provider's API, its pages and `/_local/`. */
  url: string;
  port: number;
  /** Lets hanging and delayed calls go, closes the server, finishes writing the file. */
  stop(): Promise<void>;
}

/**
 * Starts a stand-in; loads `persistPath` first when given.
 *
 * @throws {Error} when the rate limit is not a positive integer, the file cannot be read or the
 *   port is taken.
 * @example
 * const running = await startStandIn(resendModule(["re_test"]), { port: 0, requestsPerSecond: 5 });
 * await running.stop();
 */
export async function startStandIn<Item extends StoredItem>(
  module: StandInModule<Item>,
  opts: StandInOptions,
): Promise<RunningStandIn> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const now = opts.now ?? Date.now;
  if (!Number.isInteger(opts.requestsPerSecond) || opts.requestsPerSecond < 1) {
    throw new Error(
      `The ${module.name} stand-in's rate limit must be a positive integer, ` +
        `not ${opts.requestsPerSecond}`,
    );
  }
  const state: StandInState<Item> = {
    store: await ItemStore.open({
      path: opts.persistPath,
      isItem: module.items.isItem,
      singular: module.items.singular,
      component: module.component,
      log,
    }),
    idempotency: new IdempotencyCache({ ttlMs: opts.idempotencyTtlMs, now }),
    limiter: new SlidingWindowLimiter(opts.requestsPerSecond, now),
    faults: new FaultInjector(),
    counters: zeroCounters(),
    now,
    log,
  };
  await module.onStart?.(state);
  const control = new ControlApi(state, module.items, module.control, module.onReset);

  const pages = async (req: Request, url: URL): Promise<Response | null> => {
    const match = findRoute(module.pages, req.method, trimSlashes(url.pathname));
    if (match.kind === "not_found") return null;
    if (match.kind === "method_not_allowed") {
      return new Response("Method not allowed", {
        status: 405,
        headers: { allow: match.allowed.join(", ") },
      });
    }
    return await match.route.handle(match.params, { req, url, state });
  };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    try {
      if (path === "/_local" || path.startsWith("/_local/")) return await control.handle(req, url);
      if (module.api.owns(path)) return await handleApiCall(module.api, state, req, url);
      return await pages(req, url) ?? module.api.errors.notFound();
    } catch (error) {
      log(JSON.stringify({
        level: "error",
        component: module.component,
        msg: "Request failed",
        method: req.method,
        path,
        error: error instanceof Error ? error.message : String(error),
      }));
      return module.api.errors.internal();
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
        await module.onStop?.();
        await server.shutdown();
        await state.store.flush();
      })();
      return stopped;
    },
  };
}
