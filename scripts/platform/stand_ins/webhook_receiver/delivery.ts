/**
 * What the webhook receiver stand-in stores: one delivery, that is one request to
 * `/hooks/<endpoint>`, as the control API returns it and as the dev profile's JSONL file keeps
 * it, with the filters of `GET /_local/deliveries` (`endpoint`, `webhook_id`, `verified`,
 * `event_type`).
 */
import type { ItemKind } from "../kit/control_api.ts";

/** Why a delivery did not verify. */
export type VerificationFailure =
  /** The endpoint has no signing secret: nothing to verify against. */
  | "no_secret"
  /** `webhook-id`, `webhook-timestamp` or `webhook-signature` is missing. */
  | "missing_headers"
  /** `webhook-timestamp` is not a number of seconds. */
  | "invalid_timestamp"
  /** More than 5 minutes in the past. */
  | "timestamp_too_old"
  /** More than 5 minutes in the future. */
  | "timestamp_too_new"
  /** No `v1` signature of the header matches any of the endpoint's secrets. */
  | "no_matching_signature";

/** One request to an endpoint of the receiver. */
export interface StoredDelivery {
  id: string;
  /** When it arrived: ISO 8601 with milliseconds, UTC. */
  created_at: string;
  /** The `<name>` of `/hooks/<name>`. */
  endpoint: string;
  path: string;
  /** Every request header, names in lower case. */
  headers: Record<string, string>;
  /** The raw body, as received. */
  body: string;
  /** The body parsed as JSON; null when it is not JSON. */
  json: unknown;
  /** The `type` of the JSON body (`ticket.overdue`), when it is a string. */
  event_type: string | null;
  webhook_id: string | null;
  webhook_timestamp: string | null;
  webhook_signature: string | null;
  verified: boolean;
  /** Which of the endpoint's secrets verified it (index in its list, oldest first). */
  secret_index: number | null;
  /** Why it did not verify; null when it did. */
  failure: VerificationFailure | null;
  /** The `standardwebhooks` package's message for the failure. */
  failure_message: string | null;
  /**
   * An earlier accepted delivery to this endpoint had the same `webhook-id`: answered 200 but
   * not a new message.
   */
  duplicate: boolean;
}

function isStoredDelivery(value: unknown): value is StoredDelivery {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "string" && typeof v.created_at === "string" &&
    typeof v.endpoint === "string" && typeof v.body === "string" &&
    typeof v.verified === "boolean" && typeof v.duplicate === "boolean";
}

/**
 * A delivery that counts as a message of its endpoint: verified, or sent to an endpoint
 * without a secret. A delivery that failed verification is recorded but never a message.
 */
export function isAccepted(delivery: StoredDelivery): boolean {
  return delivery.verified || delivery.failure === "no_secret";
}

/** The filters of `GET /_local/deliveries` (`verified` is `true` or `false`). */
export type DeliveryFilter = "endpoint" | "webhook_id" | "verified" | "event_type";

/** The deliveries as the kit stores them, with their list filters. */
export const DELIVERIES: ItemKind<StoredDelivery> & {
  plural: "deliveries";
  filters: Record<DeliveryFilter, (delivery: StoredDelivery, value: string) => boolean>;
} = {
  plural: "deliveries",
  singular: "delivery",
  isItem: isStoredDelivery,
  filters: {
    endpoint: (delivery, endpoint) => delivery.endpoint === endpoint,
    webhook_id: (delivery, id) => delivery.webhook_id === id,
    verified: (delivery, verified) => String(delivery.verified) === verified,
    event_type: (delivery, type) => delivery.event_type === type,
  },
};
