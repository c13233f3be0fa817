/**
 * `create-evolution-instance`, the app's WhatsApp settings endpoint, on the real local platform:
 * who may call it (a signed-in user's JWT; not the anon key, not a forged token, not the service
 * key), that each one only ever sees and acts on their own instance, and each action (`qr`,
 * `webhooks`, `logout`, `delete`, `create`) on Evolution and in the database. No answer ever
 * carries the instance's token or webhook secret.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { signLocalJwt } from "../../scripts/platform/keys.ts";
import {
  type Answer,
  callSettings,
  credentialsOf,
  evolution,
  instanceRow,
  loseOnEvolution,
  startWhatsAppTest,
  userJwt,
  WEBHOOK_URL,
} from "../_support/whatsapp.ts";

/** Fails when an answer shows a secret. */
function assertNoSecret(answer: Answer, creds: { instance_token: string; webhook_secret: string }) {
  assert(!answer.text.includes(creds.instance_token), `the token leaked: ${answer.text}`);
  assert(!answer.text.includes(creds.webhook_secret), `the secret leaked: ${answer.text}`);
}

Deno.test("only a signed-in user may call the settings endpoint, and sees only their own instance", async () => {
  const t = await startWhatsAppTest();
  try {
    const owner = await t.signUp("Owner");
    await t.waitForInstance(owner.id);
    const creds = await credentialsOf(t.sql, owner.id);
    const before = await instanceRow(t.sql, owner.id);

    const mine = await callSettings(await userJwt(owner.id));
    assertEquals(mine.status, 200, mine.text);
    assertEquals(mine.body.user_id, owner.id);
    assertEquals(mine.body.queue.status, "completed");
    assertEquals(mine.body.instance.instance_name, creds.instance_name);
    assertMatch(mine.body.instance.qr_code, /^data:image\/png;base64,/);
    assertNoSecret(mine, creds);

    // Not a user: no header, the anon key, the service key, a forged or expired token.
    const forged = await signLocalJwt("another-secret-that-is-at-least-32-characters-long", {
      sub: owner.id,
      role: "authenticated",
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    const expired = await signLocalJwt(Deno.env.get("JWT_SECRET")!, {
      sub: owner.id,
      role: "authenticated",
      exp: Math.floor(Date.now() / 1000) - 600,
    });
    for (
      const token of [
        null,
        Deno.env.get("SUPABASE_ANON_KEY")!,
        Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!,
        forged,
        expired,
      ]
    ) {
      for (const body of [undefined, { action: "delete" }]) {
        const answer = await callSettings(token, body);
        assertEquals(answer.status, 401, `${token?.slice(-8)} ${answer.text}`);
        assertNoSecret(answer, creds);
      }
    }

    // Another user (without an instance yet) sees their own empty state and cannot act.
    const stranger = crypto.randomUUID();
    const strangerJwt = await userJwt(stranger);
    const theirs = await callSettings(strangerJwt);
    assertEquals([theirs.status, theirs.body], [200, {
      user_id: stranger,
      queue: null,
      instance: null,
    }]);
    for (const action of ["qr", "webhooks", "logout", "delete"]) {
      const answer = await callSettings(strangerJwt, { action, user_id: owner.id });
      assertEquals([answer.status, answer.body.error.code], [409, "no_instance"], answer.text);
    }
    // Bad requests.
    const jwt = await userJwt(owner.id);
    for (const body of [{ action: "explode" }, {}, "{nope", [1]]) {
      const answer = await callSettings(jwt, body);
      assertEquals([answer.status, answer.body.error.code], [400, "invalid_action"], answer.text);
    }
    const put = await callSettings(jwt, { action: "qr" }, "PUT");
    assertEquals(put.status, 405, put.text);

    // Nothing happened to the owner's instance.
    const after = await instanceRow(t.sql, owner.id);
    assertEquals(
      [after?.status, after?.instance_token, after?.webhook_configured_at],
      [before?.status, before?.instance_token, before?.webhook_configured_at],
    );
    assertEquals(
      (await evolution.instances()).filter((i) => i.name === creds.instance_name).length,
      1,
    );
  } finally {
    await t.done();
  }
});

Deno.test("the settings actions ask for a code, set the webhook, log out, delete and create again", async () => {
  const t = await startWhatsAppTest();
  try {
    const user = await t.signUp();
    await t.waitForInstance(user.id);
    const creds = await credentialsOf(t.sql, user.id);
    const name = creds.instance_name;
    const jwt = await userJwt(user.id);
    const act = async (action: string, status = 200) => {
      const answer = await callSettings(jwt, { action });
      assertEquals(answer.status, status, `${action}: ${answer.text}`);
      assertNoSecret(answer, creds);
      return answer;
    };
    const remote = async () => (await evolution.instances()).find((i) => i.name === name);

    const qr = await act("qr");
    assertEquals(qr.body.action, "qr");
    assertEquals(typeof qr.body.result.qr_count, "number");
    assertEquals(qr.body.instance.qr_code, (await remote())?.qr?.base64);

    const configuredBefore = (await instanceRow(t.sql, user.id))?.webhook_configured_at;
    const hooks = await act("webhooks");
    assertEquals(hooks.body.result.url, WEBHOOK_URL);
    assert(hooks.body.result.events.includes("QRCODE_UPDATED"));
    assertEquals((await remote())?.webhook?.headers, {
      "x-evolution-secret": creds.webhook_secret,
    });
    const configuredAfter = (await instanceRow(t.sql, user.id))?.webhook_configured_at;
    assert(configuredAfter > configuredBefore, "webhook_configured_at moved");

    await evolution.scan(name, {});
    await t.waitForInstance(user.id, (row) => row.instance_status === "open");
    const out = await act("logout");
    assertEquals(out.body.result.status, "logged_out");
    assertEquals(out.body.instance.status, "logged_out");
    assertEquals((await remote())?.state, "close");
    // Not connected any more: Evolution refuses a second logout, which is a 409.
    const again = await act("logout", 409);
    assertEquals(again.body.error.code, "not_connected");

    // Reconnect: a new code, then a scan, and the instance is back in use.
    const back = await act("qr");
    assertEquals(back.body.instance.instance_status, "connecting");
    assertMatch(back.body.instance.qr_code, /^data:image\/png;base64,/);
    await evolution.scan(name, {});
    const reopened = await t.waitForInstance(user.id, (row) => row.instance_status === "open");
    assertEquals(reopened.status, "created");

    // Evolution failing: 503 when it may come back, 502 when it refuses.
    await evolution.faults.add({ action: "status", status: 500, count: 1 });
    assertEquals((await act("qr", 503)).body.error.code, "evolution_unavailable");
    await evolution.faults.add({ action: "status", status: 401, count: 1 });
    assertEquals((await act("qr", 502)).body.error.code, "evolution_refused");

    // Deleted on Evolution without our knowing: 409 instance_gone, recorded as deleted.
    await loseOnEvolution(name);
    assertEquals((await act("qr", 409)).body.error.code, "instance_gone");
    assertEquals((await instanceRow(t.sql, user.id))?.status, "deleted");
    await act("create");
    await t.waitForInstance(user.id, (row) => row.status === "created");

    const deleted = await act("delete");
    assertEquals(deleted.body.instance.status, "deleted");
    assertEquals(await remote(), undefined);
    assertEquals((await act("qr", 409)).body.error.code, "no_instance");

    // A new instance, with new credentials.
    const created = await act("create");
    assertEquals(created.body.action, "create");
    const renewed = await t.waitForInstance(
      user.id,
      (row) => row.instance_token !== creds.instance_token,
    );
    assertEquals(renewed.instance_name, name);
    assertEquals((await remote())?.token, renewed.instance_token);
    // Asking again while one exists changes nothing.
    const twice = await act("create");
    assertEquals(twice.body.instance.instance_name, name);
    assertEquals((await instanceRow(t.sql, user.id))?.instance_token, renewed.instance_token);
  } finally {
    await t.done();
  }
});
