/**
 * `evolution-webhook` on the real local platform: Evolution's events, authenticated by the
 * instance's secret header, update the instance (QR codes, connection state) and store inbound
 * messages; a wrong or missing secret, an unknown instance and malformed bodies get 4xx and
 * change nothing; a repeated body is recognised. With the stand-in rotating QR codes fast: codes
 * follow each other into the database, the QR limit becomes the visible `refused` state, and the
 * settings endpoint's `qr` action reconnects the instance, which a scan then opens.
 */
import { assert, assertEquals, assertMatch, assertNotEquals } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import {
  callSettings,
  credentialsOf,
  evolution,
  instanceRow,
  postWebhook,
  startWhatsAppTest,
  storedEvents,
  userJwt,
  webhookBody,
} from "../_support/whatsapp.ts";

/** A QR code payload nobody else sends: `marker` shows where it went. */
function qrData(instance: string, marker: string) {
  return {
    qrcode: {
      instance,
      pairingCode: null,
      code: `2@${marker}`,
      base64: `data:image/png;base64,${btoa(marker)}`,
    },
  };
}

Deno.test("evolution-webhook authenticates each call by its instance's secret and changes nothing on a 4xx", async () => {
  const t = await startWhatsAppTest();
  try {
    const user = await t.signUp();
    await t.waitForInstance(user.id);
    const creds = await credentialsOf(t.sql, user.id);
    const name = creds.instance_name;
    const marker = crypto.randomUUID();
    const body = webhookBody(name, "qrcode.updated", qrData(name, marker));
    const mine = async () =>
      (await storedEvents(t.sql, name)).filter((e) => JSON.stringify(e.payload).includes(marker));

    // Refused: each is a 4xx, as JSON, and nothing is stored.
    const refusals: Array<[unknown, string | null, number, string, string?]> = [
      [body, null, 401, "unauthorized"],
      [body, "not-the-secret", 401, "unauthorized"],
      [body, creds.webhook_secret.slice(0, -1), 401, "unauthorized"],
      [
        webhookBody(`${name}x`, "qrcode.updated", qrData(name, marker)),
        "x",
        404,
        "unknown_instance",
      ],
      ["{not json", creds.webhook_secret, 422, "malformed_json"],
      [{ ...body, event: undefined }, creds.webhook_secret, 422, "invalid_body"],
      [{ ...body, data: "text" }, creds.webhook_secret, 422, "invalid_body"],
      [[body], creds.webhook_secret, 422, "invalid_body"],
      [body, creds.webhook_secret, 405, "method_not_allowed", "PUT"],
      [undefined, creds.webhook_secret, 405, "method_not_allowed", "GET"],
    ];
    for (const [payload, secret, status, code, method] of refusals) {
      const answer = await postWebhook(payload, secret, method);
      assertEquals([answer.status, answer.body?.error?.code], [status, code], answer.text);
    }
    assertEquals(await mine(), []);
    assertNotEquals(
      (await instanceRow(t.sql, user.id))?.qr_code,
      qrData(name, marker).qrcode.base64,
    );

    // Accepted: handled once, then recognised as a duplicate.
    const started = performance.now();
    const first = await postWebhook(body, creds.webhook_secret);
    const took = performance.now() - started;
    assertEquals([first.status, first.body.status], [200, "handled"], first.text);
    assert(took < 1_000, `answered in ${took} ms`);
    const row = await instanceRow(t.sql, user.id);
    assertEquals(row?.qr_code, qrData(name, marker).qrcode.base64);
    assertEquals(row?.qr_code_text, `2@${marker}`);
    assertEquals(row?.instance_status, "connecting");
    const again = await postWebhook(body, creds.webhook_secret);
    assertEquals([again.status, again.body.status], [200, "duplicate"], again.text);
    const stored = await mine();
    assertEquals(stored.length, 1);
    assertEquals(stored[0].event, "qrcode.updated");
    // The instance's token travels in Evolution's bodies; the event store does not keep it.
    assertEquals("apikey" in stored[0].payload, false);

    // An inbound message lands in whatsapp_inbound_messages; our own outgoing one does not.
    const messageId = `MSG${marker.replaceAll("-", "").slice(0, 12)}`;
    const message = (id: string, fromMe: boolean, text: string) =>
      webhookBody(name, "messages.upsert", {
        key: { remoteJid: "33612345678@s.whatsapp.net", fromMe, id },
        pushName: "Grace",
        message: { conversation: text },
        messageType: "conversation",
        messageTimestamp: Math.floor(Date.now() / 1000),
      });
    for (const [id, fromMe] of [[messageId, false], [`${messageId}ME`, true]] as const) {
      const answer = await postWebhook(message(id, fromMe, `hello ${id}`), creds.webhook_secret);
      assertEquals(answer.status, 200, answer.text);
    }
    const inbound = await t.sql`
      select message_id, from_number, push_name, text, user_id from public.whatsapp_inbound_messages
      where instance_name = ${name} order by id`;
    assertEquals(inbound.map((m) => ({ ...m })), [{
      message_id: messageId,
      from_number: "33612345678",
      push_name: "Grace",
      text: `hello ${messageId}`,
      user_id: user.id,
    }]);

    // An event this flow does not handle is stored and answered 200 (Evolution must not retry).
    const other = await postWebhook(
      webhookBody(name, "presence.update", { id: marker }),
      creds.webhook_secret,
    );
    assertEquals([other.status, other.body.status], [200, "ignored"], other.text);
  } finally {
    await t.done();
  }
});

Deno.test("QR codes rotate into the database, the QR limit shows as refused, and a new code then a scan connect", async () => {
  const t = await startWhatsAppTest();
  const before = await evolution.behaviour();
  try {
    await evolution.setBehaviour({ qrIntervalMs: 200, qrLimit: 5, webhookRetryBaseMs: 200 });
    const user = await t.signUp();
    // Codes rotate every 200 ms; under load their webhooks may land together, so the stored
    // events (not snapshots of the row) show the rotation.
    const first = await t.waitForInstance(user.id, (row) => row.qr_count >= 2);
    await waitFor(async () => {
      const stored = new Set(
        (await storedEvents(t.sql, first.instance_name))
          .filter((e) => e.event === "qrcode.updated")
          .map((e) => String(e.payload.data?.qrcode?.code)),
      );
      return stored.size >= 3 && stored;
    }, { what: "three QR codes stored from qrcode.updated events" });
    assert(first.qr_code_text, "the instance shows its current code");
    const refused = await t.waitForInstance(user.id, (row) => row.instance_status === "refused");
    assertEquals(refused.status_reason, 428);

    // The user asks for a new code: the instance connects again and shows a fresh QR code.
    await evolution.setBehaviour({ qrLimit: 1_000 });
    const jwt = await userJwt(user.id);
    const answer = await callSettings(jwt, { action: "qr" });
    assertEquals(answer.status, 200, answer.text);
    assertEquals(answer.body.instance.instance_status, "connecting");
    assertMatch(answer.body.instance.qr_code, /^data:image\/png;base64,/);

    const name = (await credentialsOf(t.sql, user.id)).instance_name;
    await evolution.scan(name, { number: "33611223344", profileName: "Ada" });
    const open = await t.waitForInstance(user.id, (row) => row.instance_status === "open");
    assertEquals([open.phone_number, open.qr_code], ["33611223344", null]);
    assert(open.connected_at !== null);
  } finally {
    await evolution.setBehaviour(before);
    await t.done();
  }
});
