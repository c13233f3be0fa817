/**
 * Every SQL function the WhatsApp flow calls (the flow's one typed seam, see
 * `../runtime/rpc.ts`): typed arguments from the generated `Database`, zod-checked results,
 * transient errors retried there, the rest one `RpcError`.
 *
 * - the creation job (`process-evolution-queue`): `whatsapp_creation_start`,
 *   `whatsapp_creation_complete`;
 * - the webhook receiver (`evolution-webhook`): `whatsapp_webhook_receive`;
 * - the QR fallback (`refresh-qr-codes`): `whatsapp_qr_due`, `whatsapp_qr_store`,
 *   `whatsapp_connection_store`;
 * - the settings endpoint (`create-evolution-instance`): `whatsapp_my_instance` (as the user),
 *   `whatsapp_instance_access`, `whatsapp_request_instance`, `whatsapp_instance_removed`,
 *   `whatsapp_webhook_configured`, and the two stores above.
 */
import { z } from "zod";
import type { Json } from "../database.types.ts";
import type { DbClient } from "../runtime/client.ts";
import { AFTER_EFFECT_RETRY, callRpc } from "../runtime/rpc.ts";

/** A QR code as Evolution gives it (`GET /instance/connect`, `qrcode.updated`). */
export interface QrPayload {
  base64: string | null;
  code: string | null;
  pairingCode: string | null;
  count: number | null;
}

/** Connection states an instance can be in (`evolution_instances.instance_status`). */
export const INSTANCE_STATUSES = ["connecting", "open", "close", "refused"] as const;

/** One of {@link INSTANCE_STATUSES}. */
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

const creationStartSchema = z.object({
  action: z.enum(["create", "done", "gone"]),
  user_id: z.uuid().nullish(),
  request_id: z.string().nullish(),
  instance_name: z.string().nullish(),
  instance_token: z.string().nullish(),
  webhook_secret: z.string().nullish(),
  full_name: z.string().nullish(),
  webhook_events: z.array(z.string()).nullish(),
});

/** What `whatsapp_creation_start` answers: create, or nothing left to do. */
export type CreationStart = z.infer<typeof creationStartSchema>;

/** An `evolution_instances` row as jsonb (never with its token). */
const instanceRowSchema = z.looseObject({
  user_id: z.uuid(),
  instance_name: z.string(),
  status: z.string(),
  instance_status: z.string(),
});

/** An `evolution_instances` row as the SQL functions return it (without the token). */
export type InstanceRow = z.infer<typeof instanceRowSchema>;

/** What the worker learnt when it created (or adopted) an instance. */
export interface CreatedInstanceRecord {
  instance_name: string;
  instance_id: string | null;
  instance_token: string;
  webhook_url: string;
  webhook_events: string[];
  instance_status: InstanceStatus;
  qr: QrPayload | null;
}

const webhookReceiveSchema = z.object({
  status: z.enum(["handled", "duplicate", "ignored", "unknown_instance", "unauthorized"]),
  event_id: z.number().int().nullish(),
});

/** What `whatsapp_webhook_receive` answers. */
export type WebhookReceipt = z.infer<typeof webhookReceiveSchema>;

const qrDueSchema = z.array(z.object({
  instance_name: z.string(),
  user_id: z.uuid(),
  instance_token: z.string().nullable(),
}));

/** An instance whose QR code is due for a refresh. */
export type QrDue = z.infer<typeof qrDueSchema>[number];

const myInstanceSchema = z.object({
  user_id: z.uuid(),
  queue: z.looseObject({
    status: z.string(),
    error_message: z.string().nullable(),
    retry_count: z.number().int(),
  }).nullable(),
  instance: z.looseObject({
    instance_name: z.string(),
    status: z.string(),
    instance_status: z.string(),
    qr_code: z.string().nullable(),
  }).nullable(),
});

/** What a user sees of their own instance (`whatsapp_my_instance`): never the token. */
export type MyInstance = z.infer<typeof myInstanceSchema>;

const accessSchema = z.object({
  instance_name: z.string(),
  instance_token: z.string().nullable(),
  webhook_secret: z.string(),
  status: z.string().nullable(),
  instance_status: z.string().nullable(),
  webhook_events: z.array(z.string()),
}).nullable();

/** What the settings endpoint needs to act on a user's instance (`whatsapp_instance_access`). */
export type InstanceAccess = NonNullable<z.infer<typeof accessSchema>>;

const requestSchema = z.looseObject({
  status: z.string().nullable(),
  job_id: z.number().int().nullable(),
});

/** What `whatsapp_request_instance` answers. */
export type InstanceRequest = z.infer<typeof requestSchema>;

const anyObject = z.record(z.string(), z.unknown()).nullable();

/** `\x<hex>`: how PostgREST takes a `bytea` argument. */
function byteaHex(bytes: Uint8Array): string {
  return `\\x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Starts (or resumes) the creation of a user's instance: credentials, name, events. */
export function creationStart(
  client: DbClient,
  userId: string,
  context: string,
): Promise<CreationStart> {
  return callRpc(
    client,
    "whatsapp_creation_start",
    { p_user_id: userId },
    creationStartSchema,
    { context },
  );
}

/**
 * Records the instance Evolution created (or that was adopted). The instance exists on
 * Evolution now: transient errors are retried longer (`AFTER_EFFECT_RETRY`).
 */
export function creationComplete(
  client: DbClient,
  userId: string,
  instance: CreatedInstanceRecord,
  context: string,
): Promise<InstanceRow> {
  return callRpc(
    client,
    "whatsapp_creation_complete",
    { p_user_id: userId, p_instance: instance as unknown as Json },
    instanceRowSchema,
    { context, retry: AFTER_EFFECT_RETRY },
  );
}

/** Stores a webhook call and handles it, after checking the instance's secret. */
export function webhookReceive(
  client: DbClient,
  args: {
    instance: string;
    secret: string;
    event: string;
    payload: Json;
    payloadHash: Uint8Array;
  },
  context: string,
): Promise<WebhookReceipt> {
  return callRpc(
    client,
    "whatsapp_webhook_receive",
    {
      p_instance: args.instance,
      p_secret: args.secret,
      p_event: args.event,
      p_payload: args.payload,
      p_payload_hash: byteaHex(args.payloadHash),
    },
    webhookReceiveSchema,
    { context },
  );
}

/** The instances still connecting whose QR code is older than the settings allow. */
export function qrDue(client: DbClient, limit?: number): Promise<QrDue[]> {
  return callRpc(client, "whatsapp_qr_due", { p_limit: limit }, qrDueSchema, {
    context: "refresh of QR codes",
  });
}

/** Stores a QR code fetched with `GET /instance/connect`. */
export async function qrStore(
  client: DbClient,
  instance: string,
  qr: QrPayload,
  context: string,
): Promise<void> {
  await callRpc(
    client,
    "whatsapp_qr_store",
    { p_instance: instance, p_qr: qr as unknown as Json },
    anyObject,
    { context },
  );
}

/** Records a connection state learnt by polling or by an action. */
export async function connectionStore(
  client: DbClient,
  instance: string,
  state: string,
  context: string,
  statusReason?: number,
): Promise<void> {
  await callRpc(
    client,
    "whatsapp_connection_store",
    { p_instance: instance, p_state: state, p_status_reason: statusReason },
    anyObject,
    { context },
  );
}

/**
 * The caller's own instance and queue entry. `userClient` must act as the user (their JWT):
 * the SQL function reads `auth.uid()` and fails with 42501 without one.
 */
export function myInstance(userClient: DbClient): Promise<MyInstance> {
  return callRpc(userClient, "whatsapp_my_instance", {}, myInstanceSchema, {
    context: "settings of the calling user",
  });
}

/** What is needed to act on a user's instance, or null when the user has none. */
export async function instanceAccess(
  client: DbClient,
  userId: string,
): Promise<InstanceAccess | null> {
  return await callRpc(client, "whatsapp_instance_access", { p_user_id: userId }, accessSchema, {
    context: `settings of user ${userId}`,
  });
}

/** The user's "create my instance": enqueues a creation unless one runs or an instance exists. */
export function requestInstance(client: DbClient, userId: string): Promise<InstanceRequest> {
  return callRpc(client, "whatsapp_request_instance", { p_user_id: userId }, requestSchema, {
    context: `instance request of user ${userId}`,
  });
}

/** Records a logout (`logged_out`) or a deletion (`deleted`) done on Evolution. */
export async function instanceRemoved(
  client: DbClient,
  userId: string,
  status: "logged_out" | "deleted",
): Promise<void> {
  await callRpc(
    client,
    "whatsapp_instance_removed",
    { p_user_id: userId, p_status: status },
    anyObject,
    { context: `${status} instance of user ${userId}`, retry: AFTER_EFFECT_RETRY },
  );
}

/** Records the webhook configuration just set on Evolution. */
export async function webhookConfigured(
  client: DbClient,
  instance: string,
  url: string,
  events: string[],
): Promise<void> {
  await callRpc(
    client,
    "whatsapp_webhook_configured",
    { p_instance: instance, p_url: url, p_events: events },
    anyObject,
    { context: `webhook of instance ${instance}` },
  );
}
