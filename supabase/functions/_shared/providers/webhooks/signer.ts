/**
 * Signing of outgoing webhooks, per Standard Webhooks (https://www.standardwebhooks.com): the
 * `webhook-signature` header holds one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per
 * secret of the endpoint, space-separated — two during a secret rotation, so that a receiver
 * holding either secret verifies. The HMAC is computed by the `standardwebhooks` package, the
 * one receivers use to verify; its `Webhook` objects (the decoded keys) are kept per secret.
 *
 * @example
 * const headers = signatureHeaders("msg_2b…", new Date(), body, [secret, previousSecret]);
 * // { "webhook-id": "msg_2b…", "webhook-timestamp": "1795899600", "webhook-signature": "v1,… v1,…" }
 */
import { Webhook } from "standardwebhooks";

/** The three Standard Webhooks headers of one attempt. */
export interface SignatureHeaders {
  "webhook-id": string;
  /** Unix seconds of the attempt. */
  "webhook-timestamp": string;
  /** `v1,<base64>` per secret, space-separated. */
  "webhook-signature": string;
}

/** Decoded keys by secret: decoding is per secret, not per message. Bounded, oldest out. */
const keys = new Map<string, Webhook>();
const MAX_KEYS = 1_000;

/** The package's signer of `secret` (`whsec_` + base64), made once per secret. */
function webhookOf(secret: string): Webhook {
  let webhook = keys.get(secret);
  if (!webhook) {
    webhook = new Webhook(secret);
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(secret, webhook);
  }
  return webhook;
}

/**
 * The `webhook-signature` value of a message: one `v1,` signature per secret, in the order
 * given, space-separated.
 *
 * @throws {Error} when `secrets` is empty or a secret is not `whsec_` + non-empty base64.
 */
export function signWebhook(
  messageId: string,
  at: Date,
  body: string,
  secrets: readonly string[],
): string {
  if (secrets.length === 0) {
    throw new Error(`Message ${messageId} has no signing secret`);
  }
  return secrets.map((secret) => webhookOf(secret).sign(messageId, at, body)).join(" ");
}

/** The Standard Webhooks headers of one attempt of a message sent at `at`. */
export function signatureHeaders(
  messageId: string,
  at: Date,
  body: string,
  secrets: readonly string[],
): SignatureHeaders {
  return {
    "webhook-id": messageId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signWebhook(messageId, at, body, secrets),
  };
}
