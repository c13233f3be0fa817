/**
 * The batching email sender against the local Resend stand-in: how concurrent job handlers
 * share batch requests, which idempotency keys go out, and how failures come back per email.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import {
  classifyFailure,
  EmailSender,
  type OutgoingEmail,
} from "../../supabase/functions/_shared/providers/email/sender.ts";
import { startResendStandIn } from "../../scripts/platform/stand_ins/resend/server.ts";

const KEY = "re_test_email_sender";

interface StoredEmail {
  id: string;
  to: string[];
  idempotency_key: string | null;
}

async function withSender(
  opts: { requestsPerSecond?: number; standInRps?: number; timeoutMs?: number },
  fn: (sender: EmailSender, url: string) => Promise<void>,
) {
  const standIn = await startResendStandIn({
    port: 0,
    apiKeys: [KEY],
    requestsPerSecond: opts.standInRps ?? 1000,
    log: () => {},
  });
  try {
    const sender = new EmailSender({
      apiKey: KEY,
      baseUrl: standIn.url,
      requestsPerSecond: opts.requestsPerSecond ?? 1000,
      timeoutMs: opts.timeoutMs ?? 2_000,
    });
    await fn(sender, standIn.url);
  } finally {
    await standIn.stop();
  }
}

function email(n: number, to = `patient${n}@example.com`): OutgoingEmail {
  return {
    key: `invitation:${n}`,
    from: "Clinic <clinic@example.com>",
    to,
    subject: `Slot ${n}`,
    html: `<p>Slot ${n}</p>`,
    text: `Slot ${n}`,
  };
}

async function control<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(url + path, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return await res.json() as T;
}

Deno.test("concurrent lanes share one batch request once every lane has sent", async () => {
  await withSender({}, async (sender, url) => {
    const lanes = Array.from({ length: 10 }, () => sender.join());
    const results = await Promise.all(
      lanes.map((lane, i) => lane.send([email(i * 2), email(i * 2 + 1)])),
    );
    const outcomes = results.flat();
    assertEquals(outcomes.length, 20);
    assert(outcomes.every((o) => o.ok), "every email was accepted");
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_accepted, 1, "one request carried all 20 emails");
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    assertEquals(data.length, 20);
    assertMatch(data[0].idempotency_key ?? "", /^batch:[0-9a-f]{64}$/);
    const ids = new Set(outcomes.map((o) => o.ok ? o.id : ""));
    assertEquals(ids, new Set(data.map((e) => e.id)), "each email got its own id back");
  });
});

Deno.test("a partial batch waits for slower lanes that will fill it, rather than go alone", async () => {
  await withSender({}, async (sender, url) => {
    // 100 lanes: one sends at once, the 99 others 200 ms later (longer than the 50 ms linger).
    const lanes = Array.from({ length: 100 }, () => sender.join());
    const first = lanes[0].send([email(0)]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const rest = lanes.slice(1).map((lane, i) => lane.send([email(i + 1)]));
    const outcomes = [...await first, ...(await Promise.all(rest)).flat()];
    assert(outcomes.every((o) => o.ok), "every email was accepted");
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_accepted, 1, "one request of 100 emails, not 1 + 99");
  });
});

Deno.test("a partial batch goes after the linger when the lanes left cannot fill it", async () => {
  await withSender({}, async (sender, url) => {
    const quick = sender.join();
    const slow = sender.join();
    const started = Date.now();
    const [outcome] = await quick.send([email(1)]);
    assert(outcome.ok);
    assert(Date.now() - started < 1_000, "it did not wait for the slow lane");
    assertEquals((await slow.send([email(2)]))[0].ok, true);
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_accepted, 2);
  });
});

Deno.test("a slow answer holds its request's place in the window until a second after it", async () => {
  await withSender({ requestsPerSecond: 1, standInRps: 1 }, async (sender, url) => {
    await control(url, "POST", "/_local/faults", { action: "delay", delay_ms: 400, count: 1 });
    assert((await sender.join().send([email(1)]))[0].ok);
    const answeredAt = Date.now();
    assert((await sender.join().send([email(2)]))[0].ok);
    const { data } = await control<{ data: (StoredEmail & { created_at: string })[] }>(
      url,
      "GET",
      "/_local/emails",
    );
    const second = data.find((e) => e.to[0] === "patient2@example.com")!;
    assert(
      Date.parse(second.created_at) - answeredAt >= 990,
      "the second request left a second after the first answer, not after the first request",
    );
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_rate_limited, 0);
  });
});

Deno.test("a lone email goes to POST /emails with its own key as Idempotency-Key", async () => {
  await withSender({}, async (sender, url) => {
    const lane = sender.join();
    const [outcome] = await lane.send([email(7)]);
    assert(outcome.ok);
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    assertEquals(data.map((e) => e.idempotency_key), ["invitation:7"]);
  });
});

Deno.test("the same emails sent again are deduplicated by Resend, not sent twice", async () => {
  await withSender({}, async (sender, url) => {
    for (let round = 0; round < 2; round++) {
      const lane = sender.join();
      const outcomes = await lane.send([email(1), email(2), email(3)]);
      assert(outcomes.every((o) => o.ok), `round ${round} reports success`);
    }
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    assertEquals(data.length, 3, "the retry replayed the first answer");
  });
});

Deno.test("a lane that leaves without sending does not hold the batch back", async () => {
  await withSender({}, async (sender) => {
    const idle = sender.join();
    const busy = sender.join();
    const pending = busy.send([email(1)]);
    idle.leave();
    const [outcome] = await pending;
    assert(outcome.ok);
  });
});

Deno.test("a 429 with retry-after comes back retryable per email and pauses the sender", async () => {
  await withSender({}, async (sender, url) => {
    await control(url, "POST", "/_local/faults", {
      action: "status",
      status: 429,
      retry_after: 1,
    });
    const first = await sender.join().send([email(1), email(2)]);
    for (const outcome of first) {
      assert(!outcome.ok && !outcome.permanent, "retryable");
      assertEquals(outcome.ok ? undefined : outcome.retryAfterSeconds, 1);
      assertEquals(outcome.ok ? undefined : outcome.throttled, true, "a 429 is throttling");
    }
    const started = Date.now();
    const [again] = await sender.join().send([email(3)]);
    assert(again.ok);
    assert(Date.now() - started >= 900, "the next request waited for retry-after");
  });
});

Deno.test("a permissive batch refuses an invalid address alone and sends the others", async () => {
  await withSender({}, async (sender, url) => {
    const outcomes = await sender.join().send([email(1), email(2, "not an address"), email(3)]);
    assertEquals(outcomes.map((o) => o.ok), [true, false, true]);
    assert(!outcomes[1].ok && outcomes[1].permanent, "an invalid address is permanent");
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    assertEquals(data.map((e) => e.to[0]).sort(), ["patient1@example.com", "patient3@example.com"]);
  });
});

Deno.test("a request left unanswered is sent again identically, and Resend sends it once", async () => {
  await withSender({ timeoutMs: 500 }, async (sender, url) => {
    await control(url, "POST", "/_local/faults", { action: "delay", delay_ms: 800 });
    const outcomes = await sender.join().send([email(1), email(2)]);
    assert(outcomes.every((o) => o.ok), "the identical re-send got the first answer");
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    assertEquals(data.length, 2, "the late first request was not doubled by the re-send");
  });
});

Deno.test("a request that never gets an answer ends as a retryable failure", async () => {
  await withSender({ timeoutMs: 300 }, async (sender, url) => {
    await control(url, "POST", "/_local/faults", { action: "hang", count: 10 });
    const [outcome] = await sender.join().send([email(1)]);
    assert(!outcome.ok && !outcome.permanent, "a timeout is retryable");
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_faulted, 4, "the first attempt and three identical re-sends");
    await control(url, "DELETE", "/_local/faults");
  });
});

Deno.test("the sender stays under its own requests-per-second limit", async () => {
  await withSender({ requestsPerSecond: 2, standInRps: 2 }, async (sender, url) => {
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(...await sender.join().send([email(i)]));
    assert(outcomes.every((o) => o.ok), "no request was refused");
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_rate_limited, 0);
    assertEquals(stats.requests_accepted, 4);
  });
});

Deno.test("the sender adopts the lower limit Resend announces: no 429 after the first answer", async () => {
  await withSender({ requestsPerSecond: 20, standInRps: 2 }, async (sender, url) => {
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(...await sender.join().send([email(i)]));
    assert(outcomes.every((o) => o.ok), "no request was refused");
    assertEquals(sender.requestsPerSecond, 2, "the announced limit replaced the configured 20");
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals([stats.requests_accepted, stats.requests_rate_limited], [6, 0]);
  });
});

Deno.test("a 500 is retryable but not throttling; only a 429 is", () => {
  const busy = classifyFailure({ statusCode: 500, name: "internal_server_error" }, null);
  assertEquals([busy.permanent, busy.throttled], [false, undefined]);
  const slow = classifyFailure({ statusCode: 429, name: "rate_limit_exceeded" }, null);
  assertEquals([slow.permanent, slow.throttled], [false, true]);
});

Deno.test("classifyFailure() retries 408, 429, 5xx and network errors, not other 4xx", () => {
  const cases: [number | null, string, boolean][] = [
    [null, "application_error", false],
    [408, "timeout", false],
    [429, "rate_limit_exceeded", false],
    [500, "internal_server_error", false],
    [409, "concurrent_idempotent_requests", false],
    [409, "invalid_idempotent_request", true],
    [422, "validation_error", true],
    [403, "invalid_api_key", true],
  ];
  for (const [statusCode, name, permanent] of cases) {
    const outcome = classifyFailure({ statusCode, name, message: "x" }, { "retry-after": "2" });
    assertEquals(outcome.permanent, permanent, `${statusCode} ${name}`);
    assertEquals(outcome.retryAfterSeconds, permanent ? undefined : 2);
  }
});
