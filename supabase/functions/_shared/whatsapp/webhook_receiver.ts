/**
 * `evolution-webhook`: where Evolution API posts each instance's events (`qrcode.updated`,
 * `connection.update`, `messages.upsert`...). A public endpoint (no JWT): each call is
 * authenticated by the instance's secret, which the worker put in the webhook's `headers`
 * (`x-evolution-secret`); SQL compares it in constant time.
 *
 * One SQL call per event (`whatsapp_webhook_receive`) checks the secret, recognises a
 * duplicate by the SHA-256 of the raw body, stores the event and handles it, in one
 * transaction; the answer comes in milliseconds, so Evolution never retries a handled event.
 *
 * Answers (JSON): 200 `{status: "handled"|"duplicate"|"ignored", event_id}`; 401 without the
 * header or with a wrong secret; 404 for an unknown instance; 422 for a body that is not JSON or
 * not Evolution's shape; 405 for another method; 503 when the database is unreachable (Evolution
 * retries those). A 4xx changes nothing.
 */
import { z } from "zod";
import type { Json } from "../database.types.ts";
import type { DbClient } from "../runtime/client.ts";
import { errorText, log } from "../runtime/log.ts";
import { errorResponse, jsonResponse } from "../runtime/responses.ts";
import { RpcError } from "../runtime/rpc.ts";
import { WEBHOOK_SECRET_HEADER } from "./creation_handler.ts";
import { webhookReceive } from "./rpc.ts";

/** Evolution's webhook body (v2): `data` depends on the event. */
export const webhookBodySchema = z.looseObject({
  event: z.string().min(1).max(100),
  instance: z.string().min(1).max(200),
  data: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]),
  destination: z.string().nullish(),
  date_time: z.string().nullish(),
  sender: z.string().nullish(),
  server_url: z.string().nullish(),
  apikey: z.string().nullish(),
});

/** A webhook body as Evolution sends it. */
export type WebhookBody = z.infer<typeof webhookBodySchema>;

/** The HTTP status of each outcome of `whatsapp_webhook_receive`. */
const STATUS_OF = {
  handled: 200,
  duplicate: 200,
  ignored: 200,
  unauthorized: 401,
  unknown_instance: 404,
} as const;

function methodNotAllowed(): Response {
  return jsonResponse(
    {
      error: {
        code: "method_not_allowed",
        message: "Evolution posts its events to this endpoint with POST.",
      },
    },
    405,
    { allow: "POST" },
  );
}

/**
 * The request handler of `evolution-webhook`; `client` acts as the service role.
 *
 * @example
 * Deno.serve(evolutionWebhook(serviceClient(functionEnv())));
 */
export function evolutionWebhook(client: DbClient): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method !== "POST") {
      await req.body?.cancel();
      return methodNotAllowed();
    }
    try {
      return await receive(client, req);
    } catch (error) {
      const permanent = error instanceof RpcError && error.permanent;
      log.error("evolution webhook failed", { permanent, error: errorText(error) });
      return permanent
        ? errorResponse(422, "rejected", "The event was refused by the database.")
        : errorResponse(503, "unavailable", "The event could not be stored; send it again.");
    }
  };
}

async function receive(client: DbClient, req: Request): Promise<Response> {
  const bytes = new Uint8Array(await req.arrayBuffer());
  const secret = req.headers.get(WEBHOOK_SECRET_HEADER) ?? "";
  if (secret === "") {
    return errorResponse(
      401,
      "unauthorized",
      `Evolution's calls carry the instance's secret in the ${WEBHOOK_SECRET_HEADER} header.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return errorResponse(422, "malformed_json", "The body is not JSON (in UTF-8).");
  }
  const body = webhookBodySchema.safeParse(json);
  if (!body.success) {
    return errorResponse(
      422,
      "invalid_body",
      "The body is not an Evolution event ({event, instance, data, ...}).",
      body.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
    );
  }
  // The instance's token (`apikey`) is no business of the event store.
  const { apikey: _token, ...payload } = body.data;
  const receipt = await webhookReceive(client, {
    instance: body.data.instance,
    secret,
    event: body.data.event,
    payload: payload as Json,
    payloadHash: new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
  }, `event ${body.data.event} of instance ${body.data.instance}`);
  const status = STATUS_OF[receipt.status];
  if (status !== 200) {
    log.warn("evolution webhook refused", {
      instance: body.data.instance,
      event: body.data.event,
      outcome: receipt.status,
    });
    return errorResponse(
      status,
      receipt.status,
      receipt.status === "unauthorized"
        ? `The secret does not match instance ${body.data.instance}.`
        : `No instance is named ${body.data.instance}.`,
    );
  }
  return jsonResponse({ status: receipt.status, event_id: receipt.event_id ?? null });
}
