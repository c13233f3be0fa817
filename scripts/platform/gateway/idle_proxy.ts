/**
 * Forwards one request to a local upstream and streams the answer back, enforcing a request
 * idle timeout the way Supabase's edge runtime does: no response headers within the limit
 * gives a timeout result; after the headers, a body that stays silent that long is cut off.
 *
 * The timer acts on the streams itself rather than trusting `AbortSignal` alone: in Deno 2.9 an
 * abort does not always wake a body read that is already pending.
 */

/** What came of forwarding. */
export type ProxyOutcome =
  | { kind: "response"; response: Response }
  | { kind: "timeout" }
  | { kind: "failed"; error: unknown };

/** Options of {@link proxyWithIdleTimeout}. */
export interface IdleProxyOptions {
  /** Milliseconds allowed before the headers, then between body chunks. */
  idleTimeoutMs: number;
  /** Called when a body is cut off for silence. */
  onBodyTimeout?: () => void;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
]);

/** Copies headers without hop-by-hop ones (and without Host). */
export function endToEndHeaders(from: Headers): Headers {
  const out = new Headers();
  for (const [key, value] of from) if (!HOP_BY_HOP.has(key)) out.append(key, value);
  return out;
}

/**
 * Sends `init` to `url`; the returned response streams the upstream body unchanged.
 *
 * @example
 * const outcome = await proxyWithIdleTimeout("http://127.0.0.1:9000/hello", init, {
 *   idleTimeoutMs: 150_000,
 * });
 */
export async function proxyWithIdleTimeout(
  url: string,
  init: RequestInit,
  opts: IdleProxyOptions,
): Promise<ProxyOutcome> {
  const limit = opts.idleTimeoutMs;
  const abort = new AbortController();
  let onIdle = () => {};
  let timer = setTimeout(() => onIdle(), limit);
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => onIdle(), limit);
  };

  const timedOut = new Promise<"timeout">((resolve) => {
    onIdle = () => {
      abort.abort();
      resolve("timeout");
    };
  });
  const sent = fetch(url, { ...init, redirect: "manual", signal: abort.signal });
  let upstream: Response | "timeout";
  try {
    upstream = await Promise.race([sent, timedOut]);
  } catch (error) {
    clearTimeout(timer);
    return { kind: "failed", error };
  }
  if (upstream === "timeout") {
    // Headers may still arrive after we gave up: drop them.
    sent.then((late) => late.body?.cancel(), () => {});
    return { kind: "timeout" };
  }

  const headers = endToEndHeaders(upstream.headers);
  const responseInit = { status: upstream.status, statusText: upstream.statusText, headers };
  if (!upstream.body) {
    clearTimeout(timer);
    return { kind: "response", response: new Response(null, responseInit) };
  }
  const reader = upstream.body.getReader();
  let ended = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      onIdle = () => {
        if (ended) return;
        ended = true;
        opts.onBodyTimeout?.();
        controller.error(
          new Error(`Function stayed silent longer than the request idle timeout (${limit} ms)`),
        );
        abort.abort();
        reader.cancel().catch(() => {});
      };
      rearm();
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (ended) return;
        if (done) {
          ended = true;
          clearTimeout(timer);
          controller.close();
        } else {
          rearm();
          controller.enqueue(value);
        }
      } catch (error) {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        controller.error(error);
      }
    },
    cancel(reason) {
      ended = true;
      clearTimeout(timer);
      abort.abort();
      return reader.cancel(reason).catch(() => {});
    },
  });
  return { kind: "response", response: new Response(body, responseInit) };
}
