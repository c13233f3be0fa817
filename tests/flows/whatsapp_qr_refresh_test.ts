/**
 * `refresh-qr-codes`, the fallback for QR codes no webhook brought, on the real local platform:
 * only the cron secret (or the service key) may call it; an instance still connecting whose code
 * is older than `qr_refresh_after` gets a fresh one from the stand-in's `GET /instance/connect`,
 * one that turns out to be open is recorded as open, and one Evolution no longer has is recorded as
 * deleted (it stops being due).
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import {
  credentialsOf,
  evolution,
  instanceRow,
  loseOnEvolution,
  REFRESH_URL,
  refreshQrCodes,
  startWhatsAppTest,
} from "../_support/whatsapp.ts";

Deno.test("refresh-qr-codes fetches a code for instances whose code is stale, and records those found open", async () => {
  const t = await startWhatsAppTest();
  const before = await evolution.behaviour();
  try {
    // No rotation by webhook during the test: only the refresh brings codes.
    await evolution.setBehaviour({ qrIntervalMs: 600_000 });
    const refused = await fetch(REFRESH_URL, {
      method: "POST",
      headers: { authorization: "Bearer not-the-cron-secret" },
    });
    assertEquals(refused.status, 401, await refused.text());

    const stale = await t.signUp("Stale");
    const opened = await t.signUp("Opened");
    const gone = await t.signUp("Gone");
    await t.waitForInstance(stale.id);
    await t.waitForInstance(opened.id);
    await t.waitForInstance(gone.id);
    await evolution.scan((await credentialsOf(t.sql, opened.id)).instance_name, {});
    await t.waitForInstance(opened.id, (row) => row.instance_status === "open");
    // Evolution loses one instance without telling us (its webhook off, then deleted there).
    await loseOnEvolution((await credentialsOf(t.sql, gone.id)).instance_name);
    // All three look stale and connecting, as if their webhooks had been lost.
    for (const id of [stale.id, opened.id, gone.id]) {
      await t.sql`update public.evolution_instances
        set qr_code = null, qr_code_text = null, instance_status = 'connecting',
            last_qr_update = now() - interval '1 hour'
        where user_id = ${id}`;
    }

    const answer = await refreshQrCodes();
    assertEquals(answer.status, 200, answer.text);
    assert(answer.body.checked >= 3, answer.text);
    assert(answer.body.refreshed >= 1, answer.text);
    assert(answer.body.connected >= 1, answer.text);
    assert(answer.body.gone >= 1, answer.text);
    assertEquals(Object.keys(answer.body).sort(), [
      "checked",
      "connected",
      "failed",
      "gone",
      "refreshed",
    ]);
    const lost = await instanceRow(t.sql, gone.id);
    assertEquals([lost?.status, lost?.instance_status], ["deleted", "close"]);

    const fresh = await instanceRow(t.sql, stale.id);
    assertMatch(fresh?.qr_code ?? "", /^data:image\/png;base64,/);
    assertEquals(fresh?.instance_status, "connecting");
    assert(Date.now() - fresh!.last_qr_update!.getTime() < 60_000, "last_qr_update is recent");
    assertEquals((await instanceRow(t.sql, opened.id))?.instance_status, "open");

    // Nothing is due any more for these two.
    const next = await refreshQrCodes();
    assertEquals(next.status, 200, next.text);
    const due = await t.sql`select instance_name from public.whatsapp_qr_due()`;
    const names = new Set(due.map((d) => d.instance_name));
    for (const id of [stale.id, opened.id, gone.id]) {
      assertEquals(names.has((await credentialsOf(t.sql, id)).instance_name), false);
    }
  } finally {
    await evolution.setBehaviour(before);
    await t.done();
  }
});
