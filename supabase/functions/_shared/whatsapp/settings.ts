/**
 * `create-evolution-instance`: the endpoint behind the app's WhatsApp settings page. The caller
 * is a signed-in user (`verify_jwt = true`; the gateway checks the JWT's signature, and SQL reads
 * `auth.uid()` from it).
 *
 * - `GET` answers `whatsapp_my_instance()`, called AS THE USER (their JWT, so RLS and
 *   `auth.uid()` apply): the queue entry and the instance with its current QR code, never the
 *   token or the secret.
 * - `POST {"action": ...}` acts on the caller's own instance (found by `auth.uid()`, never by
 *   anything in the body), with the service role:
 *   - `create`: asks for an instance (after a delete or a failure; a no-op when one exists or a
 *     creation is under way) — `whatsapp_request_instance`;
 *   - `qr`: a new QR code (`GET /instance/connect`; also reconnects after a logout or the QR
 *     limit) — `whatsapp_qr_store`, or `whatsapp_connection_store` when already open;
 *   - `webhooks`: sets the webhook again (`POST /webhook/set`) — `whatsapp_webhook_configured`;
 *   - `logout`: logs the phone out (`DELETE /instance/logout`) — `whatsapp_instance_removed`;
 *   - `delete`: deletes the instance (`DELETE /instance/delete`) — `whatsapp_instance_removed`.
 *   It answers `{action, result, user_id, queue, instance}`: what was done, then the state as
 *   `GET` shows it.
 *
 * Errors (JSON, `{error: {code, message}}`): 401 without a user's JWT, 400 for a body that is not
 * `{action}` with a known action, 409 when the action needs an instance and there is none (or it
 * is not connected, for `logout`; or Evolution no longer has it, `instance_gone`, which records
 * it deleted), 502 when Evolution refuses, 503 when Evolution or the database cannot be reached
 * (try again).
 */
import { z } from "zod";
import { PermanentJobError, RetryLaterError } from "../jobs/errors.ts";
import {
  type EvolutionClient,
  InstanceNotFoundError,
} from "../providers/whatsapp/evolution_client.ts";
import type { DbClient } from "../runtime/client.ts";
import { errorText, log } from "../runtime/log.ts";
import { errorResponse, jsonResponse, readJsonBody } from "../runtime/responses.ts";
import { RpcError } from "../runtime/rpc.ts";
import { webhookConfig } from "./creation_handler.ts";
import {
  connectionStore,
  type InstanceAccess,
  instanceAccess,
  instanceRemoved,
  myInstance,
  qrStore,
  requestInstance,
  webhookConfigured,
} from "./rpc.ts";

/** The actions of `POST`. */
export const SETTINGS_ACTIONS = ["create", "qr", "webhooks", "logout", "delete"] as const;

/** One of {@link SETTINGS_ACTIONS}. */
export type SettingsAction = (typeof SETTINGS_ACTIONS)[number];

const actionSchema = z.object({ action: z.enum(SETTINGS_ACTIONS) });

/** What the settings endpoint works with. */
export interface SettingsDeps {
  /** The service-role client, for the actions. */
  service: DbClient;
  /** A client acting as the caller, from their `Authorization` header. */
  asUser: (authorization: string) => DbClient;
  evolution: EvolutionClient;
  /** Where Evolution posts the instance's events (`EvolutionConfig.webhookUrl`). */
  webhookUrl: string;
}

/** Browsers call this endpoint from the app: these headers let them. */
const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type",
  "access-control-allow-methods": "GET, POST, OPTIONS",
};

/** SQLSTATEs and PostgREST codes that mean "not a signed-in user". */
const NOT_A_USER = new Set(["42501", "PGRST301", "PGRST302", "PGRST303"]);

/** An answer for the caller: a 4xx or 5xx with its reason. */
class SettingsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function withCors(res: Response): Response {
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.headers.set(name, value);
  return res;
}

/** The 502/503/409 answer a failed Evolution call leads to. */
function evolutionError(error: unknown, what: string): SettingsError {
  if (error instanceof RetryLaterError) {
    const after = error.retryAfterSeconds;
    return new SettingsError(
      503,
      "evolution_unavailable",
      `Evolution API could not ${what} just now; try again in a moment.`,
      after === undefined ? {} : { "retry-after": String(Math.ceil(after)) },
    );
  }
  if (error instanceof InstanceNotFoundError) {
    return new SettingsError(
      409,
      "instance_gone",
      `Evolution API no longer has your instance, so it could not ${what}: ask for a new one ` +
        'with {"action": "create"}.',
    );
  }
  if (error instanceof PermanentJobError) {
    if (/not connected/i.test(error.message)) {
      return new SettingsError(409, "not_connected", `The instance is not connected: ${what}.`);
    }
    return new SettingsError(502, "evolution_refused", `Evolution API refused to ${what}.`);
  }
  return new SettingsError(503, "evolution_unavailable", `Evolution API could not ${what}.`);
}

/** Runs an Evolution call, turning its failure into the caller's answer. */
async function onEvolution<T>(what: string, call: () => Promise<T>, context: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    log.warn("evolution call failed", { what, context, error: errorText(error) });
    throw evolutionError(error, what);
  }
}

/** The caller's instance, or a 409 when there is none to act on. */
async function accessOf(deps: SettingsDeps, userId: string): Promise<InstanceAccess> {
  const access = await instanceAccess(deps.service, userId);
  // Credentials without a stored instance: the creation has not finished (or failed).
  if (!access || access.status === null || access.status === "deleted") {
    throw new SettingsError(
      409,
      "no_instance",
      'You have no WhatsApp instance yet: ask for one with {"action": "create"}.',
    );
  }
  return access;
}

async function act(
  deps: SettingsDeps,
  userId: string,
  action: SettingsAction,
): Promise<Record<string, unknown>> {
  const context = `user ${userId}, action ${action}`;
  if (action === "create") {
    const request = await requestInstance(deps.service, userId);
    return { status: request.status, job_id: request.job_id };
  }
  const access = await accessOf(deps, userId);
  try {
    return await actOn(deps, userId, action, access, context);
  } catch (error) {
    // Deleted on Evolution without our knowing: recorded, so that "create" can start again.
    if (error instanceof SettingsError && error.code === "instance_gone") {
      await instanceRemoved(deps.service, userId, "deleted");
    }
    throw error;
  }
}

async function actOn(
  deps: SettingsDeps,
  userId: string,
  action: Exclude<SettingsAction, "create">,
  access: InstanceAccess,
  context: string,
): Promise<Record<string, unknown>> {
  const name = access.instance_name;
  switch (action) {
    case "qr": {
      const answer = await onEvolution(
        "give a QR code",
        () => deps.evolution.connect(name),
        context,
      );
      if ("qr" in answer) {
        await qrStore(deps.service, name, answer.qr, context);
        return { qr_count: answer.qr.count };
      }
      await connectionStore(deps.service, name, answer.state, context);
      return { state: answer.state };
    }
    case "webhooks": {
      // The events of the settings, as the creation subscribes them.
      const events = access.webhook_events;
      if (!events.length) {
        throw new SettingsError(503, "not_configured", "No webhook events are configured.");
      }
      const webhook = webhookConfig(deps.webhookUrl, access.webhook_secret, events);
      await onEvolution(
        "set the webhook",
        () => deps.evolution.setWebhook(name, webhook),
        context,
      );
      await webhookConfigured(deps.service, name, webhook.url, webhook.events);
      return { url: webhook.url, events: webhook.events };
    }
    case "logout": {
      await onEvolution("log the phone out", () => deps.evolution.logout(name), context);
      await instanceRemoved(deps.service, userId, "logged_out");
      return { status: "logged_out" };
    }
    case "delete": {
      const existed = await onEvolution(
        "delete the instance",
        () => deps.evolution.deleteInstance(name),
        context,
      );
      await instanceRemoved(deps.service, userId, "deleted");
      return { status: "deleted", existed };
    }
  }
}

async function handle(deps: SettingsDeps, req: Request): Promise<Response> {
  const authorization = req.headers.get("authorization") ?? "";
  if (!/^Bearer\s+\S+/i.test(authorization)) {
    throw new SettingsError(401, "unauthorized", "Sign in: this endpoint needs a user's JWT.");
  }
  const asUser = deps.asUser(authorization);
  const raw = req.method === "POST" ? await readJsonBody(req) : undefined;
  // Who calls comes first: a refused JWT is a 401 whatever the body.
  const view = await myInstance(asUser);
  if (req.method !== "POST") return jsonResponse(view);
  const body = actionSchema.safeParse(raw);
  if (!body.success) {
    throw new SettingsError(
      400,
      "invalid_action",
      `The body must be {"action": ...} with one of ${SETTINGS_ACTIONS.join(", ")}.`,
    );
  }
  const { action } = body.data;
  const result = await act(deps, view.user_id, action);
  log.info("whatsapp settings action", { user_id: view.user_id, action });
  return jsonResponse({ action, result, ...await myInstance(asUser) });
}

/** The answer to a failure: the caller's error, 401 for a JWT SQL refuses, 503 otherwise. */
function failure(error: unknown): Response {
  if (error instanceof SettingsError) {
    return jsonResponse(
      { error: { code: error.code, message: error.message } },
      error.status,
      error.headers,
    );
  }
  if (error instanceof RpcError && error.code !== undefined && NOT_A_USER.has(error.code)) {
    return errorResponse(401, "unauthorized", "This endpoint needs a signed-in user's JWT.");
  }
  if (error instanceof RpcError && error.code === "P0002") {
    return errorResponse(404, "unknown_user", "Your account no longer exists.");
  }
  log.error("whatsapp settings failed", { error: errorText(error) });
  return errorResponse(503, "unavailable", "The settings are unavailable; try again in a moment.");
}

/**
 * The request handler of `create-evolution-instance`.
 *
 * @example
 * const env = functionEnv();
 * Deno.serve(whatsappSettings({
 *   service: serviceClient(env),
 *   asUser: (authorization) => userClient(env, authorization),
 *   evolution: new EvolutionClient(evolutionConfig()),
 *   webhookUrl: evolutionConfig().webhookUrl,
 * }));
 */
export function whatsappSettings(deps: SettingsDeps): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method === "OPTIONS") return withCors(new Response(null, { status: 204 }));
    if (req.method !== "GET" && req.method !== "POST") {
      await req.body?.cancel();
      return withCors(jsonResponse(
        { error: { code: "method_not_allowed", message: "Use GET or POST." } },
        405,
        { allow: "GET, POST, OPTIONS" },
      ));
    }
    try {
      return withCors(await handle(deps, req));
    } catch (error) {
      return withCors(failure(error));
    }
  };
}
