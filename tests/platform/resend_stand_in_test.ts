/**
 * The local Resend stand-in answers like Resend's documented API, so the real `resend` SDK works
 * against it: sending, batches, idempotency keys, the rate limit, faults on demand, its control
 * API, the inbox page and the dev inbox file. Most tests start a stand-in of their own on a free
 * port; the last one checks the one the test platform runs, through the environment the test
 * runner passes.
 */
import { Resend } from "resend";
import { assert, assertEquals, assertMatch, assertRejects } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import type { StandInStats } from "../../scripts/platform/stand_ins/kit/control_client.ts";
import { resendControl } from "../../scripts/platform/stand_ins/resend/email.ts";
import {
  type ResendStandInOptions,
  startResendStandIn,
} from "../../scripts/platform/stand_ins/resend/server.ts";

const KEY = "re_test_stand_in_key";
const FROM = "Clinic <noreply@clinic.example>";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Harness {
  url: string;
  client: Resend;
  /** A call to the Resend API with the test key (or the given headers). */
  api(method: string, path: string, body?: unknown, headers?: HeadersInit): Promise<Response>;
  /** A call to the control API, answering its JSON. */
  control<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
  /** The stored emails, newest first (`query`: `?to=...&limit=...`), as plain records. */
  emails(query?: string): Promise<Array<Record<string, unknown>>>;
  stats(): Promise<StandInStats<"emails">>;
}

/** Runs `fn` against a fresh stand-in on a free port (1000 requests/s unless told). */
async function withStandIn(
  opts: Partial<ResendStandInOptions>,
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const standIn = await startResendStandIn({
    port: 0,
    apiKeys: [KEY],
    requestsPerSecond: 1000,
    log: () => {},
    ...opts,
  });
  const { url } = standIn;
  const api = (method: string, path: string, body?: unknown, headers?: HeadersInit) =>
    fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const ctl = resendControl(url);
  const harness: Harness = {
    url,
    client: new Resend(KEY, { baseUrl: url }),
    api,
    control: (method, path, body) => ctl.request(method, path, body),
    emails: async (query = "") => {
      const params = new URLSearchParams(query);
      const limit = params.get("limit");
      const emails = await ctl.list({
        to: params.get("to") ?? undefined,
        limit: limit === null ? undefined : Number(limit),
      });
      return emails.map((email) => ({ ...email }));
    },
    stats: () => ctl.stats(),
  };
  try {
    await fn(harness);
  } finally {
    await standIn.stop();
  }
}

/** A valid email body as the HTTP API takes it. */
function email(n: number | string, extra: Record<string, unknown> = {}) {
  return {
    from: FROM,
    to: `patient${n}@example.test`,
    subject: `Subject ${n}`,
    html: `<p>Body ${n}</p>`,
    ...extra,
  };
}

Deno.test("the resend SDK sends an email and reads it back in Resend's retrieve shape", async () => {
  await withStandIn({}, async ({ client, emails }) => {
    const sent = await client.emails.send({
      from: FROM,
      to: "ada@example.test",
      cc: ["Grace <grace@example.test>"],
      replyTo: "desk@clinic.example",
      subject: "Your appointment",
      html: "<p>See you <b>Monday</b></p>",
      text: "See you Monday",
      headers: { "X-Entity-Ref-ID": "42" },
      tags: [{ name: "category", value: "waitlist" }],
    });
    assertEquals(sent.error, null);
    assertMatch(sent.data!.id, UUID);

    const got = await client.emails.get(sent.data!.id);
    assertEquals(got.error, null);
    const data = got.data!;
    assertEquals(data.object, "email");
    assertEquals(data.id, sent.data!.id);
    assertEquals(data.to, ["ada@example.test"]);
    assertEquals(data.cc, ["Grace <grace@example.test>"]);
    assertEquals(data.reply_to, ["desk@clinic.example"]);
    assertEquals(data.bcc, null);
    assertEquals(data.from, FROM);
    assertEquals(data.subject, "Your appointment");
    assertEquals(data.html, "<p>See you <b>Monday</b></p>");
    assertEquals(data.text, "See you Monday");
    assertEquals(data.last_event, "delivered");
    assertMatch(data.created_at, ISO_MS);

    const [stored] = await emails();
    assertEquals(stored.id, sent.data!.id);
    assertMatch(stored.created_at as string, ISO_MS);
    assertEquals(stored.idempotency_key, null);
    assertEquals(stored.tags, [{ name: "category", value: "waitlist" }]);
    assertEquals(stored.headers, { "X-Entity-Ref-ID": "42" });
  });
});

Deno.test("missing or invalid fields answer 422 with Resend's error names and store nothing", async () => {
  await withStandIn({}, async ({ client, api, url, stats }) => {
    const missingTo = await client.emails.send({ from: FROM, subject: "x", html: "x" } as never);
    assertEquals(missingTo.error, {
      statusCode: 422,
      name: "missing_required_field",
      message: "Missing `to` field.",
    });

    const badFrom = await client.emails.send({
      from: "not an address",
      to: "a@example.test",
      subject: "x",
      html: "x",
    });
    assertEquals(badFrom.error?.statusCode, 422);
    assertEquals(badFrom.error?.name, "validation_error");
    assertEquals(
      badFrom.error?.message,
      "Invalid `from` field. The email address needs to follow the `email@example.com` or " +
        "`Name <email@example.com>` format.",
    );

    const tooMany = await api("POST", "/emails", {
      ...email(1),
      to: Array.from({ length: 51 }, (_, i) => `p${i}@example.test`),
    });
    assertEquals(tooMany.status, 422);
    assertEquals((await tooMany.json()).name, "validation_error");

    const noBody = await api("POST", "/emails", { from: FROM, to: "a@example.test", subject: "x" });
    assertEquals(noBody.status, 422);
    assertEquals((await noBody.json()).name, "missing_required_field");

    const notJson = await fetch(`${url}/emails`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
      body: "{nope",
    });
    assertEquals(notJson.status, 400);
    assertEquals((await notJson.json()).name, "validation_error");

    assertEquals((await stats()).emails_stored, 0);
  });
});

Deno.test("a call without an API key answers 401 missing_api_key, an unknown key 403 invalid_api_key", async () => {
  await withStandIn({}, async ({ api, url, stats }) => {
    const missing = await fetch(`${url}/emails`, {
      method: "POST",
      body: JSON.stringify(email(1)),
    });
    assertEquals(missing.status, 401);
    assertEquals(await missing.json(), {
      statusCode: 401,
      name: "missing_api_key",
      message: "Missing API key in the authorization header.",
    });

    const unknown = await api("POST", "/emails", email(1), { authorization: "Bearer re_wrong" });
    assertEquals(unknown.status, 403);
    assertEquals(await unknown.json(), {
      statusCode: 403,
      name: "invalid_api_key",
      message: "API key is invalid.",
    });
    assertEquals((await stats()).emails_stored, 0);
  });
});

Deno.test("unknown paths answer 404 not_found, wrong methods 405, bad email ids 422 or 404", async () => {
  await withStandIn({}, async ({ api }) => {
    const nowhere = await api("GET", "/domains");
    assertEquals([nowhere.status, (await nowhere.json()).name], [404, "not_found"]);
    const wrongMethod = await api("DELETE", "/emails/batch");
    assertEquals([wrongMethod.status, (await wrongMethod.json()).name], [
      405,
      "method_not_allowed",
    ]);
    const notUuid = await api("GET", "/emails/abc");
    assertEquals([notUuid.status, (await notUuid.json()).name], [422, "invalid_parameter"]);
    const unknown = await api("GET", `/emails/${crypto.randomUUID()}`);
    assertEquals([unknown.status, (await unknown.json()).name], [404, "not_found"]);
  });
});

Deno.test("the SDK lists sent emails newest first, a page at a time", async () => {
  await withStandIn({}, async ({ client, api }) => {
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) {
      ids.push((await (await api("POST", "/emails", email(i))).json()).id);
    }
    const first = await client.emails.list({ limit: 2 });
    assertEquals(first.error, null);
    assertEquals(first.data!.object, "list");
    assertEquals(first.data!.has_more, true);
    assertEquals(first.data!.data.map((e) => e.id), [ids[2], ids[1]]);
    const next = await client.emails.list({ limit: 2, after: ids[1] });
    assertEquals(next.data!.data.map((e) => e.id), [ids[0]]);
    assertEquals(next.data!.has_more, false);
    const tooBig = await api("GET", "/emails?limit=101");
    assertEquals([tooBig.status, (await tooBig.json()).name], [422, "validation_error"]);
  });
});

Deno.test("a strict batch sends every email or, when one is invalid, none", async () => {
  await withStandIn({}, async ({ client, emails }) => {
    const ok = await client.batch.send([
      { from: FROM, to: "a@example.test", subject: "A", html: "<p>A</p>" },
      { from: FROM, to: "b@example.test", subject: "B", text: "B" },
    ]);
    assertEquals(ok.error, null);
    assertEquals(ok.data!.data.length, 2);
    assert(ok.data!.data.every((item) => UUID.test(item.id)));
    assertEquals(Object.keys(ok.data!), ["data"]);

    const refused = await client.batch.send([
      { from: FROM, to: "c@example.test", subject: "C", html: "C" },
      { from: FROM, subject: "D", html: "D" } as never,
    ]);
    assertEquals(refused.data, null);
    assertEquals(refused.error?.statusCode, 422);
    assertEquals(refused.error?.name, "missing_required_field");

    assertEquals((await emails()).map((e) => e.subject), ["B", "A"]);
  });
});

Deno.test("a permissive batch sends the valid emails and lists the invalid ones by index", async () => {
  await withStandIn({}, async ({ client, emails }) => {
    const result = await client.batch.send(
      [
        { from: FROM, to: "a@example.test", subject: "A", html: "A" },
        { from: FROM, subject: "B", html: "B" } as never,
        { from: FROM, to: "c@example.test", subject: "C", html: "C" },
        { from: "nobody", to: "d@example.test", subject: "D", html: "D" },
      ],
      { batchValidation: "permissive" },
    );
    assertEquals(result.error, null);
    assertEquals(result.data!.data.length, 2);
    assertEquals(result.data!.errors.map((e) => e.index), [1, 3]);
    assertEquals(result.data!.errors[0].message, "Missing `to` field.");
    assertMatch(result.data!.errors[1].message, /^Invalid `from` field/);
    const stored = await emails();
    assertEquals(stored.map((e) => e.subject), ["C", "A"]);
    assertEquals(
      stored.map((e) => e.id).sort(),
      result.data!.data.map((item) => item.id).sort(),
    );
  });
});

Deno.test("a batch of more than 100 emails is refused whole with 422 validation_error", async () => {
  await withStandIn({}, async ({ api, stats }) => {
    const emails101 = Array.from({ length: 101 }, (_, i) => email(i));
    for (const mode of ["strict", "permissive"]) {
      const res = await api("POST", "/emails/batch", emails101, { "x-batch-validation": mode });
      assertEquals(res.status, 422);
      assertEquals((await res.json()).name, "validation_error");
    }
    const hundred = await api("POST", "/emails/batch", emails101.slice(0, 100));
    assertEquals(hundred.status, 200);
    assertEquals((await hundred.json()).data.length, 100);
    assertEquals((await stats()).emails_stored, 100);
  });
});

Deno.test("repeating a request with its idempotency key answers the first response and sends nothing", async () => {
  await withStandIn({}, async ({ client, emails }) => {
    const payload = { from: FROM, to: "a@example.test", subject: "Once", html: "<p>1</p>" };
    const first = await client.emails.send(payload, { idempotencyKey: "invitation:7" });
    const again = await client.emails.send(payload, { idempotencyKey: "invitation:7" });
    assertEquals(again.data, first.data);
    assertMatch(first.data!.id, UUID);

    const batch = [email("b1"), email("b2")];
    const firstBatch = await client.batch.send(batch, { idempotencyKey: "batch:1" });
    const againBatch = await client.batch.send(batch, { idempotencyKey: "batch:1" });
    assertEquals(againBatch.data, firstBatch.data);

    const stored = await emails();
    assertEquals(stored.length, 3);
    assertEquals(stored.map((e) => e.idempotency_key), ["batch:1", "batch:1", "invitation:7"]);
  });
});

Deno.test("the same idempotency key with another payload answers 409 invalid_idempotent_request", async () => {
  await withStandIn({}, async ({ api, emails }) => {
    const headers = { "idempotency-key": "welcome/1" };
    assertEquals((await api("POST", "/emails", email(1), headers)).status, 200);
    const other = await api("POST", "/emails", email(2), headers);
    assertEquals(other.status, 409);
    assertEquals(await other.json(), {
      statusCode: 409,
      name: "invalid_idempotent_request",
      message: "Same idempotency key used with a different request payload.",
    });
    // Key order does not make a payload different.
    const reordered = Object.fromEntries(Object.entries(email(1)).reverse());
    assertEquals((await api("POST", "/emails", reordered, headers)).status, 200);
    assertEquals((await emails()).length, 1);
  });
});

Deno.test("a failed request frees its idempotency key for a corrected retry", async () => {
  await withStandIn({}, async ({ api, emails }) => {
    const headers = { "idempotency-key": "fix-me" };
    const invalid = await api("POST", "/emails", { ...email(1), to: "nope" }, headers);
    assertEquals(invalid.status, 422);
    const fixed = await api("POST", "/emails", email(1), headers);
    assertEquals(fixed.status, 200);
    assertEquals((await emails()).length, 1);
  });
});

Deno.test("an idempotency key longer than 256 characters answers 400 invalid_idempotency_key", async () => {
  await withStandIn({}, async ({ api, emails }) => {
    const tooLong = await api("POST", "/emails", email(1), { "idempotency-key": "k".repeat(257) });
    assertEquals(tooLong.status, 400);
    assertEquals(await tooLong.json(), {
      statusCode: 400,
      name: "invalid_idempotency_key",
      message: "The key must be between 1-256 chars.",
    });
    const longest = await api("POST", "/emails", email(1), { "idempotency-key": "k".repeat(256) });
    assertEquals(longest.status, 200);
    assertEquals((await emails()).length, 1);
  });
});

Deno.test("idempotency keys are scoped per API key", async () => {
  const other = "re_other_team_key";
  await withStandIn({ apiKeys: [KEY, other] }, async ({ api, emails }) => {
    const key = { "idempotency-key": "shared" };
    assertEquals((await api("POST", "/emails", email(1), key)).status, 200);
    const res = await api("POST", "/emails", email(2), {
      ...key,
      authorization: `Bearer ${other}`,
    });
    assertEquals(res.status, 200);
    assertEquals((await emails()).length, 2);
  });
});

Deno.test("idempotency keys expire after 24 hours, then the same request sends again", async () => {
  let now = Date.parse("2026-11-21T10:00:00Z");
  await withStandIn({ now: () => now }, async ({ api, emails }) => {
    const send = async () =>
      (await (await api("POST", "/emails", email(1), { "idempotency-key": "daily" })).json()).id;
    const first = await send();
    now += 24 * 60 * 60 * 1000 - 1;
    assertEquals(await send(), first);
    now += 1;
    const later = await send();
    assert(later !== first, "a new email after 24 hours");
    assertEquals((await emails()).length, 2);
  });
});

Deno.test("a key reused while its first request is in flight answers 409 concurrent_idempotent_requests", async () => {
  await withStandIn({}, async ({ api, control, stats, emails }) => {
    await control("POST", "/_local/faults", { action: "delay", delay_ms: 60_000, count: 1 });
    const headers = { "idempotency-key": "slow" };
    const first = api("POST", "/emails", email(1), headers);
    await waitFor(async () => (await stats()).requests_in_flight === 1, { what: "the slow call" });

    const concurrent = await api("POST", "/emails", email(1), headers);
    assertEquals(concurrent.status, 409);
    assertEquals((await concurrent.json()).name, "concurrent_idempotent_requests");
    assertEquals((await emails()).length, 0, "nothing is sent before the first call ends");

    await control("DELETE", "/_local/faults"); // lets the delayed call go on
    const firstRes = await first;
    assertEquals(firstRes.status, 200);
    const { id } = await firstRes.json();
    const replay = await api("POST", "/emails", email(1), headers);
    assertEquals((await replay.json()).id, id);
    assertEquals((await emails()).map((e) => e.id), [id]);
  });
});

Deno.test("a client that gives up on a slow send still has it sent once, and its retry gets the same id", async () => {
  await withStandIn({}, async ({ url, control, emails, stats }) => {
    await control("POST", "/_local/faults", { action: "delay", delay_ms: 60_000 });
    const send = (signal?: AbortSignal) =>
      fetch(`${url}/emails`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "idempotency-key": "job:9" },
        body: JSON.stringify(email(9)),
        signal,
      });
    const error = await assertRejects(() => send(AbortSignal.timeout(200)));
    assertEquals(error.name, "TimeoutError");
    assertEquals((await stats()).requests_in_flight, 1);

    await control("DELETE", "/_local/faults");
    const [sent] = await waitFor(async () => {
      const list = await emails();
      return list.length ? list : null;
    }, { what: "the slow email to be stored" });
    const retry = await send();
    assertEquals(retry.status, 200);
    assertEquals((await retry.json()).id, sent.id);
    assertEquals((await emails()).length, 1);
  });
});

Deno.test("over the rate limit a call answers 429 with ratelimit headers, and passes again after the window", async () => {
  await withStandIn({ requestsPerSecond: 2 }, async ({ api, stats }) => {
    const first = await api("POST", "/emails", email(1));
    assertEquals(first.status, 200);
    assertEquals(first.headers.get("ratelimit-limit"), "2");
    assertEquals(first.headers.get("ratelimit-remaining"), "1");
    assertEquals(first.headers.get("ratelimit-reset"), "1");
    const second = await api("POST", "/emails", email(2));
    assertEquals(second.headers.get("ratelimit-remaining"), "0");

    const limited = await api("POST", "/emails", email(3));
    assertEquals(limited.status, 429);
    assertEquals(limited.headers.get("retry-after"), "1");
    assertEquals(limited.headers.get("ratelimit-limit"), "2");
    assertEquals(limited.headers.get("ratelimit-remaining"), "0");
    assertEquals(limited.headers.get("ratelimit-reset"), "1");
    const body = await limited.json();
    assertEquals([body.statusCode, body.name], [429, "rate_limit_exceeded"]);
    assertMatch(body.message, /You can only make 2 requests per second/);

    // Refused calls do not count: polling gets through once the window has moved on.
    const passed = await waitFor(async () => {
      const res = await api("POST", "/emails", email(4));
      if (res.status === 200) return res;
      await res.body?.cancel();
      return null;
    }, { intervalMs: 100, what: "a call after the rate-limit window" });
    assertEquals(passed.headers.get("ratelimit-remaining"), "1");
    const counters = await stats();
    assert(counters.requests_rate_limited >= 1);
    assertEquals(counters.emails_stored, 3);
  });
});

Deno.test("the rate limit is a sliding one-second window per API key", async () => {
  let now = 1_000_000;
  const other = "re_second_key";
  await withStandIn(
    { requestsPerSecond: 2, apiKeys: [KEY, other], now: () => now },
    async ({ api }) => {
      const status = async (key = KEY) => {
        const res = await api("GET", "/emails", undefined, { authorization: `Bearer ${key}` });
        await res.body?.cancel();
        return res.status;
      };
      assertEquals(await status(), 200); // t=0
      now += 500;
      assertEquals(await status(), 200); // t=500
      now += 499;
      assertEquals(await status(), 429); // t=999: both still in the window
      assertEquals(await status(other), 200, "another key has its own window");
      now += 1;
      assertEquals(await status(), 200); // t=1000: the first one left
      now += 100;
      assertEquals(await status(), 429); // t=1100: t=500 and t=1000 are in
      now += 400;
      assertEquals(await status(), 200); // t=1500
    },
  );
});

Deno.test("PUT /_local/rate-limit changes the limit and refuses values that are not positive integers", async () => {
  await withStandIn({}, async ({ api, control, url }) => {
    assertEquals(await control("PUT", "/_local/rate-limit", { requests_per_second: 1 }), {
      requests_per_second: 1,
    });
    assertEquals(await control("GET", "/_local/rate-limit"), { requests_per_second: 1 });
    assertEquals((await api("GET", "/emails")).status, 200);
    assertEquals((await api("GET", "/emails")).status, 429);

    for (const body of [{ requests_per_second: 0 }, { requests_per_second: 1.5 }, {}]) {
      const res = await fetch(`${url}/_local/rate-limit`, {
        method: "PUT",
        body: JSON.stringify(body),
      });
      assertEquals(res.status, 400);
      assertMatch((await res.json()).error, /requests_per_second/);
    }
    assertEquals(await control("GET", "/_local/rate-limit"), { requests_per_second: 1 });
  });
});

Deno.test("a status fault answers the next N calls with that status and stores nothing", async () => {
  await withStandIn({}, async ({ api, client, control, stats }) => {
    const fault = await control("POST", "/_local/faults", {
      action: "status",
      status: 500,
      count: 2,
    });
    assertEquals(fault.remaining, 2);
    for (let i = 0; i < 2; i++) {
      const res = await api("POST", "/emails", email(i));
      assertEquals(res.status, 500);
      assertEquals((await res.json()).name, "application_error");
    }
    const sdk = await client.emails.send(email(3));
    assertEquals(sdk.error, null);
    const counters = await stats();
    assertEquals([counters.requests_faulted, counters.emails_stored], [2, 1]);
    assertEquals((await control("GET", "/_local/faults")).data, []);
  });
});

Deno.test("a 429 fault carries its retry-after and the ratelimit headers", async () => {
  await withStandIn({}, async ({ api, control, client }) => {
    await control("POST", "/_local/faults", { action: "status", status: 429, retry_after: 7 });
    const res = await api("POST", "/emails", email(1));
    assertEquals(res.status, 429);
    assertEquals(res.headers.get("retry-after"), "7");
    assertEquals(res.headers.get("ratelimit-remaining"), "0");
    assertEquals(res.headers.get("ratelimit-reset"), "7");
    assertEquals((await res.json()).name, "rate_limit_exceeded");

    await control("POST", "/_local/faults", {
      action: "status",
      status: 503,
      name: "internal_server_error",
      message: "Down for maintenance",
      retry_after: 30,
    });
    const sdk = await client.emails.send(email(2));
    assertEquals(sdk.error, {
      statusCode: 503,
      name: "internal_server_error",
      message: "Down for maintenance",
    });
    assertEquals(sdk.headers?.["retry-after"], "30");
  });
});

Deno.test("a hanging call never answers: the client times out and nothing is stored", async () => {
  await withStandIn({}, async ({ url, control, stats, client }) => {
    await control("POST", "/_local/faults", { action: "hang", path: "/emails" });
    const error = await assertRejects(() =>
      fetch(`${url}/emails`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}` },
        body: JSON.stringify(email(1)),
        signal: AbortSignal.timeout(300),
      })
    );
    assertEquals(error.name, "TimeoutError");
    const during = await stats();
    assertEquals([during.requests_in_flight, during.emails_stored], [1, 0]);

    // The rule was used up: the next call goes through.
    assertEquals((await client.emails.send(email(2))).error, null);
    await control("DELETE", "/_local/faults");
    await waitFor(async () => (await stats()).requests_in_flight === 0, {
      what: "the hanging call to be let go",
    });
    assertEquals((await stats()).emails_stored, 1);
  });
});

Deno.test("a fault limited to a path leaves the other paths alone", async () => {
  await withStandIn({}, async ({ api, control }) => {
    await control("POST", "/_local/faults", {
      action: "status",
      status: 502,
      path: "/emails/batch",
    });
    assertEquals((await api("POST", "/emails", email(1))).status, 200);
    assertEquals((await api("POST", "/emails/batch", [email(2)])).status, 502);
    assertEquals((await api("POST", "/emails/batch", [email(3)])).status, 200);
  });
});

Deno.test("a fraction fault fails that share of the calls, spread evenly", async () => {
  await withStandIn({}, async ({ api, control, stats }) => {
    await control("POST", "/_local/faults", { action: "status", status: 503, fraction: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await api("POST", "/emails", email(i));
      await res.body?.cancel();
      statuses.push(res.status);
    }
    assertEquals(statuses, [200, 503, 200, 503, 200, 503]);
    const [rule] = (await control<{ data: Array<Record<string, unknown>> }>(
      "GET",
      "/_local/faults",
    )).data;
    assertEquals([rule.matched, rule.faulted, rule.remaining], [6, 3, null]);
    assertEquals((await stats()).emails_stored, 3);
  });
});

Deno.test("a random fraction fault fails about that share of the calls, in no fixed step", async () => {
  await withStandIn({}, async ({ api, control }) => {
    await control("POST", "/_local/faults", {
      action: "status",
      status: 503,
      fraction: 0.5,
      random: true,
      path: "/emails/none",
    });
    const faulted: boolean[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await api("GET", "/emails/none");
      await res.body?.cancel();
      faulted.push(res.status === 503);
    }
    const count = faulted.filter(Boolean).length;
    // Binomial(200, 0.5): outside 60..140 has a probability under 1e-8.
    assert(count > 60 && count < 140, `${count} of 200 calls faulted`);
    const everyOther = faulted.every((hit, i) => hit === (i % 2 === 1));
    assert(!everyOther, "the faulted calls follow no fixed step");
  });
});

Deno.test("the control API answers 400 with a clear message to invalid faults and queries", async () => {
  await withStandIn({}, async ({ url }) => {
    const call = async (method: string, path: string, body?: string) => {
      const res = await fetch(url + path, { method, body });
      return { status: res.status, error: (await res.json()).error as string };
    };
    const cases: Array<[string, string, string | undefined, RegExp]> = [
      ["POST", "/_local/faults", '{"action":"status","status":200}', /status/],
      ["POST", "/_local/faults", '{"action":"explode"}', /action/],
      ["POST", "/_local/faults", '{"action":"hang","fraction":2}', /fraction/],
      ["POST", "/_local/faults", '{"action":"hang","colour":"red"}', /colour/],
      ["POST", "/_local/faults", "not json", /must be JSON/],
      ["GET", "/_local/emails?limit=0", undefined, /limit/],
      ["GET", "/_local/emails?bogus=1", undefined, /bogus/],
    ];
    for (const [method, path, body, pattern] of cases) {
      const { status, error } = await call(method, path, body);
      assertEquals(status, 400, `${method} ${path} ${body}`);
      assertMatch(error, pattern);
    }
    assertEquals((await call("GET", "/_local/nothing")).status, 404);
    assertEquals((await call("PATCH", "/_local/stats")).status, 405);
  });
});

Deno.test("DELETE /_local/emails forgets emails, idempotency keys, faults and rate-limit windows", async () => {
  await withStandIn({ requestsPerSecond: 2 }, async ({ api, control, emails, stats }) => {
    assertEquals((await api("POST", "/emails", email(1), { "idempotency-key": "k" })).status, 200);
    assertEquals((await api("GET", "/emails")).status, 200);
    await control("POST", "/_local/faults", { action: "status", status: 500 });

    assertEquals(await control("DELETE", "/_local/emails"), { deleted: 1 });
    assertEquals(await emails(), []);
    const counters = await stats();
    assertEquals([counters.requests_received, counters.emails_stored], [0, 0]);

    // No fault, a fresh window, and the key is free for another payload.
    const res = await api("POST", "/emails", email(2), { "idempotency-key": "k" });
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("ratelimit-remaining"), "1");
    assertEquals((await emails()).length, 1);
  });
});

Deno.test("GET /_local/emails filters by recipient and limit, newest first", async () => {
  await withStandIn({}, async ({ api, emails, control }) => {
    await api("POST", "/emails", email(1, { to: "Ada <ada@example.test>" }));
    await api("POST", "/emails", email(2, { to: "bob@example.test", cc: "ada@example.test" }));
    await api("POST", "/emails", email(3, { to: "carl@example.test" }));
    assertEquals((await emails()).map((e) => e.subject), ["Subject 3", "Subject 2", "Subject 1"]);
    assertEquals(
      (await emails("?to=ADA@example.test")).map((e) => e.subject),
      ["Subject 2", "Subject 1"],
    );
    assertEquals((await emails("?limit=1")).map((e) => e.subject), ["Subject 3"]);

    const [newest] = await emails();
    const one = await control("GET", `/_local/emails/${newest.id}`);
    assertEquals(one, newest);
    for (const field of ["from", "to", "html", "text", "tags", "headers", "idempotency_key"]) {
      assert(field in one, `the email has ${field}`);
    }
  });
});

Deno.test("the inbox lists emails newest first, with the subject as escaped link text", async () => {
  await withStandIn({}, async ({ api, url }) => {
    const first = await (await api("POST", "/emails", email(1, { subject: "First" }))).json();
    const evil = '<script>alert(1)</script> & "quotes"';
    const second = await (await api("POST", "/emails", email(2, { subject: evil }))).json();

    const res = await fetch(`${url}/`);
    assertEquals(res.status, 200);
    assertMatch(res.headers.get("content-type") ?? "", /^text\/html/);
    const html = await res.text();
    const escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;";
    assert(html.includes(`<a href="/inbox/${second.id}">${escaped}</a>`), "escaped link");
    assert(html.includes(`<a href="/inbox/${first.id}">First</a>`));
    assert(!html.includes("<script>alert(1)"), "the subject is not markup");
    assert(html.indexOf(second.id) < html.indexOf(first.id), "newest first");
    assert(html.includes("patient2@example.test"));
    assert(html.includes("setInterval"), "the list refreshes itself");

    const inbox = await fetch(`${url}/inbox`);
    assert((await inbox.text()).includes(escaped), "/inbox is the same list");
  });
});

Deno.test("the list's refresh fragment changes version only when the emails change", async () => {
  await withStandIn({}, async ({ api, url }) => {
    const fragment = () => fetch(`${url}/inbox?partial=1`);
    const before = await fragment();
    const version = before.headers.get("x-inbox-version");
    assertMatch(await before.text(), /No emails yet/);
    const same = await fragment();
    await same.body?.cancel();
    assertEquals(same.headers.get("x-inbox-version"), version);

    await api("POST", "/emails", email(1, { subject: "Fresh" }));
    const after = await fragment();
    assert(after.headers.get("x-inbox-version") !== version);
    const text = await after.text();
    assertMatch(text, /^<li><a href="\/inbox\/[0-9a-f-]{36}">Fresh<\/a>/);
  });
});

Deno.test("an email page shows the HTML part in a sandboxed iframe whose links open on top, then the text", async () => {
  await withStandIn({}, async ({ api, url }) => {
    const { id } = await (await api("POST", "/emails", {
      from: FROM,
      to: "ada@example.test",
      subject: "Offer <1>",
      html: '<html><head><title>t</title></head><body><a href="https://x.test/a?b=1&c=2">' +
        "Accept</a><script>steal()</script></body></html>",
      text: "Accept: https://x.test/a?b=1&c=2 <now>",
    })).json();
    const res = await fetch(`${url}/inbox/${id}`);
    assertEquals(res.status, 200);
    const page = await res.text();
    assert(page.includes("<h1>Offer &lt;1&gt;</h1>"));
    assert(page.includes("Clinic &lt;noreply@clinic.example&gt;"));
    const iframe = /<iframe ([^>]*)><\/iframe>/.exec(page);
    assert(iframe, "an iframe");
    assertMatch(
      iframe[1],
      /sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"/,
    );
    assert(!/allow-scripts|allow-same-origin/.test(iframe[1]), "no scripts in the email");
    const srcdoc = /srcdoc="([^"]*)"/.exec(iframe[1])![1];
    assert(
      srcdoc.startsWith("&lt;html&gt;&lt;head&gt;&lt;base target=&quot;_top&quot;&gt;"),
      "links open in the top window",
    );
    assert(srcdoc.includes("href=&quot;https://x.test/a?b=1&amp;c=2&quot;"));
    assert(page.includes("<pre>Accept: https://x.test/a?b=1&amp;c=2 &lt;now&gt;</pre>"));
    assert(!page.includes("<script"), "the email page runs no script of its own");

    const missing = await fetch(`${url}/inbox/${crypto.randomUUID()}`);
    assertEquals(missing.status, 404);
    await missing.body?.cancel();
  });
});

Deno.test("emails are appended to the JSONL file and a new stand-in loads them back", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/state/resend_emails.jsonl`;
  const logs: string[] = [];
  try {
    let ids: string[] = [];
    await withStandIn({ persistPath: file }, async ({ api }) => {
      const a = await (await api("POST", "/emails", email(1))).json();
      const b = await (await api("POST", "/emails/batch", [email(2), email(3)])).json();
      ids = [a.id, ...b.data.map((item: { id: string }) => item.id)];
    });
    const lines = (await Deno.readTextFile(file)).trim().split("\n");
    assertEquals(lines.map((line) => JSON.parse(line).id), ids);

    await Deno.writeTextFile(file, "{not json\n", { append: true });
    await withStandIn({ persistPath: file, log: (line) => logs.push(line) }, async (h) => {
      assertEquals((await h.emails()).map((e) => e.id), [...ids].reverse());
      const got = await h.client.emails.get(ids[0]);
      assertEquals(got.data?.subject, "Subject 1");
      assert((await (await fetch(`${h.url}/`)).text()).includes("Subject 3"));
      assertEquals(logs.length, 1, "the unreadable line is logged");
      assertMatch(logs[0], /unreadable line/);

      await h.control("DELETE", "/_local/emails");
    });
    assertEquals(await Deno.readTextFile(file), "", "clearing empties the file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the test platform runs the stand-in and passes its URL and key through the environment", async () => {
  const baseUrl = Deno.env.get("RESEND_BASE_URL");
  const apiPort = Number(Deno.env.get("TEST_API_PORT"));
  assert(baseUrl, "RESEND_BASE_URL is set: run the tests with scripts/test.ts");
  assert(Deno.env.get("RESEND_API_KEY"), "RESEND_API_KEY is set");
  // saasPortBase is three above the gateway's port.
  assertEquals(baseUrl, `http://127.0.0.1:${apiPort + 3}`);

  // As an edge function would: the SDK reads RESEND_API_KEY and RESEND_BASE_URL itself.
  const client = new Resend();
  const to = `platform-${crypto.randomUUID()}@example.test`;
  const sent = await client.emails.send({ from: FROM, to, subject: "Platform check", text: "hi" });
  assertEquals(sent.error, null);
  const res = await fetch(`${baseUrl}/_local/emails?to=${encodeURIComponent(to)}`);
  const { data } = await res.json();
  assertEquals(data.map((e: { id: string; subject: string }) => [e.id, e.subject]), [
    [sent.data!.id, "Platform check"],
  ]);
});
