/**
 * One HTTP attempt of the delivery engine (`postWebhook`) against a local server started on a
 * free port: what it sends, the status and a bounded excerpt of the answer, `Retry-After` in
 * seconds or as an HTTP date, a timeout (hanging endpoint, and a body that stalls), a redirect
 * that is not followed, a refused connection. It never throws.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import {
  EXCERPT_CHARS,
  postWebhook,
} from "../../supabase/functions/_shared/providers/webhooks/http.ts";
import { WEBHOOK_TIMEOUT_MS } from "../../supabase/functions/_shared/providers/webhooks/config.ts";

interface Seen {
  path: string;
  method: string;
  headers: Headers;
  body: string;
}

/** Runs `fn` against a local server answering with `handler`; records what it received. */
async function withServer(
  handler: (req: Request, url: URL, done: AbortSignal) => Response | Promise<Response>,
  fn: (base: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const held = new AbortController();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    seen.push({
      path: url.pathname,
      method: req.method,
      headers: req.headers,
      body: await req.text(),
    });
    return await handler(req, url, held.signal);
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    held.abort();
    await server.shutdown();
  }
}

/** An answer that comes only when the test is over (`done` aborts). */
function never(done: AbortSignal): Promise<Response> {
  return new Promise((resolve) =>
    done.addEventListener("abort", () => resolve(new Response("late", { status: 503 })))
  );
}

const HEADERS = { "content-type": "application/json", "webhook-id": "msg_http" };

Deno.test("a POST carries the body and headers; the status and the answer's start come back", async () => {
  await withServer(() => new Response("ok, thanks"), async (base, seen) => {
    const result = await postWebhook(`${base}/hooks/a`, HEADERS, '{"type":"x.y"}', {
      timeoutMs: 2_000,
    });
    assertEquals([result.status, result.excerpt, result.error, result.retryAfterSeconds], [
      200,
      "ok, thanks",
      null,
      null,
    ]);
    assert(result.durationMs >= 0 && result.durationMs < 2_000);
    assertEquals(seen.map((s) => [s.method, s.path, s.body]), [[
      "POST",
      "/hooks/a",
      '{"type":"x.y"}',
    ]]);
    assertEquals(seen[0].headers.get("webhook-id"), "msg_http");
    assertEquals(seen[0].headers.get("content-type"), "application/json");
  });
  assertEquals(WEBHOOK_TIMEOUT_MS, 15_000);
});

Deno.test("the excerpt keeps at most 1,024 characters of a large answer", async () => {
  await withServer(() => new Response("é".repeat(100_000)), async (base) => {
    const result = await postWebhook(`${base}/big`, HEADERS, "{}", { timeoutMs: 2_000 });
    assertEquals(result.status, 200);
    assertEquals(result.excerpt?.length, EXCERPT_CHARS);
    assertEquals(result.excerpt, "é".repeat(EXCERPT_CHARS));
  });
});

Deno.test("Retry-After is read in seconds or as an HTTP date, and ignored when unreadable", async () => {
  const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
  await withServer((_req, url) => {
    const value = { "/seconds": "30", "/date": inTwoMinutes, "/junk": "soon" }[url.pathname];
    const status = url.pathname === "/seconds" ? 429 : 503;
    return new Response("busy", { status, headers: value ? { "retry-after": value } : {} });
  }, async (base) => {
    const seconds = await postWebhook(`${base}/seconds`, HEADERS, "{}", { timeoutMs: 2_000 });
    assertEquals([seconds.status, seconds.retryAfterSeconds, seconds.excerpt], [429, 30, "busy"]);
    const date = await postWebhook(`${base}/date`, HEADERS, "{}", { timeoutMs: 2_000 });
    assertEquals(date.status, 503);
    assert(
      date.retryAfterSeconds! > 115 && date.retryAfterSeconds! <= 120,
      `about 120 s, got ${date.retryAfterSeconds}`,
    );
    const junk = await postWebhook(`${base}/junk`, HEADERS, "{}", { timeoutMs: 2_000 });
    assertEquals([junk.status, junk.retryAfterSeconds], [503, null]);
    const none = await postWebhook(`${base}/none`, HEADERS, "{}", { timeoutMs: 2_000 });
    assertEquals([none.status, none.retryAfterSeconds], [503, null]);
  });
});

Deno.test("a redirect is the answer, not followed", async () => {
  await withServer(
    (_req, url) =>
      url.pathname === "/moved"
        ? new Response(null, { status: 302, headers: { location: "/elsewhere" } })
        : new Response("should not be reached"),
    async (base, seen) => {
      const result = await postWebhook(`${base}/moved`, HEADERS, "{}", { timeoutMs: 2_000 });
      assertEquals([result.status, result.excerpt, result.error], [302, "", null]);
      assertEquals(seen.map((s) => s.path), ["/moved"]);
    },
  );
});

Deno.test("a hanging endpoint times out, and so does a body that stalls after a 200", async () => {
  await withServer((_req, url, done) => {
    if (url.pathname === "/hang") return never(done);
    const stalled = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("partial"));
        done.addEventListener("abort", () => controller.close());
      },
    });
    return new Response(stalled);
  }, async (base) => {
    const started = performance.now();
    const hang = await postWebhook(`${base}/hang`, HEADERS, "{}", { timeoutMs: 300 });
    const took = performance.now() - started;
    assertEquals([hang.status, hang.excerpt, hang.error], [null, null, "Timed out after 300 ms"]);
    assert(took >= 290 && took < 2_000, `gave up after ${took} ms`);
    assert(hang.durationMs >= 290);

    const stall = await postWebhook(`${base}/stall`, HEADERS, "{}", { timeoutMs: 300 });
    assertEquals(stall.status, 200);
    assertEquals(stall.excerpt, null);
    assertMatch(stall.error!, /^Reading the answer failed: Timed out after 300 ms$/);
  });
});

Deno.test("a refused connection and an outer abort are errors, not exceptions", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const refused = await postWebhook(`http://127.0.0.1:${port}/x`, HEADERS, "{}", {
    timeoutMs: 2_000,
  });
  assertEquals([refused.status, refused.excerpt, refused.retryAfterSeconds], [null, null, null]);
  assertMatch(refused.error!, /refused|connect/i);

  await withServer((_req, _url, done) => never(done), async (base) => {
    const stop = new AbortController();
    const pending = postWebhook(`${base}/slow`, HEADERS, "{}", {
      timeoutMs: 10_000,
      signal: stop.signal,
    });
    stop.abort(new Error("Function time limit is near"));
    const aborted = await pending;
    assertEquals(aborted.status, null);
    assertMatch(aborted.error!, /Function time limit is near/);
  });
});
