/**
 * What the `webhooks` management API accepts, as zod schemas: path parameters (endpoint and
 * message ids), query strings and JSON bodies. The rules mirror the checks of the
 * `webhook_endpoints` table (URL, description, event types, rate limit, secret format), so a
 * mistake is answered 400 with zod's issues before SQL sees it; SQL checks again (22023).
 *
 * @example
 * const body = createEndpointSchema.parse({ url: "https://example.test/hooks", event_types: null });
 */
import { z } from "zod";

/** An event type: dotted lower-case words, e.g. `ticket.overdue` (as SQL checks it). */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** A webhook-id as SQL makes them: `msg_` and 32 hexadecimal digits. */
export const MESSAGE_ID_PATTERN = /^msg_[0-9a-f]{32}$/;

/** A Standard Webhooks secret: `whsec_` and base64. */
const SECRET_PATTERN = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** The statuses of a message. */
export const MESSAGE_STATUSES = ["pending", "delivered", "failed"] as const;

/** Bytes of key a secret may carry (SQL generates 32). */
export const SECRET_BYTES = { min: 24, max: 64 } as const;

/** The number of bytes `text` decodes to as base64, or `undefined` when it is not base64. */
function base64Bytes(text: string): number | undefined {
  if (text.length % 4 !== 0) return undefined;
  try {
    return atob(text).length;
  } catch {
    return undefined;
  }
}

/** An endpoint id (a UUID). */
export const endpointIdSchema = z.uuid({ error: "The endpoint id must be a UUID" });

/** A message id (`msg_...`, the webhook-id). */
export const messageIdSchema = z.string().regex(MESSAGE_ID_PATTERN, {
  error: "The message id must be msg_ followed by 32 hexadecimal digits",
});

/** The path parameter of `/endpoints/:id/...`. */
export const endpointPathSchema = z.object({ id: endpointIdSchema });

/** The path parameter of `/messages/:id/...`. */
export const messagePathSchema = z.object({ id: messageIdSchema });

/** An endpoint URL: http or https, at most 2048 characters. */
export const urlSchema = z.url({
  protocol: /^https?$/,
  hostname: z.regexes.hostname,
  error: "The URL must be an http or https URL",
}).max(2048, { error: "The URL must be at most 2048 characters long" });

/** A description, at most 500 characters. */
export const descriptionSchema = z.string().max(500, {
  error: "The description must be at most 500 characters long",
});

/** One event type. */
export const eventTypeSchema = z.string().max(200).regex(EVENT_TYPE_PATTERN, {
  error: "An event type is dotted lower-case words, e.g. ticket.overdue",
});

/** The event types an endpoint receives: null for every type, else 1 to 50 distinct ones. */
export const eventTypesSchema = z.array(eventTypeSchema)
  .min(1, { error: "Give at least one event type, or null for every type" })
  .max(50, { error: "An endpoint subscribes to at most 50 event types" })
  .refine((types) => new Set(types).size === types.length, {
    error: "Each event type may appear only once",
  })
  .nullable();

/** Deliveries per second: null for unlimited, else 1 to 10 000. */
export const rateLimitSchema = z.int({ error: "The rate limit must be a whole number" })
  .min(1, { error: "The rate limit must be at least 1 per second (null for no limit)" })
  .max(10_000, { error: "The rate limit must be at most 10000 per second" })
  .nullable();

/** A signing secret: `whsec_` and the base64 of 24 to 64 bytes. */
export const secretSchema = z.string().regex(SECRET_PATTERN, {
  error: "The secret must be whsec_ followed by base64",
}).refine((secret) => {
  const bytes = base64Bytes(secret.slice("whsec_".length));
  return bytes !== undefined && bytes >= SECRET_BYTES.min && bytes <= SECRET_BYTES.max;
}, {
  error: `The secret must be whsec_ followed by the base64 of ${SECRET_BYTES.min} to ` +
    `${SECRET_BYTES.max} bytes`,
});

/** An instant with its offset, e.g. `2026-11-28T15:00:00Z`. */
export const instantSchema = z.iso.datetime({
  offset: true,
  error: "Give an ISO 8601 date and time with its offset, e.g. 2026-11-28T15:00:00Z",
});

/** `POST /endpoints`. */
export const createEndpointSchema = z.strictObject({
  url: urlSchema,
  description: descriptionSchema.optional(),
  event_types: eventTypesSchema.optional(),
  rate_limit_per_second: rateLimitSchema.optional(),
  secret: secretSchema.optional(),
});

/** The body of `POST /endpoints`. */
export type CreateEndpoint = z.infer<typeof createEndpointSchema>;

/** `PATCH /endpoints/:id`: at least one field; null clears event types and rate limit. */
export const updateEndpointSchema = z.strictObject({
  url: urlSchema.optional(),
  description: descriptionSchema.optional(),
  event_types: eventTypesSchema.optional(),
  rate_limit_per_second: rateLimitSchema.optional(),
}).refine((changes) => Object.keys(changes).length > 0, {
  error: "Give at least one of url, description, event_types, rate_limit_per_second",
});

/** The body of `PATCH /endpoints/:id`. */
export type UpdateEndpoint = z.infer<typeof updateEndpointSchema>;

/** `POST /endpoints/:id/disable`: an optional reason. */
export const disableEndpointSchema = z.strictObject({
  reason: z.string().trim().min(1, { error: "The reason must not be empty" })
    .max(500, { error: "The reason must be at most 500 characters long" }).optional(),
});

/** `POST /endpoints/:id/secret/rotate`: an optional new secret (else SQL generates one). */
export const rotateSecretSchema = z.strictObject({ secret: secretSchema.optional() });

/** `POST /endpoints/:id/recover`: replay every failed message created at or after `since`. */
export const recoverSchema = z.strictObject({ since: instantSchema });

/** Bodies of actions that take none (`enable`, `test`): empty or `{}`. */
export const emptyBodySchema = z.strictObject({});

/** `GET /endpoints/:id/messages?status=&limit=&before=`. */
export const messagesQuerySchema = z.strictObject({
  status: z.enum(MESSAGE_STATUSES, {
    error: `The status must be one of ${MESSAGE_STATUSES.join(", ")}`,
  }).optional(),
  limit: z.coerce.number<string>().pipe(
    z.int({ error: "The limit must be a whole number" })
      .min(1, { error: "The limit must be at least 1" })
      .max(250, { error: "The limit must be at most 250" }),
  ).default(50),
  before: instantSchema.optional(),
});

/** The query of `GET /endpoints/:id/messages`. */
export type MessagesQuery = z.infer<typeof messagesQuerySchema>;
