/**
 * The batching email sender against the local Resend stand-in and the real journal of requests
 * (SQL, through the test platform's gateway): how concurrent job handlers share batch
 * requests, which idempotency keys go out, how failures come back per email, and how a request
 * whose answer was lost is re-sent verbatim rather than regrouped.
 */
import { createClient } from "@supabase/supabase-js";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import { waitFor } from "../_support/wait.ts";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";
import {
  classifyFailure,
  type EmailJournal,
  EmailSender,
  type EmailSenderConfig,
  type OutgoingEmail,
  sqlEmailJournal,
} from "../../supabase/functions/_shared/providers/email/sender.ts";
import { startResendStandIn } from "../../scripts/platform/stand_ins/resend/server.ts";

const KEY = "re_test_email_sender";

interface StoredEmail {
  id: string;
  to: string[];
  idempotency_key: string | null;
}

/** A service-role client of the test platform's gateway, as functions have. */
function dbClient(url = Deno.env.get("SUPABASE_URL")!) {
  return createClient<Database>(url, Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
}

/** The real SQL journal, counting its calls (what a throughput budget is about). */
function countingJournal(inner: EmailJournal = sqlEmailJournal(dbClient())) {
  const calls: { key: string; settled: string[] }[] = [];
  const journal: EmailJournal = {
    open: (request, settled) => {
      calls.push({ key: request.key, settled: [...settled] });
      return inner.open(request, settled);
    },
  };
  return { journal, calls };
}

interface Ctx {
  sender: EmailSender;
  url: string;
  /** An email with a key of this test's own (the journal outlives a test). */
  email: (n: number, to?: string) => OutgoingEmail;
  journal: EmailJournal;
  calls: { key: string; settled: string[] }[];
  /** Another sender on the same stand-in and journal: the worker after a restart. */
  restarted: () => EmailSender;
}

async function withSender(
  opts: Partial<EmailSenderConfig> & { standInRps?: number },
  fn: (ctx: Ctx) => Promise<void>,
) {
  const standIn = await startResendStandIn({
    port: 0,
    apiKeys: [KEY],
    requestsPerSecond: opts.standInRps ?? 1000,
    log: () => {},
  });
  const run = crypto.randomUUID().slice(0, 8);
  const { journal, calls } = countingJournal();
  const config: EmailSenderConfig = {
    apiKey: KEY,
    baseUrl: standIn.url,
    requestsPerSecond: 1000,
    timeoutMs: 2_000,
    ...opts,
  };
  try {
    await fn({
      sender: new EmailSender(config, journal),
      url: standIn.url,
      email: (n, to) => ({ ...email(n, to), key: `invitation:${run}:${n}` }),
      journal,
      calls,
      restarted: () => new EmailSender(config, journal),
    });
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
  await withSender({}, async ({ sender, url, email }) => {
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
  await withSender({}, async ({ sender, url, email }) => {
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
  await withSender({}, async ({ sender, url, email }) => {
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
  await withSender({ requestsPerSecond: 1, standInRps: 1 }, async ({ sender, url, email }) => {
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
  await withSender({}, async ({ sender, url, email }) => {
    const lane = sender.join();
    const [outcome] = await lane.send([email(7)]);
    assert(outcome.ok);
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    assertEquals(data.map((e) => e.idempotency_key), [email(7).key]);
  });
});

Deno.test("the same emails sent again are deduplicated by Resend, not sent twice", async () => {
  await withSender({}, async ({ sender, url, email }) => {
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
  await withSender({}, async ({ sender, email }) => {
    const idle = sender.join();
    const busy = sender.join();
    const pending = busy.send([email(1)]);
    idle.leave();
    const [outcome] = await pending;
    assert(outcome.ok);
  });
});

Deno.test("a 429 with retry-after comes back retryable per email and pauses the sender", async () => {
  await withSender({}, async ({ sender, url, email }) => {
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
  await withSender({}, async ({ sender, url, email }) => {
    const outcomes = await sender.join().send([email(1), email(2, "not an address"), email(3)]);
    assertEquals(outcomes.map((o) => o.ok), [true, false, true]);
    assert(!outcomes[1].ok && outcomes[1].permanent, "an invalid address is permanent");
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    assertEquals(data.map((e) => e.to[0]).sort(), ["patient1@example.com", "patient3@example.com"]);
  });
});

Deno.test("a request left unanswered is sent again identically, and Resend sends it once", async () => {
  await withSender({ timeoutMs: 1_000 }, async ({ sender, url, email }) => {
    await control(url, "POST", "/_local/faults", { action: "delay", delay_ms: 1_600 });
    const outcomes = await sender.join().send([email(1), email(2)]);
    assert(outcomes.every((o) => o.ok), "the identical re-send got the first answer");
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    assertEquals(data.length, 2, "the late first request was not doubled by the re-send");
  });
});

/** The stored emails once `count` are stored (a released late request lands a moment later). */
function storedEmails(url: string, count: number): Promise<StoredEmail[]> {
  return waitFor(async () => {
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    return data.length >= count && data;
  }, { what: `${count} stored emails` });
}

/** Sends a lost request: its answer comes after the sender gave up (released by the test). */
async function loseAnswer(sender: EmailSender, url: string, emails: OutgoingEmail[]) {
  await control(url, "POST", "/_local/faults", { action: "delay", delay_ms: 60_000, count: 1 });
  const lanes = emails.map(() => sender.join());
  const outcomes = (await Promise.all(lanes.map((lane, i) => lane.send([emails[i]])))).flat();
  assert(outcomes.every((o) => !o.ok && !o.permanent && o.ambiguous), "no answer: ambiguous");
  // Resend goes on and sends them: the late answer is lost to the sender.
  await control(url, "DELETE", "/_local/faults");
  const stored = await storedEmails(url, emails.length);
  return new Map(stored.map((e) => [e.to[0], e.id]));
}

Deno.test("a batch whose answer was lost, retried in other groups, sends every email once", async () => {
  await withSender({ timeoutMs: 1_000, ambiguousRetries: 0 }, async ({ sender, url, email }) => {
    const first = [0, 1, 2, 3].map((n) => email(n));
    const originalIds = await loseAnswer(sender, url, first);
    // The jobs retry at different times, with other emails beside them.
    const a = await sender.join().send([email(0), email(1), email(4)]);
    const b = await sender.join().send([email(2)]);
    const c = await sender.join().send([email(5), email(3)]);
    const outcomes = [...a, ...b, ...c];
    assert(outcomes.every((o) => o.ok), "every retried email has an id");
    const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
    const recipients = data.map((e) => e.to[0]).sort();
    assertEquals(recipients, [0, 1, 2, 3, 4, 5].map((n) => `patient${n}@example.com`));
    const ids = [a[0], a[1], b[0], c[1]].map((o) => o.ok ? o.id : "");
    assertEquals(ids, [0, 1, 2, 3].map((n) => originalIds.get(`patient${n}@example.com`)));
  });
});

Deno.test("a restarted sender re-sends the journalled batch identically and gets the original ids", async () => {
  await withSender(
    { timeoutMs: 1_000, ambiguousRetries: 0 },
    async ({ sender, url, email, calls, restarted }) => {
      const originalIds = await loseAnswer(sender, url, [email(0), email(1), email(2)]);
      const lost = calls[0].key;
      assertMatch(lost, /^batch:/);
      // The worker died; its successor's job sends two of the emails and a new one.
      const successor = restarted();
      const outcomes = await successor.join().send([email(1), email(7), email(0)]);
      assert(outcomes.every((o) => o.ok), "every email has an id");
      assertEquals(
        [outcomes[0], outcomes[2]].map((o) => o.ok ? o.id : ""),
        [originalIds.get("patient1@example.com"), originalIds.get("patient0@example.com")],
        "the replay answered the original ids",
      );
      const { data } = await control<{ data: StoredEmail[] }>(url, "GET", "/_local/emails");
      assertEquals(data.length, 4, "three emails once, and the new one");
      assertEquals(
        data.filter((e) => e.idempotency_key === lost).length,
        3,
        "the lost batch's emails went under its key only",
      );
      const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
      // The lost request, its identical replay (Resend's idempotent answer), the new email.
      assertEquals(stats.requests_accepted, 3);
      assertEquals(calls.length, 3, "one journal call per request tried, none per email");
    },
  );
});

Deno.test("the normal path journals each request once and settles it with the next one", async () => {
  await withSender({}, async ({ sender, url, email, calls }) => {
    for (let round = 0; round < 3; round++) {
      const lanes = Array.from({ length: 10 }, () => sender.join());
      const outcomes = await Promise.all(
        lanes.map((lane, i) =>
          lane.send([email(round * 100 + i * 2), email(round * 100 + i * 2 + 1)])
        ),
      );
      assert(outcomes.flat().every((o) => o.ok), `round ${round}: every email was accepted`);
      for (const lane of lanes) lane.settle();
    }
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_accepted, 3, "one request of 20 emails per round");
    assertEquals(calls.length, 3, "one journal call per request");
    assertEquals(calls.map((c) => c.settled), [[], [calls[0].key], [calls[1].key]]);
    const sql = testSql();
    try {
      const rows = await sql`select request_key, cardinality(email_keys) as emails
                             from providers_internal.email_requests
                             where request_key = any(${calls.map((c) => c.key)})`;
      assertEquals(
        rows.map((r) => [r.request_key, r.emails]),
        [[calls[2].key, 20]],
        "settled requests left the journal; the last waits for the next request",
      );
    } finally {
      await sql.end();
    }
  });
});

Deno.test("a request the journal cannot record is not sent, and fails retryably", async () => {
  await withSender({}, async ({ url, email }) => {
    const unreachable = sqlEmailJournal(dbClient("http://127.0.0.1:9"));
    const sender = new EmailSender(
      { apiKey: KEY, baseUrl: url, requestsPerSecond: 1000 },
      unreachable,
    );
    const outcomes = await sender.join().send([email(1), email(2)]);
    for (const outcome of outcomes) {
      assert(!outcome.ok && !outcome.permanent && !outcome.ambiguous, "retryable, not sent");
      assertMatch(outcome.ok ? "" : outcome.error, /journal could not record/);
    }
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_accepted ?? 0, 0, "nothing reached Resend");
  });
});

Deno.test("a request that never gets an answer ends as a retryable failure", async () => {
  await withSender({ timeoutMs: 300 }, async ({ sender, url, email }) => {
    await control(url, "POST", "/_local/faults", { action: "hang", count: 10 });
    const [outcome] = await sender.join().send([email(1)]);
    assert(!outcome.ok && !outcome.permanent, "a timeout is retryable");
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_faulted, 4, "the first attempt and three identical re-sends");
    await control(url, "DELETE", "/_local/faults");
  });
});

Deno.test("the sender stays under its own requests-per-second limit", async () => {
  await withSender({ requestsPerSecond: 2, standInRps: 2 }, async ({ sender, url, email }) => {
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(...await sender.join().send([email(i)]));
    assert(outcomes.every((o) => o.ok), "no request was refused");
    const stats = await control<Record<string, number>>(url, "GET", "/_local/stats");
    assertEquals(stats.requests_rate_limited, 0);
    assertEquals(stats.requests_accepted, 4);
  });
});

Deno.test("the sender adopts the lower limit Resend announces: no 429 after the first answer", async () => {
  await withSender({ requestsPerSecond: 20, standInRps: 2 }, async ({ sender, url, email }) => {
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
