/**
 * What the Resend stand-in stores: an accepted email, as the control API returns it and as the
 * dev inbox's JSONL file keeps it, with the `to` filter of `GET /_local/emails`, and the typed
 * control client tests and benchmarks use to read it.
 */
import { type ItemKind } from "../kit/control_api.ts";
import { ControlClient } from "../kit/control_client.ts";
import { bareAddress, type EmailInput } from "./email_validation.ts";

/** An accepted email as stored and as the control API returns it. */
export interface StoredEmail extends EmailInput {
  id: string;
  /** ISO 8601 with milliseconds, UTC. */
  created_at: string;
  idempotency_key: string | null;
}

function isStoredEmail(value: unknown): value is StoredEmail {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "string" && typeof v.created_at === "string" &&
    typeof v.from === "string" && Array.isArray(v.to) && typeof v.subject === "string";
}

/** Bare, lower-cased addresses of every recipient (`to`, `cc`, `bcc`). */
function recipientsOf(email: StoredEmail): string[] {
  return [...email.to, ...(email.cc ?? []), ...(email.bcc ?? [])]
    .map((address) => (bareAddress(address) ?? address).toLowerCase());
}

/** The emails as the kit stores them; `?to=` keeps those with the address among any recipient. */
export const EMAILS: ItemKind<StoredEmail> & { plural: "emails" } = {
  plural: "emails",
  singular: "email",
  isItem: isStoredEmail,
  filters: {
    to: (email, to) => recipientsOf(email).includes((bareAddress(to) ?? to).toLowerCase()),
  },
};

/** The control client of a Resend stand-in. */
export type ResendControl = ControlClient<StoredEmail, "emails", "to">;

/**
 * The control client of the Resend stand-in at `baseUrl` (`RESEND_BASE_URL`).
 *
 * @example
 * const emails = await resendControl(Deno.env.get("RESEND_BASE_URL")!).list({ to: "ada@example.test" });
 */
export function resendControl(baseUrl: string): ResendControl {
  return new ControlClient(baseUrl, EMAILS.plural);
}
