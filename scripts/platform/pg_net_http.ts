/**
 * Executes one pg_net request with `fetch` and turns the outcome into the row pg_net stores in
 * `net._http_response`, with pg_net's (libcurl's) texts for timeouts and failures.
 */

/** pg_net's version, sent in its User-Agent header. */
const PG_NET_VERSION = "0.20.4";

/** A request taken from `net.http_request_queue`. */
export interface QueuedRequest {
  /** bigint, as text. */
  id: string;
  method: string;
  url: string;
  /** Header names and values as `jsonb_each_text` gives them; null values dropped. */
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer> | null;
  timeoutMs: number;
}

/** One row of `net._http_response`, without `created`. */
export interface ResponseRow {
  id: string;
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

/** The row to store, and the underlying error when the request failed. */
export interface Outcome {
  row: ResponseRow;
  /** Why the request failed, for the log; absent on success (any HTTP status). */
  cause?: string;
}

/** libcurl's texts for the failures a fetch can run into. */
export const CURL_MESSAGES = {
  unsupportedProtocol: "Unsupported protocol",
  badUrl: "URL using bad/illegal format or missing URL",
  badArgument: "A libcurl function was given a bad argument",
  couldNotResolve: "Couldn't resolve host name",
  couldNotConnect: "Couldn't connect to server",
  gotNothing: "Server returned nothing (no headers, no data)",
  sslConnect: "SSL connect error",
  peerVerification: "SSL peer certificate or SSH remote key was not OK",
  tooManyRedirects: "Number of redirects hit maximum amount",
  receiveError: "Failure when receiving data from the peer",
  aborted: "Operation was aborted by an application callback",
} as const;

/**
 * pg_net's timeout message. It splits the time into DNS, TCP/SSL handshake and HTTP phases with
 * curl's timers; fetch does not expose them, so the whole time is reported as the HTTP phase.
 */
export function timeoutMessage(timeoutMs: number, totalMs: number): string {
  const ms = (n: number) => n.toFixed(6);
  return `Timeout of ${timeoutMs} ms reached. Total time: ${ms(totalMs)} ms (DNS time: ${
    ms(0)
  } ms, TCP/SSL handshake time: ${ms(0)} ms, HTTP Request/Response time: ${ms(totalMs)} ms)`;
}

/** Maps a fetch error to the libcurl text pg_net would store. */
export function curlMessageFor(error: unknown): string {
  const text = errorText(error);
  if (/Invalid URL/i.test(text)) return CURL_MESSAGES.badUrl;
  if (/dns error|failed to lookup|Name or service not known|resolve/i.test(text)) {
    return CURL_MESSAGES.couldNotResolve;
  }
  if (/Connection refused|tcp connect error|ConnectionRefused|os error 111/i.test(text)) {
    return CURL_MESSAGES.couldNotConnect;
  }
  if (/closed before message completed|IncompleteMessage|connection closed/i.test(text)) {
    return CURL_MESSAGES.gotNothing;
  }
  if (/certificate|UnknownIssuer|InvalidCertificate/i.test(text)) {
    return CURL_MESSAGES.peerVerification;
  }
  if (/tls|ssl|handshake/i.test(text)) return CURL_MESSAGES.sslConnect;
  if (/redirect/i.test(text)) return CURL_MESSAGES.tooManyRedirects;
  return CURL_MESSAGES.receiveError;
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

function failure(
  id: string,
  errorMsg: string,
  cause: string,
  timedOut = false,
): Outcome {
  return {
    row: {
      id,
      status_code: null,
      content_type: null,
      headers: null,
      content: null,
      timed_out: timedOut,
      error_msg: errorMsg,
    },
    cause,
  };
}

/** The headers sent: the request's own, plus what curl adds when they are missing. */
function requestHeaders(req: QueuedRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) headers.append(name, value);
  if (!headers.has("user-agent")) headers.set("user-agent", `pg_net/${PG_NET_VERSION}`);
  // curl labels a body without Content-Type as a form; fetch would say text/plain.
  if (req.body && !headers.has("content-type")) {
    headers.set("content-type", "application/x-www-form-urlencoded");
  }
  return headers;
}

/** pg_net stores the body as a C string: empty means NULL, and it ends at the first NUL. */
function contentOf(bytes: Uint8Array): string | null {
  const nul = bytes.indexOf(0);
  const text = new TextDecoder().decode(nul === -1 ? bytes : bytes.subarray(0, nul));
  return text === "" ? null : text;
}

/**
 * Runs `req`, honouring its timeout (0 means none, as with curl) and `stop`, which aborts it
 * when the worker stops. Never throws: every failure becomes a response row.
 */
export async function executeRequest(req: QueuedRequest, stop: AbortSignal): Promise<Outcome> {
  const started = performance.now();
  let url: URL;
  try {
    url = new URL(req.url);
  } catch (error) {
    return failure(req.id, CURL_MESSAGES.badUrl, errorText(error));
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return failure(req.id, CURL_MESSAGES.unsupportedProtocol, `protocol ${url.protocol}`);
  }
  if (req.timeoutMs < 0) {
    return failure(req.id, CURL_MESSAGES.badArgument, `timeout ${req.timeoutMs} ms`);
  }
  const deadline = new AbortController();
  const timer = req.timeoutMs > 0 ? setTimeout(() => deadline.abort(), req.timeoutMs) : undefined;
  const signal = AbortSignal.any([stop, deadline.signal]);
  try {
    const res = await fetch(url, {
      method: req.method.toUpperCase(),
      headers: requestHeaders(req),
      body: req.body,
      redirect: "follow",
      signal,
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => headers[name] = value);
    return {
      row: {
        id: req.id,
        status_code: res.status,
        content_type: res.headers.get("content-type"),
        headers,
        content: contentOf(bytes),
        timed_out: false,
        error_msg: null,
      },
    };
  } catch (error) {
    if (deadline.signal.aborted) {
      const total = performance.now() - started;
      return failure(req.id, timeoutMessage(req.timeoutMs, total), "timeout", true);
    }
    if (stop.aborted) return failure(req.id, CURL_MESSAGES.aborted, "worker stopped");
    return failure(req.id, curlMessageFor(error), errorText(error));
  } finally {
    clearTimeout(timer);
  }
}
