/**
 * The delivery engine's signer: its `webhook-signature` verifies with the `standardwebhooks`
 * package (as receivers check it) and equals an HMAC-SHA256 of `id.timestamp.body` computed
 * independently with WebCrypto over the base64-decoded secret; during a rotation the header
 * holds one signature per secret, each verifying on its own. Also: the headers' shape, and what
 * it refuses.
 */
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertThrows,
} from "../_support/assert.ts";
import {
  signatureHeaders,
  signWebhook,
} from "../../supabase/functions/_shared/providers/webhooks/signer.ts";

/** A fresh secret in Standard Webhooks format (`whsec_` + base64 of 32 random bytes). */
function newSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}

/** `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, with WebCrypto (not the package). */
async function independentSignature(
  secret: string,
  id: string,
  seconds: number,
  body: string,
): Promise<string> {
  const raw = Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${id}.${seconds}.${body}`),
  );
  return `v1,${btoa(String.fromCharCode(...new Uint8Array(mac)))}`;
}

/** Asserts that `secret` does not verify the message. */
function assertRejected(secret: string, body: string, headers: Record<string, string>) {
  const error = assertThrows(() => new Webhook(secret).verify(body, headers));
  assertInstanceOf(error, WebhookVerificationError);
}

const BODY = JSON.stringify({
  type: "ticket.overdue",
  timestamp: "2026-11-28T21:00:00.000Z",
  data: { ticket: { id: 12, title: "Compresseur — fuite d'huile" }, overdue_by_seconds: 7200 },
});

Deno.test("a signature verifies with standardwebhooks and equals an independent HMAC-SHA256 of id.timestamp.body", async () => {
  const secret = newSecret();
  const at = new Date();
  const headers = signatureHeaders("msg_0123456789abcdef", at, BODY, [secret]);
  const seconds = Math.floor(at.getTime() / 1000);
  assertEquals(headers["webhook-id"], "msg_0123456789abcdef");
  assertEquals(headers["webhook-timestamp"], String(seconds));
  assertMatch(headers["webhook-signature"], /^v1,[A-Za-z0-9+/]{43}=$/);
  assertEquals(
    headers["webhook-signature"],
    await independentSignature(secret, "msg_0123456789abcdef", seconds, BODY),
  );
  new Webhook(secret).verify(BODY, { ...headers }, { jsonParse: false });
  // Another body, id or secret does not verify.
  assertRejected(secret, BODY.replace("12", "13"), { ...headers });
  assertRejected(secret, BODY, { ...headers, "webhook-id": "msg_other" });
  assertRejected(newSecret(), BODY, { ...headers });
});

Deno.test("during a rotation the header holds two signatures, and each secret alone verifies", async () => {
  const [current, previous] = [newSecret(), newSecret()];
  const at = new Date();
  const seconds = Math.floor(at.getTime() / 1000);
  const headers = signatureHeaders("msg_rotation", at, BODY, [current, previous]);
  const parts = headers["webhook-signature"].split(" ");
  assertEquals(parts.length, 2);
  assertEquals(parts, [
    await independentSignature(current, "msg_rotation", seconds, BODY),
    await independentSignature(previous, "msg_rotation", seconds, BODY),
  ]);
  for (const secret of [current, previous]) {
    new Webhook(secret).verify(BODY, { ...headers }, { jsonParse: false });
  }
  assertRejected(newSecret(), BODY, { ...headers });
});

Deno.test("the timestamp is the attempt's: a retry signs again with its own time, same id", async () => {
  const secret = newSecret();
  const first = new Date("2026-11-28T21:00:00.900Z");
  const retry = new Date("2026-11-28T21:00:05.100Z");
  const a = signWebhook("msg_same", first, BODY, [secret]);
  const b = signWebhook("msg_same", retry, BODY, [secret]);
  assert(a !== b, "a new timestamp gives a new signature");
  assertEquals(a, await independentSignature(secret, "msg_same", 1795899600, BODY));
  assertEquals(b, await independentSignature(secret, "msg_same", 1795899605, BODY));
  // Non-ASCII bodies are signed as UTF-8 bytes, as receivers read them.
  const accents = JSON.stringify({ note: "Révision à prévoir 🔧" });
  assertEquals(
    signWebhook("msg_utf8", first, accents, [secret]),
    await independentSignature(secret, "msg_utf8", 1795899600, accents),
  );
});

Deno.test("signing refuses a message without a secret, and a malformed secret", () => {
  const error = assertThrows(() => signWebhook("msg_none", new Date(), BODY, []));
  assertMatch(error.message, /Message msg_none has no signing secret/);
  assertThrows(() => signWebhook("msg_bad", new Date(), BODY, ["whsec_"]));
});
