/**
 * Signature checks of the webhook receiver stand-in, done by the `standardwebhooks` package as
 * a customer's endpoint would do them: an endpoint may hold several `whsec_` secrets at once
 * (rotation); a delivery verifies when any `v1` signature of its header matches any of them.
 * The package checks the timestamp first, within 5 minutes of its own clock (`Date.now`), so a
 * stale message fails as `timestamp_too_old` whatever its signature.
 */
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { z } from "zod";
import type { VerificationFailure } from "./delivery.ts";

/** The outcome of {@link verifyDelivery}. */
export type Verification =
  | { verified: true; secretIndex: number }
  | { verified: false; failure: VerificationFailure; message: string };

/** The signature headers of a delivery, null when absent. */
export interface SignatureHeaders {
  id: string | null;
  timestamp: string | null;
  signature: string | null;
}

/** True for a secret the package accepts: `whsec_` and non-empty base64. */
function isUsableSecret(secret: string): boolean {
  try {
    new Webhook(secret);
    return true;
  } catch {
    return false;
  }
}

/** A signing secret in Standard Webhooks format: `whsec_` followed by base64. */
export const secretSchema = z.string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "A secret is whsec_ followed by base64")
  .refine(isUsableSecret, "The secret's base64 part does not decode");

const FAILURES: Record<string, VerificationFailure> = {
  "Missing required headers": "missing_headers",
  "Invalid Signature Headers": "invalid_timestamp",
  "Message timestamp too old": "timestamp_too_old",
  "Message timestamp too new": "timestamp_too_new",
  "No matching signature found": "no_matching_signature",
};

/**
 * Verifies a raw body and its headers against an endpoint's secrets, oldest first.
 *
 * @example
 * const result = verifyDelivery([endpointSecret], headers, body); // endpointSecret: "whsec_…"
 * if (!result.verified) console.log(result.failure);
 */
export function verifyDelivery(
  secrets: readonly string[],
  headers: SignatureHeaders,
  body: string,
): Verification {
  if (secrets.length === 0) {
    return { verified: false, failure: "no_secret", message: "The endpoint has no secret" };
  }
  const given = {
    "webhook-id": headers.id ?? "",
    "webhook-timestamp": headers.timestamp ?? "",
    "webhook-signature": headers.signature ?? "",
  };
  let first: Verification | null = null;
  for (const [index, secret] of secrets.entries()) {
    try {
      new Webhook(secret).verify(body, given, { jsonParse: false });
      return { verified: true, secretIndex: index };
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      first ??= {
        verified: false,
        failure: FAILURES[error.message] ?? "no_matching_signature",
        message: error.message,
      };
    }
  }
  return first!;
}
