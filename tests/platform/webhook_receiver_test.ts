/**
 * The webhook receiver stand-in behaves like a customer's endpoint that verifies Standard
 * Webhooks: messages signed by the `standardwebhooks` package verify, and a wrong secret, a
 * changed body or a stale timestamp do not (with the reason); several secrets at once
 * (rotation); duplicates by `webhook-id` per endpoint; the kit's faults per endpoint path; an
 * escaping page; persistence. Most tests start a receiver of their own on a free port; one
 * checks the one the test platform runs, through the environment the test runner passes.
 */
import { Webhook } from "standardwebhooks";
import { assert, assertEquals, assertMatch, assertRejects } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import {
  type WebhookReceiverControl,
  webhookReceiverControl,
} from "../../scripts/platform/stand_ins/webhook_receiver/control.ts";
import {
  startWebhookReceiverStandIn,
  type WebhookReceiverOptions,
} from "../../scripts/platform/stand_ins/webhook_receiver/server.ts";

interface Harness {
  url: string;
  ctl: WebhookReceiverControl;
}

/** Runs `fn` against a fresh receiver on a free port. */
async function withReceiver(
  opts: Partial<WebhookReceiverOptions>,
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const receiver = await startWebhookReceiverStandIn({ port: 0, log: () => {}, ...opts });
  try {
    await fn({ url: receiver.url, ctl: webhookReceiverControl(receiver.url) });
  } finally {
    await receiver.stop();
  }
}

/** A fresh secret in Standard Webhooks format. */
function newSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
}

interface Message {
  id: string;
  payload: string;
  headers: Record<string, string>;
}

/** A `ticket.overdue` message signed with `secrets` (each signature in the header). */
function signed(
  secrets: string[],
  opts: { id?: string; at?: Date; data?: unknown } = {},
): Message {
  const id = opts.id ?? `msg_${crypto.randomUUID()}`;
  const at = opts.at ?? new Date();
  const payload = JSON.stringify({
    type: "ticket.overdue",
    timestamp: at.toISOString(),
    data: opts.data ?? { ticket_id: 7 },
  });
  const signature = secrets.map((secret) => new Webhook(secret).sign(id, at, payload)).join(" ");
  return {
    id,
    payload,
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signature,
    },
  };
}

async function deliver(
  ctl: WebhookReceiverControl,
  endpoint: string,
  message: Message,
  body = message.payload,
): Promise<Response> {
  return await fetch(ctl.hookUrl(endpoint), { method: "POST", headers: message.headers, body });
}

async function deliverJson(
  ctl: WebhookReceiverControl,
  endpoint: string,
  message: Message,
  body?: string,
): Promise<Record<string, unknown>> {
  const res = await deliver(ctl, endpoint, message, body);
  assertEquals(res.status, 200);
  return await res.json();
}

Deno.test("a message signed with the endpoint's secret verifies and is recorded whole", async () => {
  await withReceiver({}, async ({ ctl }) => {
    const secret = newSecret();
    assertEquals(await ctl.setSecrets("pabbly", [secret]), [secret]);
    assertEquals(await ctl.secrets("pabbly"), [secret]);
    const message = signed([secret]);
    const answer = await deliverJson(ctl, "pabbly", message);
    assertEquals([answer.received, answer.verified, answer.duplicate], [true, true, false]);

    const [delivery] = await ctl.list({ endpoint: "pabbly" });
    assertEquals(delivery.id, answer.id);
    assertEquals(delivery.path, "/hooks/pabbly");
    assertEquals(delivery.body, message.payload);
    assertEquals(delivery.json, JSON.parse(message.payload));
    assertEquals(delivery.event_type, "ticket.overdue");
    assertEquals(delivery.webhook_id, message.id);
    assertEquals(delivery.webhook_timestamp, message.headers["webhook-timestamp"]);
    assertEquals(delivery.webhook_signature, message.headers["webhook-signature"]);
    assertEquals(delivery.headers["content-type"], "application/json");
    assertEquals([delivery.verified, delivery.secret_index, delivery.failure], [true, 0, null]);
  });
});

Deno.test("a wrong secret, a changed body, a stale timestamp and no secret do not verify, each with its reason", async () => {
  await withReceiver({}, async ({ ctl }) => {
    const secret = newSecret();
    await ctl.setSecrets("zap", [secret]);
    const wrong = signed([newSecret()]);
    await deliverJson(ctl, "zap", wrong);
    const changed = signed([secret]);
    await deliverJson(ctl, "zap", changed, changed.payload.replace("7", "8"));
    const stale = signed([secret], { at: new Date(Date.now() - 6 * 60_000) });
    await deliverJson(ctl, "zap", stale);
    const future = signed([secret], { at: new Date(Date.now() + 6 * 60_000) });
    await deliverJson(ctl, "zap", future);
    const unsigned = await fetch(ctl.hookUrl("zap"), { method: "POST", body: "plain text" });
    assertEquals(unsigned.status, 200);
    await unsigned.body?.cancel();
    await deliverJson(ctl, "open", signed([secret]));

    const reasons = (await ctl.list({ verified: "false" })).reverse()
      .map((d) => [d.endpoint, d.failure, d.failure_message]);
    assertEquals(reasons, [
      ["zap", "no_matching_signature", "No matching signature found"],
      ["zap", "no_matching_signature", "No matching signature found"],
      ["zap", "timestamp_too_old", "Message timestamp too old"],
      ["zap", "timestamp_too_new", "Message timestamp too new"],
      ["zap", "missing_headers", "Missing required headers"],
      ["open", "no_secret", "The endpoint has no secret"],
    ]);
    const [plain] = await ctl.list({ endpoint: "zap", limit: 1, verified: "false" });
    assertEquals([plain.json, plain.event_type], [null, null]);
    assertEquals(await ctl.list({ verified: "true" }), []);
  });
});

Deno.test("during a rotation a signature by either secret verifies, and so does a header with two signatures", async () => {
  await withReceiver({}, async ({ ctl }) => {
    const [old, fresh] = [newSecret(), newSecret()];
    await ctl.setSecrets("make", [old, fresh]);
    await deliverJson(ctl, "make", signed([old]));
    await deliverJson(ctl, "make", signed([fresh]));
    const both = signed([newSecret(), fresh]);
    assertMatch(both.headers["webhook-signature"], /^v1,\S+ v1,\S+$/);
    await deliverJson(ctl, "make", both);
    const deliveries = (await ctl.list({ endpoint: "make" })).reverse();
    assertEquals(deliveries.map((d) => [d.verified, d.secret_index]), [[true, 0], [true, 1], [
      true,
      1,
    ]]);

    await ctl.setSecrets("make", [fresh]);
    assertEquals((await deliverJson(ctl, "make", signed([old]))).verified, false);
    const invalid = await assertRejects(() => ctl.setSecrets("make", ["not_a_secret"]));
    assertMatch(invalid.message, /answered PUT .* with 400: .*whsec_/);
    assertEquals(await ctl.setSecrets("make", []), []);
  });
});

Deno.test("a second delivery of one webhook-id is a duplicate at that endpoint only", async () => {
  await withReceiver({}, async ({ ctl }) => {
    const secret = newSecret();
    await ctl.setSecrets("a", [secret]);
    await ctl.setSecrets("b", [secret]);
    const message = signed([secret]);
    assertEquals((await deliverJson(ctl, "a", message)).duplicate, false);
    assertEquals((await deliverJson(ctl, "a", message)).duplicate, true);
    assertEquals((await deliverJson(ctl, "b", message)).duplicate, false, "another endpoint");
    // A retry re-signs with a new timestamp but keeps the id.
    const retry = signed([secret], { id: message.id, at: new Date(Date.now() + 1000) });
    assertEquals((await deliverJson(ctl, "a", retry)).duplicate, true);
    // A forged delivery does not count, and does not make the real one a duplicate.
    const forged = signed([newSecret()]);
    assertEquals((await deliverJson(ctl, "a", forged)).duplicate, false);
    assertEquals(
      (await deliverJson(ctl, "a", signed([secret], { id: forged.id }))).duplicate,
      false,
    );

    assertEquals((await ctl.list({ webhook_id: message.id })).length, 4);
    assertEquals(await ctl.endpoint("a"), {
      endpoint: "a",
      secrets: 1,
      received: 5,
      verified: 4,
      duplicates: 2,
      messages: 2,
    });
    assertEquals((await ctl.endpoints()).map((e) => [e.endpoint, e.messages]), [["a", 2], [
      "b",
      1,
    ]]);
    assertEquals((await ctl.endpoint("nobody")).received, 0);
  });
});

Deno.test("faults apply per endpoint path: 410, 503 and 429 with retry-after, a fraction, and a hang released by a reset", async () => {
  await withReceiver({}, async ({ ctl }) => {
    const secret = newSecret();
    await ctl.setSecrets("gone", [secret]);
    await ctl.faults.add({ action: "status", status: 410, path: "/hooks/gone", count: 2 });
    await ctl.faults.add({ action: "status", status: 503, retry_after: 30, path: "/hooks/busy" });
    await ctl.faults.add({ action: "status", status: 429, retry_after: 7, path: "/hooks/slow" });

    assertEquals((await deliverJson(ctl, "other", signed([secret]))).received, true);
    const gone = await deliver(ctl, "gone", signed([secret]));
    assertEquals(gone.status, 410);
    assertMatch((await gone.json()).error, /410 on purpose/);
    const busy = await deliver(ctl, "busy", signed([secret]));
    assertEquals([busy.status, busy.headers.get("retry-after")], [503, "30"]);
    await busy.body?.cancel();
    const slow = await deliver(ctl, "slow", signed([secret]));
    assertEquals([slow.status, slow.headers.get("retry-after")], [429, "7"]);
    await slow.body?.cancel();
    assertEquals((await deliver(ctl, "gone", signed([secret]))).status, 410);
    assertEquals((await deliverJson(ctl, "gone", signed([secret]))).verified, true);
    assertEquals((await ctl.list()).length, 2, "faulted calls are counted, not recorded");
    assertEquals((await ctl.stats()).requests_faulted, 4);

    await ctl.faults.add({ action: "status", status: 500, fraction: 0.5, path: "/hooks/half" });
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await deliver(ctl, "half", signed([secret]));
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assertEquals(statuses, [200, 500, 200, 500], "a fraction fault spreads evenly");
    await ctl.faults.clear();

    await ctl.faults.add({ action: "hang", path: "/hooks/dead" });
    const hanging = deliver(ctl, "dead", signed([secret]));
    await waitFor(async () => (await ctl.stats()).requests_in_flight === 1, {
      what: "the hanging delivery to arrive",
    });
    assertEquals(await ctl.reset(), 4);
    const released = await hanging;
    assertEquals(released.status, 503);
    await released.body?.cancel();
    assertEquals(await ctl.secrets("gone"), [], "a reset forgets secrets");
  });
});

Deno.test("the page lists deliveries newest first and escapes a hostile body", async () => {
  await withReceiver({}, async ({ url, ctl }) => {
    const secret = newSecret();
    await ctl.setSecrets("pabbly", [secret]);
    await deliverJson(ctl, "pabbly", signed([secret], { id: "msg_first" }));
    const hostile = signed([secret], {
      id: "msg_<b>x</b>",
      data: { note: "<script>alert(1)</script>" },
    });
    await deliverJson(ctl, "pabbly", hostile);

    const html = await (await fetch(`${url}/`)).text();
    assert(!html.includes("<script>alert"), "the body is escaped");
    assert(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert(html.includes("msg_&lt;b&gt;x&lt;/b&gt;"));
    assert(html.indexOf("msg_&lt;b&gt;") < html.indexOf("msg_first"), "newest first");
    assertMatch(html, /✓ verified/);
    assertMatch(html, /ticket\.overdue/);

    const [newest] = await ctl.list({ limit: 1 });
    const page = await (await fetch(`${url}/deliveries/${newest.id}`)).text();
    assert(!page.includes("<script>alert"));
    assertMatch(page, /webhook-signature<\/dt><dd>v1,/);
  });
});

Deno.test("deliveries and the ids an endpoint already has persist across a restart", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/webhook_deliveries.jsonl`;
  const secret = newSecret();
  const message = signed([secret]);
  try {
    await withReceiver({ persistPath: file }, async ({ ctl }) => {
      await ctl.setSecrets("pabbly", [secret]);
      await deliverJson(ctl, "pabbly", message);
    });
    await withReceiver({ persistPath: file }, async ({ ctl }) => {
      assertEquals((await ctl.list()).map((d) => d.webhook_id), [message.id]);
      assertEquals(await ctl.secrets("pabbly"), [], "secrets are not kept");
      await ctl.setSecrets("pabbly", [secret]);
      assertEquals((await deliverJson(ctl, "pabbly", message)).duplicate, true);
      assertEquals(await ctl.reset(), 2);
      assertEquals(await Deno.readTextFile(file), "", "a reset empties the file");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the test platform runs the webhook receiver and passes its URL through the environment", async () => {
  const baseUrl = Deno.env.get("WEBHOOK_RECEIVER_URL");
  const apiPort = Number(Deno.env.get("TEST_API_PORT"));
  assert(baseUrl, "WEBHOOK_RECEIVER_URL is set: run the tests with scripts/test.sh");
  assertEquals(baseUrl, `http://127.0.0.1:${apiPort + 5}`);
  const ctl = webhookReceiverControl(baseUrl);
  const endpoint = `platform_${crypto.randomUUID()}`;
  const secret = newSecret();
  await ctl.setSecrets(endpoint, [secret]);
  assertEquals((await deliverJson(ctl, endpoint, signed([secret]))).verified, true);
  assertEquals((await ctl.endpoint(endpoint)).messages, 1);
  await ctl.setSecrets(endpoint, []);
  assertMatch(await (await fetch(`${baseUrl}/`)).text(), /Local webhook receiver/);
});
