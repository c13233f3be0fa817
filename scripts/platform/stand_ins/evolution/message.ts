/**
 * What the Evolution API stand-in stores in the kit's item store: each WhatsApp text message
 * sent by an instance (`POST /message/sendText`) or received from a customer (the control API or
 * the page), with the filters of `GET /_local/messages` (`instance`, `direction`).
 */
import type { ItemKind } from "../kit/control_api.ts";

/** A message as stored and as `GET /_local/messages` lists it. */
export interface StoredMessage {
  /** Evolution's message id (`key.id`). */
  id: string;
  /** ISO 8601 with milliseconds, UTC. */
  created_at: string;
  instance: string;
  /** `outgoing`: sent by the instance (fromMe); `incoming`: from a customer. */
  direction: "outgoing" | "incoming";
  /** `<digits>@s.whatsapp.net`. */
  remote_jid: string;
  /** The other party's digits. */
  number: string;
  text: string;
  push_name: string | null;
}

/** True for a value that is a stored message (a line read back from a file). */
export function isStoredMessage(value: unknown): value is StoredMessage {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "string" && typeof v.created_at === "string" &&
    typeof v.instance === "string" && typeof v.text === "string" &&
    (v.direction === "outgoing" || v.direction === "incoming");
}

/** The messages as the kit stores them. */
export const MESSAGES: ItemKind<StoredMessage> & { plural: "messages" } = {
  plural: "messages",
  singular: "message",
  isItem: isStoredMessage,
  filters: {
    instance: (message, name) => message.instance === name,
    direction: (message, direction) => message.direction === direction,
  },
};
