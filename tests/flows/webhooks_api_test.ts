/**
 * `webhooks`, the management API of the webhook engine, on the real local platform: who may call
 * it (an admin's JWT; not a member's, not the anon or service key, not a forged token — and SQL
 * refuses a member on its own), what it refuses (every path, query and body is checked; 400
 * with zod's issues, 404, 405), and the whole life of an endpoint, asserted on what SQL holds:
 * create, list, get, update, disable, enable, rotate (both secrets sign during the overlap), a
 * test event and its job, messages with their attempts, replay, recover, delete.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
} from "../_support/assert.ts";
import { signLocalJwt } from "../../scripts/platform/keys.ts";
import { userClient } from "../../supabase/functions/_shared/runtime/client.ts";
import { RpcError } from "../../supabase/functions/_shared/runtime/rpc.ts";
import { createEndpoint, listEndpoints } from "../../supabase/functions/_shared/webhooks/rpc.ts";
import {
  endpointRow,
  messageRow,
  newSecret,
  receiver,
  startWebhooksApiTest,
} from "../_support/webhooks_api.ts";

const SUPABASE_URL = Deno.env.get("SUPABASE_URL")!;
const ANON_KEY = Deno.env.get("SUPABASE_ANON_KEY")!;

Deno.test("only a signed-in admin may manage webhook endpoints, and SQL refuses anyone else too", async () => {
  const t = await startWebhooksApiTest();
  try {
    const url = t.receiverUrl("auth").url;
    const forged = await signLocalJwt("another-secret-that-is-at-least-32-characters-long", {
      sub: t.adminId,
      role: "authenticated",
      app_metadata: { role: "admin" },
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    const expired = await signLocalJwt(Deno.env.get("JWT_SECRET")!, {
      sub: t.adminId,
      role: "authenticated",
      app_metadata: { role: "admin" },
      exp: Math.floor(Date.now() / 1000) - 600,
    });
    // No header, a forged or expired token: the gateway (verify_jwt); the anon and service keys are
    // valid JWTs but not a user's: the function.
    for (
      const [token, who] of [
        [null, "no header"],
        [forged, "a forged admin token"],
        [expired, "an expired admin token"],
        [ANON_KEY, "the anon key"],
        [Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!, "the service key"],
      ] as const
    ) {
      for (const [method, body] of [["GET", undefined], ["POST", { url }]] as const) {
        const answer = await t.call(token, method, "/endpoints", body);
        assertEquals(answer.status, 401, `${who}, ${method}: ${answer.text}`);
        assert(answer.headers.get("content-type")?.includes("application/json"), who);
      }
    }

    // A signed-in member who is not an admin: 403, and nothing is created.
    for (
      const [method, path, body] of [
        ["GET", "/endpoints", undefined],
        ["POST", "/endpoints", { url }],
        ["GET", `/endpoints/${crypto.randomUUID()}/secret`, undefined],
      ] as const
    ) {
      const answer = await t.call(t.member, method, path, body);
      assertEquals(answer.status, 403, `${method} ${path}: ${answer.text}`);
      assertEquals(answer.body.error.code, "forbidden");
      assertMatch(answer.body.error.message, /Only admins manage webhook endpoints/);
    }

    // SQL is the real guard: the member's own JWT straight at the RPCs is refused (42501).
    const asMember = userClient(
      { SUPABASE_URL, SUPABASE_ANON_KEY: ANON_KEY },
      `Bearer ${t.member}`,
    );
    for (
      const call of [
        () => listEndpoints(asMember, "member lists"),
        () => createEndpoint(asMember, { url }, "member creates"),
      ]
    ) {
      const error = await assertRejects(call);
      assertInstanceOf(error, RpcError);
      assertEquals(error.code, "42501", error.message);
    }
    const [{ count }] = await t.sql<{ count: number }[]>`
      select count(*)::int from public.webhook_endpoints where url = ${url}`;
    assertEquals(count, 0);

    // The admin.
    const created = await t.call(t.admin, "POST", "/endpoints", { url });
    assertEquals(created.status, 201, created.text);
    const list = await t.call(t.admin, "GET", "/endpoints");
    assertEquals(list.status, 200, list.text);
    assert(
      list.body.endpoints.some((e: { id: string }) => e.id === created.body.id),
      `the new endpoint is listed: ${list.text}`,
    );
  } finally {
    await t.done();
  }
});

Deno.test("the API checks every path, query and body: 400 with zod's issues, 404, 405", async () => {
  const t = await startWebhooksApiTest();
  try {
    const { url } = t.receiverUrl("validation");
    const created = await t.call(t.admin, "POST", "/endpoints", { url });
    assertEquals(created.status, 201, created.text);
    const id = created.body.id;
    const before = await endpointRow(t.sql, id);

    const cases: [string, string, unknown, (string | number)[]][] = [
      ["POST", "/endpoints", { url: "ftp://example.test/hooks" }, ["body", "url"]],
      ["POST", "/endpoints", { url: "not a url" }, ["body", "url"]],
      ["POST", "/endpoints", {
        url: `https://example.test/${"a".repeat(2048)}`,
      }, ["body", "url"]],
      ["POST", "/endpoints", {}, ["body", "url"]],
      ["POST", "/endpoints", { url, event_types: ["Ticket Overdue"] }, [
        "body",
        "event_types",
        0,
      ]],
      ["POST", "/endpoints", { url, event_types: [] }, ["body", "event_types"]],
      ["POST", "/endpoints", { url, event_types: ["ticket.overdue", "ticket.overdue"] }, [
        "body",
        "event_types",
      ]],
      ["POST", "/endpoints", { url, rate_limit_per_second: 0 }, ["body", "rate_limit_per_second"]],
      ["POST", "/endpoints", { url, rate_limit_per_second: 10_001 }, [
        "body",
        "rate_limit_per_second",
      ]],
      ["POST", "/endpoints", { url, rate_limit_per_second: 1.5 }, [
        "body",
        "rate_limit_per_second",
      ]],
      ["POST", "/endpoints", { url, secret: "not-a-secret" }, ["body", "secret"]],
      ["POST", "/endpoints", { url, secret: newSecret(16) }, ["body", "secret"]],
      ["POST", "/endpoints", { url, secret: "whsec_!!!!" }, ["body", "secret"]],
      ["POST", "/endpoints", { url, description: "x".repeat(501) }, ["body", "description"]],
      ["POST", "/endpoints", { url, colour: "blue" }, ["body"]],
      ["PATCH", `/endpoints/${id}`, {}, ["body"]],
      ["PATCH", `/endpoints/${id}`, { rate_limit_per_second: -1 }, [
        "body",
        "rate_limit_per_second",
      ]],
      ["PATCH", `/endpoints/${id}`, { secret: newSecret() }, ["body"]],
      ["GET", "/endpoints/123", undefined, ["path", "id"]],
      ["DELETE", "/endpoints/not-a-uuid", undefined, ["path", "id"]],
      ["POST", `/endpoints/${id}/recover`, { since: "yesterday" }, ["body", "since"]],
      ["POST", `/endpoints/${id}/recover`, { since: "2026-11-28T10:00:00" }, ["body", "since"]],
      ["POST", `/endpoints/${id}/recover`, {}, ["body", "since"]],
      ["POST", `/endpoints/${id}/secret/rotate`, { secret: "whsec_short" }, ["body", "secret"]],
      ["POST", `/endpoints/${id}/disable`, { reason: " " }, ["body", "reason"]],
      ["GET", `/endpoints/${id}/messages?limit=0`, undefined, ["query", "limit"]],
      ["GET", `/endpoints/${id}/messages?limit=ten`, undefined, ["query", "limit"]],
      ["GET", `/endpoints/${id}/messages?status=lost`, undefined, ["query", "status"]],
      ["GET", `/endpoints/${id}/messages?before=soon`, undefined, ["query", "before"]],
      ["GET", "/messages/msg_nope", undefined, ["path", "id"]],
      ["POST", `/messages/${crypto.randomUUID()}/replay`, undefined, ["path", "id"]],
    ];
    for (const [method, path, body, where] of cases) {
      const answer = await t.call(t.admin, method, path, body);
      const what = `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}: ${answer.text}`;
      assertEquals(answer.status, 400, what);
      assertEquals(answer.body.error.code, "invalid_request", what);
      assert(Array.isArray(answer.body.error.details), what);
      assert(
        answer.body.error.details.some((issue: { path: unknown[] }) =>
          JSON.stringify(issue.path) === JSON.stringify(where)
        ),
        `an issue at ${JSON.stringify(where)}: ${what}`,
      );
    }
    // Not JSON at all.
    const garbled = await t.call(t.admin, "POST", "/endpoints", "{url:");
    assertEquals([garbled.status, garbled.body.error.code], [400, "invalid_json"], garbled.text);

    // Nothing was created or changed by any of it.
    const [{ count }] = await t.sql<{ count: number }[]>`
      select count(*)::int from public.webhook_endpoints where url like ${url + "%"}`;
    assertEquals(count, 1);
    assertEquals(await endpointRow(t.sql, id), before);

    // Unknown things: 404; a known route with another method: 405 with Allow.
    const ghost = crypto.randomUUID();
    for (const path of [`/endpoints/${ghost}`, `/endpoints/${ghost}/secret`]) {
      const answer = await t.call(t.admin, "GET", path);
      assertEquals([answer.status, answer.body.error.code], [404, "not_found"], answer.text);
      assertMatch(answer.body.error.message, new RegExp(ghost));
    }
    const noMessage = await t.call(t.admin, "GET", `/messages/msg_${"0".repeat(32)}`);
    assertEquals(noMessage.status, 404, noMessage.text);
    const noRoute = await t.call(t.admin, "GET", "/subscriptions");
    assertEquals([noRoute.status, noRoute.body.error.code], [404, "not_found"], noRoute.text);
    for (
      const [method, path, allow] of [
        ["PUT", "/endpoints", "GET, POST"],
        ["POST", `/endpoints/${id}`, "GET, PATCH, DELETE"],
        ["GET", `/endpoints/${id}/test`, "POST"],
        ["DELETE", `/messages/msg_${"0".repeat(32)}`, "GET"],
      ] as const
    ) {
      const answer = await t.call(t.admin, method, path);
      assertEquals(answer.status, 405, `${method} ${path}: ${answer.text}`);
      assertEquals(answer.body.error.code, "method_not_allowed");
      assertEquals(answer.headers.get("allow"), allow);
    }
  } finally {
    await t.done();
  }
});

Deno.test("an endpoint's whole life through the API: create, change, rotate, test, replay, recover, delete", async () => {
  const t = await startWebhooksApiTest();
  try {
    const t0 = new Date(Date.now() - 1000).toISOString();
    const { url } = t.receiverUrl("life");

    // Create: 201, the endpoint and its generated secret (32 bytes), kept in Vault.
    const created = await t.call(t.admin, "POST", "/endpoints", {
      url,
      description: "Automation service",
      event_types: ["ticket.overdue"],
      rate_limit_per_second: 50,
    });
    assertEquals(created.status, 201, created.text);
    const id: string = created.body.id;
    const first: string = created.body.secret;
    assertMatch(first, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
    assertEquals(atob(first.slice(6)).length, 32);
    assertEquals(created.headers.get("cache-control"), "no-store");
    let row = (await endpointRow(t.sql, id))!;
    assertEquals(
      [row.url, row.description, row.event_types, row.rate_limit_per_second, row.enabled],
      [url, "Automation service", ["ticket.overdue"], 50, true],
    );
    assertEquals([row.secret, row.created_by], [first, t.adminId]);

    // List and get: the endpoint, never its secret.
    const list = await t.call(t.admin, "GET", "/endpoints");
    assertEquals(list.status, 200, list.text);
    const listed = list.body.endpoints.find((e: { id: string }) => e.id === id);
    assertEquals([listed?.url, listed?.enabled], [url, true], list.text);
    const got = await t.call(t.admin, "GET", `/endpoints/${id}`);
    assertEquals([got.status, got.body.id, got.body.event_types], [200, id, ["ticket.overdue"]]);
    for (const answer of [list, got]) assert(!answer.text.includes(first), "no secret listed");

    // Update: null clears the event types (every type) and the rate limit.
    const moved = t.receiverUrl("life-moved").url;
    const updated = await t.call(t.admin, "PATCH", `/endpoints/${id}`, {
      url: moved,
      description: "Automation service (moved)",
      event_types: null,
      rate_limit_per_second: null,
    });
    assertEquals(updated.status, 200, updated.text);
    assertEquals(
      [updated.body.url, updated.body.event_types, updated.body.rate_limit_per_second],
      [moved, null, null],
    );
    row = (await endpointRow(t.sql, id))!;
    assertEquals(
      [row.url, row.description, row.event_types, row.rate_limit_per_second],
      [moved, "Automation service (moved)", null, null],
    );
    const described = await t.call(t.admin, "PATCH", `/endpoints/${id}`, { description: "" });
    assertEquals([described.status, described.body.url], [200, moved], described.text);

    // Disable with a reason, enable again.
    const disabled = await t.call(t.admin, "POST", `/endpoints/${id}/disable`, {
      reason: "Maintenance window",
    });
    assertEquals(disabled.status, 200, disabled.text);
    assertEquals([disabled.body.enabled, disabled.body.disabled_reason], [
      false,
      "Maintenance window",
    ]);
    row = (await endpointRow(t.sql, id))!;
    assert(!row.enabled && row.disabled_at !== null, "disabled in SQL");
    // SQL refuses what zod cannot know: a test event to a disabled endpoint (22023 → 400).
    const refused = await t.call(t.admin, "POST", `/endpoints/${id}/test`);
    assertEquals([refused.status, refused.body.error.code], [400, "invalid_request"], refused.text);
    assertMatch(refused.body.error.message, /is disabled \(Maintenance window\)/);
    const enabled = await t.call(t.admin, "POST", `/endpoints/${id}/enable`);
    assertEquals(enabled.status, 200, enabled.text);
    assertEquals([enabled.body.enabled, enabled.body.disabled_at, enabled.body.disabled_reason], [
      true,
      null,
      null,
    ]);

    // Secrets: the first one; a rotation to a given one keeps the first for 24 hours.
    const secrets = await t.call(t.admin, "GET", `/endpoints/${id}/secret`);
    assertEquals(secrets.status, 200, secrets.text);
    assertEquals(secrets.body, {
      secret: first,
      previous_secret: null,
      previous_secret_expires_at: null,
    });
    assertEquals(secrets.headers.get("cache-control"), "no-store");
    const second = newSecret(24);
    const rotated = await t.call(t.admin, "POST", `/endpoints/${id}/secret/rotate`, {
      secret: second,
    });
    assertEquals([rotated.status, rotated.body.secret], [200, second], rotated.text);
    const overlap = Date.parse(rotated.body.previous_secret_expires_at) - Date.now();
    assert(Math.abs(overlap - 24 * 3600_000) < 60_000, `24 h of overlap: ${rotated.text}`);
    const both = await t.call(t.admin, "GET", `/endpoints/${id}/secret`);
    assertEquals(
      [both.body.secret, both.body.previous_secret, both.body.previous_secret_expires_at],
      [second, first, rotated.body.previous_secret_expires_at],
    );
    row = (await endpointRow(t.sql, id))!;
    assertEquals([row.secret, row.previous_secret], [second, first]);
    // A second rotation (generated secret) drops the first from Vault.
    const firstId = row.previous_secret_id;
    const third = await t.call(t.admin, "POST", `/endpoints/${id}/secret/rotate`);
    assertEquals(third.status, 200, third.text);
    assert(![first, second].includes(third.body.secret), "a new secret");
    row = (await endpointRow(t.sql, id))!;
    assertEquals([row.secret, row.previous_secret], [third.body.secret, second]);
    const [{ kept }] = await t.sql<{ kept: number }[]>`
      select count(*)::int as kept from vault.secrets where id = ${firstId}`;
    assertEquals(kept, 0);

    // A test event: a message for this endpoint only, with its job on the webhooks queue. The
    // receiver holds the delivery back, so its job is still running: SQL refuses a replay
    // (22023 → 400).
    const movedName = new URL(moved).pathname.split("/").at(-1)!;
    const hookPath = `/hooks/${movedName}`;
    await receiver.setSecrets(movedName, [third.body.secret]);
    await receiver.faults.add({ action: "delay", delay_ms: 60_000, path: hookPath });
    const sent = await t.call(t.admin, "POST", `/endpoints/${id}/test`);
    assertEquals(sent.status, 202, sent.text);
    const messageId: string = sent.body.id;
    assertMatch(messageId, /^msg_[0-9a-f]{32}$/);
    assertEquals([sent.body.event_type, sent.body.endpoint_id], ["webhook.test", id]);
    const message = (await messageRow(t.sql, messageId))!;
    assertEquals(
      [message.job_queue, message.job_subject, message.job_dedupe_key],
      ["webhooks", `endpoint:${id}`, messageId],
    );
    assertEquals(message.payload.type, "webhook.test");
    assertEquals([message.payload.data.endpoint_id, message.payload.data.sent_by], [
      id,
      t.adminId,
    ]);
    await t.until(async () => (await messageRow(t.sql, messageId))?.job_state === "running", {
      what: `the job of ${messageId} running`,
    });
    const early = await t.call(t.admin, "POST", `/messages/${messageId}/replay`);
    assertEquals([early.status, early.body.error.code], [400, "invalid_request"], early.text);
    assertMatch(early.body.error.message, /is still being delivered/);
    // Let it go: delivered, verified by the receiver with the endpoint's secret.
    await receiver.faults.clear();
    await t.untilMessage(messageId, "delivered");
    const [received] = await receiver.list({ endpoint: movedName });
    assertEquals([received?.webhook_id, received?.verified], [messageId, true]);

    // Replay while the receiver answers 410: the same webhook-id fails, the endpoint is
    // disabled at once; the attempts show both.
    await receiver.faults.add({ action: "status", status: 410, path: hookPath });
    const replayed = await t.call(t.admin, "POST", `/messages/${messageId}/replay`);
    assertEquals([replayed.status, replayed.body.id, replayed.body.status], [
      202,
      messageId,
      "pending",
    ], replayed.text);
    const again = (await messageRow(t.sql, messageId))!;
    assert(again.job_id !== message.job_id, "a new job");
    assertEquals(again.job_dedupe_key, messageId);
    await t.untilMessage(messageId, "failed");
    const gone = await t.call(t.admin, "GET", `/endpoints/${id}`);
    assertEquals(gone.body.enabled, false, gone.text);
    assertMatch(gone.body.disabled_reason, new RegExp(`410 Gone .* to ${messageId}`));
    const failed = await t.call(t.admin, "GET", `/endpoints/${id}/messages?status=failed`);
    assertEquals(failed.status, 200, failed.text);
    assertEquals(failed.body.messages.map((m: { id: string }) => m.id), [messageId]);
    assertEquals(
      failed.body.messages[0].attempts.map((a: { response_status: number; outcome: string }) => [
        a.response_status,
        a.outcome,
      ]),
      [[200, "delivered"], [410, "endpoint_disabled"]],
      failed.text,
    );
    assertEquals(typeof failed.body.messages[0].attempts[0].duration_ms, "number");
    const none = await t.call(t.admin, "GET", `/endpoints/${id}/messages?status=pending`);
    assertEquals(none.body.messages, [], none.text);
    const one = await t.call(t.admin, "GET", `/messages/${messageId}`);
    assertEquals([one.status, one.body.status, one.body.attempts.length], [200, "failed", 2]);

    // A second message fails the same way; then recover: every failed message since a time
    // goes again (none after a time to come), and both are delivered.
    await t.call(t.admin, "POST", `/endpoints/${id}/enable`);
    await receiver.faults.add({ action: "status", status: 410, path: hookPath });
    const second410 = await t.call(t.admin, "POST", `/endpoints/${id}/test`);
    assertEquals(second410.status, 202, second410.text);
    await t.untilMessage(second410.body.id, "failed");
    const stillDisabled = await t.call(t.admin, "POST", `/endpoints/${id}/recover`, { since: t0 });
    assertEquals(stillDisabled.status, 400, stillDisabled.text);
    await t.call(t.admin, "POST", `/endpoints/${id}/enable`);
    const future = new Date(Date.now() + 3600_000).toISOString();
    const nothing = await t.call(t.admin, "POST", `/endpoints/${id}/recover`, { since: future });
    assertEquals([nothing.status, nothing.body], [202, { recovered: 0 }], nothing.text);
    const recovered = await t.call(t.admin, "POST", `/endpoints/${id}/recover`, { since: t0 });
    assertEquals([recovered.status, recovered.body], [202, { recovered: 2 }], recovered.text);
    await t.untilMessage(messageId, "delivered");
    await t.untilMessage(second410.body.id, "delivered");
    const page = await t.call(t.admin, "GET", `/endpoints/${id}/messages?limit=1`);
    assertEquals(page.body.messages.map((m: { id: string }) => m.id), [second410.body.id]);
    const rest = await t.call(
      t.admin,
      "GET",
      `/endpoints/${id}/messages?before=${encodeURIComponent(page.body.next_before)}`,
    );
    assertEquals(rest.body.messages.map((m: { id: string }) => m.id), [messageId], rest.text);
    // The receiver saw the first message twice under one webhook-id, and deduplicated it.
    const stats = await receiver.endpoint(movedName);
    assertEquals([stats.messages, stats.duplicates], [2, 1], JSON.stringify(stats));
    await receiver.setSecrets(movedName, []);
    // Delete: the endpoint, its messages and its Vault secrets; then 404.
    const secretIds = [row.secret_id, row.previous_secret_id];
    const deleted = await t.call(t.admin, "DELETE", `/endpoints/${id}`);
    assertEquals([deleted.status, deleted.body], [200, { deleted: true, id }], deleted.text);
    assertEquals(await endpointRow(t.sql, id), undefined);
    assertEquals(await messageRow(t.sql, messageId), undefined);
    const [{ left }] = await t.sql<{ left: number }[]>`
      select count(*)::int as left from vault.secrets where id = any(${secretIds}::uuid[])`;
    assertEquals(left, 0);
    for (const [method, path] of [["GET", `/endpoints/${id}`], ["DELETE", `/endpoints/${id}`]]) {
      const answer = await t.call(t.admin, method, path);
      assertEquals(answer.status, 404, `${method} ${path}: ${answer.text}`);
    }
  } finally {
    await t.done();
  }
});

Deno.test("a test event reaches the receiver stand-in verified, signed with both secrets while a rotation overlaps", async () => {
  const t = await startWebhooksApiTest();
  try {
    const { name, url } = t.receiverUrl("signed");
    const old = newSecret();
    const created = await t.call(t.admin, "POST", "/endpoints", { url, secret: old });
    assertEquals([created.status, created.body.secret], [201, old], created.text);
    const id: string = created.body.id;
    const rotated = await t.call(t.admin, "POST", `/endpoints/${id}/secret/rotate`);
    assertEquals(rotated.status, 200, rotated.text);
    const current: string = rotated.body.secret;

    // The receiver knows only the old secret, then only the new one: both verify.
    for (const [known, index] of [[old, 0], [current, 1]] as const) {
      await receiver.setSecrets(name, [known]);
      const sent = await t.call(t.admin, "POST", `/endpoints/${id}/test`);
      assertEquals(sent.status, 202, sent.text);
      await t.untilMessage(sent.body.id, "delivered");
      const [delivery] = await receiver.list({ endpoint: name, webhook_id: sent.body.id });
      assert(delivery, `the receiver got ${sent.body.id}`);
      assertEquals([delivery.verified, delivery.failure], [true, null], delivery.failure_message!);
      assertEquals(delivery.webhook_signature!.split(" ").length, 2, "one v1 signature per secret");
      assertEquals(delivery.event_type, "webhook.test");
      assertEquals((delivery.json as { data: { sent_by: string } }).data.sent_by, t.adminId);
      const messages = await t.call(t.admin, "GET", `/endpoints/${id}/messages?status=delivered`);
      assertEquals(messages.body.messages.length, index + 1, messages.text);
    }
    await receiver.setSecrets(name, []);
  } finally {
    await t.done();
  }
});
