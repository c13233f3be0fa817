/**
 * The email provider's SQL functions: `email_journal_open`, the write-ahead journal of requests
 * to Resend (migration `20261128130000_email_journal.sql`), with typed arguments, a zod-checked
 * result and the error policy of `../../runtime/rpc.ts`. `sqlEmailJournal` is the journal the
 * email sender receives in functions.
 *
 * @example
 * const sender = new EmailSender(resendConfig(), sqlEmailJournal(serviceClient(functionEnv())));
 */
import { z } from "zod";
import type { DbClient } from "../../runtime/client.ts";
import { callRpc } from "../../runtime/rpc.ts";
import type { EmailJournal, JournalledRequest, JournalOpening } from "./types.ts";

const openingSchema = z.object({
  recorded: z.boolean(),
  journalled: z.array(z.object({
    request_key: z.string(),
    body: z.string(),
    email_keys: z.array(z.string()).min(1),
  })),
});

/**
 * Journals `request` before it leaves, settling `settledKeys` first; answers the journalled
 * requests to re-send instead when some of its emails are in one (see `EmailJournal.open`).
 */
export async function openEmailRequest(
  client: DbClient,
  request: JournalledRequest,
  settledKeys: string[],
): Promise<JournalOpening> {
  const opening = await callRpc(
    client,
    "email_journal_open",
    {
      p_request_key: request.key,
      p_body: request.body,
      p_email_keys: request.emailKeys,
      p_settled_keys: settledKeys,
    },
    openingSchema,
    {
      context: `request ${request.key} of ${request.emailKeys.length} email(s)`,
    },
  );
  if (opening.recorded) return { recorded: true };
  return {
    recorded: false,
    journalled: opening.journalled.map((r) => ({
      key: r.request_key,
      body: r.body,
      emailKeys: r.email_keys,
    })),
  };
}

/** The journal in Postgres, through `client` (a service-role client). */
export function sqlEmailJournal(client: DbClient): EmailJournal {
  return { open: (request, settledKeys) => openEmailRequest(client, request, settledKeys) };
}
