/**
 * The WhatsApp provider's SQL functions: `whatsapp_send_open` and `whatsapp_send_settle`, the
 * journal of outgoing messages (migration `20261128140300_whatsapp_journal.sql`), with typed
 * arguments, zod-checked results and the error policy of `../../runtime/rpc.ts`.
 * `sqlWhatsAppJournal` is the journal the WhatsApp sender receives in functions.
 *
 * @example
 * const sender = new WhatsAppSender(evolution, sqlWhatsAppJournal(client), config.sendRate);
 */
import { z } from "zod";
import type { DbClient } from "../../runtime/client.ts";
import { AFTER_EFFECT_RETRY, callRpc } from "../../runtime/rpc.ts";
import type { OutgoingWhatsApp, SendOpening, SendSettlement, WhatsAppJournal } from "./types.ts";

const openingSchema = z.object({
  state: z.enum(["send", "sent", "failed"]),
  message_id: z.string().nullish(),
});

/**
 * Opens the send of `message` in the journal: `send` when it should leave now (first time, or
 * its last answer was lost and no `send.message` event shows it went), `sent` or `failed` when
 * that is already known.
 */
export async function openWhatsAppSend(
  client: DbClient,
  message: OutgoingWhatsApp,
): Promise<SendOpening> {
  const opening = await callRpc(
    client,
    "whatsapp_send_open",
    {
      p_send_key: message.key,
      p_instance: message.instance,
      p_number: message.number,
      p_text: message.text,
    },
    openingSchema,
    { context: `WhatsApp message ${message.key} from instance ${message.instance}` },
  );
  return { state: opening.state, messageId: opening.message_id ?? null };
}

/**
 * Records how the send of `key` ended. A message that went is recorded with the patient retry
 * policy: losing that record would send it again.
 */
export async function settleWhatsAppSend(
  client: DbClient,
  key: string,
  settlement: SendSettlement,
): Promise<void> {
  const sent = settlement.state === "sent";
  await callRpc(
    client,
    "whatsapp_send_settle",
    {
      p_send_key: key,
      p_state: settlement.state,
      p_message_id: sent ? settlement.messageId : undefined,
      p_error: sent ? undefined : settlement.error.slice(0, 2000),
    },
    z.unknown(),
    { context: `WhatsApp message ${key}`, retry: sent ? AFTER_EFFECT_RETRY : undefined },
  );
}

/** The journal in Postgres, through `client` (a service-role client). */
export function sqlWhatsAppJournal(client: DbClient): WhatsAppJournal {
  return {
    open: (message) => openWhatsAppSend(client, message),
    settle: (key, settlement) => settleWhatsAppSend(client, key, settlement),
  };
}
