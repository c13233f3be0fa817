/**
 * The management RPCs of the webhook engine (the `webhooks` function's one typed seam, see
 * `../runtime/rpc.ts`), called with the admin's own client (their JWT): SQL's
 * `webhooks_internal.require_admin()` reads `app_metadata.role` from it and is the real guard.
 * Results are zod-checked loosely (the fields the API relies on; the rest passes through as SQL
 * gives it). Failures are one `RpcError` whose SQLSTATE the API turns into a status: 22023 → 400,
 * 42501 → 403, P0002 → 404.
 *
 * @example
 * const endpoint = await createEndpoint(asAdmin, { url: "https://example.test/hooks" }, ctx);
 */
import { z } from "zod";
import type { Json } from "../database.types.ts";
import type { DbClient } from "../runtime/client.ts";
import { callRpc } from "../runtime/rpc.ts";
import type { CreateEndpoint, MessagesQuery, UpdateEndpoint } from "./schemas.ts";

/** An endpoint as SQL returns it (never with a secret, except where a function says so). */
const endpointSchema = z.looseObject({
  id: z.uuid(),
  url: z.string(),
  description: z.string(),
  event_types: z.array(z.string()).nullable(),
  rate_limit_per_second: z.number().int().nullable(),
  enabled: z.boolean(),
  disabled_at: z.string().nullable(),
  disabled_reason: z.string().nullable(),
});

/** A `webhook_endpoints` row as JSON, with whatever counts SQL adds. */
export type Endpoint = z.infer<typeof endpointSchema>;

/** What `webhook_endpoint_create` answers: the endpoint and its first secret. */
const createdSchema = endpointSchema.extend({ secret: z.string() });

/** A new endpoint with its secret (shown once here, and by `GET .../secret`). */
export type CreatedEndpoint = z.infer<typeof createdSchema>;

/** A message (one event for one endpoint); `attempts` as SQL gives it. */
const messageSchema = z.looseObject({
  id: z.string(),
  endpoint_id: z.uuid(),
  event_type: z.string(),
  status: z.enum(["pending", "delivered", "failed"]),
  created_at: z.string(),
});

/** A `webhook_messages` row as JSON. */
export type Message = z.infer<typeof messageSchema>;

/** One HTTP attempt of a message. */
const attemptSchema = z.looseObject({
  attempt: z.number().int(),
  started_at: z.string(),
  response_status: z.number().int().nullable(),
  outcome: z.string(),
});

/** A message with its attempts, oldest first. */
const messageWithAttemptsSchema = messageSchema.extend({
  attempts: z.array(attemptSchema),
});

/** A message with the list of its HTTP attempts. */
export type MessageWithAttempts = z.infer<typeof messageWithAttemptsSchema>;

const secretsSchema = z.object({
  secret: z.string(),
  previous_secret: z.string().nullable(),
  previous_secret_expires_at: z.string().nullable(),
});

/** An endpoint's signing secrets: the current one and, for 24 h after a rotation, the old one. */
export type EndpointSecrets = z.infer<typeof secretsSchema>;

const rotatedSchema = z.object({
  secret: z.string(),
  previous_secret_expires_at: z.string().nullable(),
});

/** What a rotation answers: the new secret, and when the old one stops signing. */
export type RotatedSecret = z.infer<typeof rotatedSchema>;

/**
 * Calls that must not run twice: a retry after a lost answer would create a second endpoint or
 * test message, rotate twice, or answer 404 / 22023 for work the first call did. The admin
 * sees the 503 and looks before trying again.
 */
const ONCE = { retries: 0 };

const deletedSchema = z.object({ deleted: z.literal(true), id: z.uuid() });
const recoveredSchema = z.object({ recovered: z.number().int() });

/** Every endpoint, with its message counts. */
export async function listEndpoints(db: DbClient, context: string): Promise<Endpoint[]> {
  return await callRpc(db, "webhook_endpoints_list", {}, z.array(endpointSchema), { context });
}

/** One endpoint; `RpcError` P0002 when there is none with this id. */
export async function getEndpoint(db: DbClient, id: string, context: string): Promise<Endpoint> {
  return await callRpc(db, "webhook_endpoint_get", { p_id: id }, endpointSchema, { context });
}

/** Creates an endpoint; SQL generates the secret unless one is given. */
export async function createEndpoint(
  db: DbClient,
  body: CreateEndpoint,
  context: string,
): Promise<CreatedEndpoint> {
  return await callRpc(
    db,
    "webhook_endpoint_create",
    {
      p_url: body.url,
      p_description: body.description ?? "",
      // Generated as `string[]`: null (every event type) is what the SQL default is.
      p_event_types: (body.event_types ?? null) as string[],
      p_rate_limit_per_second: (body.rate_limit_per_second ?? null) as number,
      p_secret: (body.secret ?? null) as string,
    },
    createdSchema,
    { context, retry: ONCE },
  );
}

/** Changes the given fields of an endpoint (JSON null clears event types and rate limit). */
export async function updateEndpoint(
  db: DbClient,
  id: string,
  changes: UpdateEndpoint,
  context: string,
): Promise<Endpoint> {
  return await callRpc(
    db,
    "webhook_endpoint_update",
    {
      p_id: id,
      p_changes: changes as Json,
    },
    endpointSchema,
    { context },
  );
}

/** Enables an endpoint (clears its disabled reason and failure streak). */
export async function enableEndpoint(db: DbClient, id: string, context: string): Promise<Endpoint> {
  return await callRpc(db, "webhook_endpoint_enable", { p_id: id }, endpointSchema, { context });
}

/** Disables an endpoint: its pending messages fail when their turn comes (recoverable). */
export async function disableEndpoint(
  db: DbClient,
  id: string,
  reason: string | undefined,
  context: string,
): Promise<Endpoint> {
  const args = reason === undefined ? { p_id: id } : { p_id: id, p_reason: reason };
  return await callRpc(db, "webhook_endpoint_disable", args, endpointSchema, { context });
}

/** Deletes an endpoint, its messages and its Vault secrets. */
export async function deleteEndpoint(
  db: DbClient,
  id: string,
  context: string,
): Promise<z.infer<typeof deletedSchema>> {
  return await callRpc(db, "webhook_endpoint_delete", { p_id: id }, deletedSchema, {
    context,
    retry: ONCE,
  });
}

/** The endpoint's signing secrets (current, and previous while it still signs). */
export async function endpointSecrets(
  db: DbClient,
  id: string,
  context: string,
): Promise<EndpointSecrets> {
  return await callRpc(db, "webhook_endpoint_secret", { p_id: id }, secretsSchema, { context });
}

/** A new current secret (generated unless given); the old one signs too for 24 hours. */
export async function rotateSecret(
  db: DbClient,
  id: string,
  secret: string | undefined,
  context: string,
): Promise<RotatedSecret> {
  const args = secret === undefined ? { p_id: id } : { p_id: id, p_secret: secret };
  return await callRpc(db, "webhook_endpoint_rotate_secret", args, rotatedSchema, {
    context,
    retry: ONCE,
  });
}

/** Sends a `webhook.test` event to this endpoint only; answers its message. */
export async function sendTestEvent(db: DbClient, id: string, context: string): Promise<Message> {
  return await callRpc(db, "webhook_endpoint_test", { p_id: id }, messageSchema, {
    context,
    retry: ONCE,
  });
}

/** An endpoint's messages, newest first, each with its attempts. */
export async function endpointMessages(
  db: DbClient,
  id: string,
  query: MessagesQuery,
  context: string,
): Promise<MessageWithAttempts[]> {
  return await callRpc(
    db,
    "webhook_endpoint_messages",
    {
      p_id: id,
      p_status: (query.status ?? null) as string,
      p_limit: query.limit,
      p_before: (query.before ?? null) as string,
    },
    z.array(messageWithAttemptsSchema),
    { context },
  );
}

/** One message with its attempts; `RpcError` P0002 when there is none. */
export async function getMessage(
  db: DbClient,
  messageId: string,
  context: string,
): Promise<MessageWithAttempts> {
  return await callRpc(
    db,
    "webhook_message_get",
    { p_message_id: messageId },
    messageWithAttemptsSchema,
    { context },
  );
}

/** Sends a message again (same webhook-id, a new job); 22023 while it has a job under way. */
export async function replayMessage(
  db: DbClient,
  messageId: string,
  context: string,
): Promise<Message> {
  return await callRpc(db, "webhook_message_replay", { p_message_id: messageId }, messageSchema, {
    context,
    retry: ONCE,
  });
}

/** Replays every failed message of the endpoint created at or after `since`. */
export async function recoverMessages(
  db: DbClient,
  id: string,
  since: string,
  context: string,
): Promise<z.infer<typeof recoveredSchema>> {
  return await callRpc(
    db,
    "webhook_endpoint_recover",
    { p_id: id, p_since: since },
    recoveredSchema,
    {
      context,
      retry: ONCE,
    },
  );
}
