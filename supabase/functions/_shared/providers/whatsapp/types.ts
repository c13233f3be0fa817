/**
 * The shapes the WhatsApp provider passes around: what Evolution API answers (instances, QR
 * codes, webhooks, sent messages) made into our own types, and the journal of outgoing
 * messages the sender records sends in.
 */

/**
 * An instance's webhook as we ask for it. The client adds `byEvents: false`, `base64: true` and
 * `enabled: true`. Event names as Evolution spells them in configuration (`QRCODE_UPDATED`...).
 */
export interface WebhookConfig {
  url: string;
  headers: Record<string, string>;
  events: string[];
}

/** An instance's webhook as Evolution holds it (`GET /webhook/find`). */
export interface StoredWebhook extends WebhookConfig {
  enabled: boolean;
}

/** A QR code to pair a phone: the image as a data URL, the text it encodes, its rank. */
export interface QrCode {
  base64: string;
  code: string;
  pairingCode: string | null;
  /** How many codes this connection attempt has produced (Evolution stops after 30). */
  count: number;
}

/** What `POST /instance/create` answered. */
export interface CreatedInstance {
  instanceName: string;
  /** Evolution's own id of the instance. */
  instanceId: string;
  /** The instance's token (`hash`): the one we sent. */
  token: string;
  /** Its connection state (`connecting` when a QR code is on its way). */
  status: string;
  /** The first QR code, when Evolution had one ready. */
  qr: QrCode | null;
}

/** An instance as `GET /instance/fetchInstances` lists it. */
export interface FetchedInstance {
  instanceName: string;
  instanceId: string;
  /** The instance's token; how we know an instance is ours. */
  token: string | null;
  /** open, connecting or close. */
  connectionStatus: string;
}

/** One WhatsApp text message to send; `key` identifies it across retries (e.g. `review:42`). */
export interface OutgoingWhatsApp {
  key: string;
  /** The instance it goes out from. */
  instance: string;
  /** The recipient's number, digits with country code. */
  number: string;
  text: string;
}

/** What the journal says before a message leaves. */
export interface SendOpening {
  /**
   * `send`: send it now (first time, or its last answer was lost); `sent`: it went already
   * (`messageId` when known); `failed`: it was refused for good earlier.
   */
  state: "send" | "sent" | "failed";
  messageId: string | null;
}

/** How a send ended, for the journal. `unknown` leaves it open: it may have gone. */
export type SendSettlement =
  | { state: "sent"; messageId: string }
  | { state: "failed" | "unknown"; error: string };

/**
 * The journal of outgoing messages the sender receives (the real one is SQL: `./rpc.ts`).
 * Evolution has no idempotency key: the journal is how a retried job knows a message went.
 */
export interface WhatsAppJournal {
  /** Records that `message` is about to leave, or says it went or failed already. */
  open(message: OutgoingWhatsApp): Promise<SendOpening>;
  /** Records how the send of `key` ended. */
  settle(key: string, settlement: SendSettlement): Promise<void>;
}
