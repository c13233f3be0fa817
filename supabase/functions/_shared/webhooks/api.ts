/**
 * The `webhooks` edge function: the management API of the webhook engine for admins, a Hono
 * router under `/webhooks`. Every route checks the caller (`./admin.ts`: 401 without a user's
 * JWT, 403 for a non-admin), validates its path, query and body with zod (`./schemas.ts`: 400
 * with zod's issues in `details`), calls one management RPC AS THE ADMIN (`./rpc.ts`, their JWT,
 * so SQL's `require_admin()` checks again), and answers JSON. Errors are
 * `{error: {code, message, details?}}` (`./errors.ts`): 404 for an unknown route, endpoint or
 * message, 405 (with `Allow`) for a known route called with another method.
 *
 * | route | answer |
 * |---|---|
 * | `GET /endpoints` | `{endpoints: [...]}` with message counts |
 * | `POST /endpoints` `{url, description?, event_types?, rate_limit_per_second?, secret?}` | 201, the endpoint and its `secret` |
 * | `GET /endpoints/:id` | the endpoint |
 * | `PATCH /endpoints/:id` (any of url, description, event_types, rate_limit_per_second) | the endpoint |
 * | `DELETE /endpoints/:id` | `{deleted: true, id}` |
 * | `POST /endpoints/:id/enable`, `POST /endpoints/:id/disable` `{reason?}` | the endpoint |
 * | `GET /endpoints/:id/secret` | `{secret, previous_secret, previous_secret_expires_at}` |
 * | `POST /endpoints/:id/secret/rotate` `{secret?}` | `{secret, previous_secret_expires_at}` |
 * | `POST /endpoints/:id/test` | 202, the `webhook.test` message |
 * | `GET /endpoints/:id/messages?status=&limit=&before=` | `{messages: [...with attempts], next_before}` |
 * | `POST /endpoints/:id/recover` `{since}` | 202, `{recovered: n}` |
 * | `GET /messages/:id` | the message with its attempts |
 * | `POST /messages/:id/replay` | 202, the message (same webhook-id, a new job) |
 *
 * @example
 * const env = functionEnv();
 * Deno.serve(webhooksApi({ asUser: (authorization) => userClient(env, authorization) }).fetch);
 */
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import type { DbClient } from "../runtime/client.ts";
import { log } from "../runtime/log.ts";
import { jsonResponse, readJsonBody } from "../runtime/responses.ts";
import { type Admin, requireAdmin } from "./admin.ts";
import { ApiError, failureResponse, parseInput } from "./errors.ts";
import {
  createEndpoint,
  deleteEndpoint,
  disableEndpoint,
  enableEndpoint,
  endpointMessages,
  endpointSecrets,
  getEndpoint,
  getMessage,
  listEndpoints,
  recoverMessages,
  replayMessage,
  rotateSecret,
  sendTestEvent,
  updateEndpoint,
} from "./rpc.ts";
import {
  createEndpointSchema,
  disableEndpointSchema,
  emptyBodySchema,
  endpointPathSchema,
  messagePathSchema,
  messagesQuerySchema,
  recoverSchema,
  rotateSecretSchema,
  updateEndpointSchema,
} from "./schemas.ts";

/** What the API works with. */
export interface WebhooksApiDeps {
  /** A client acting as the caller, from their `Authorization` header. */
  asUser: (authorization: string) => DbClient;
}

/** What the middleware leaves for the routes. */
type Env = { Variables: { admin: Admin; db: DbClient } };

type Method = "GET" | "POST" | "PATCH" | "DELETE";
type Handler = (c: Context<Env>) => Promise<Response>;

/** Answers that hold a secret are never cached. */
const NO_STORE = { "cache-control": "no-store" };

/** The JSON body of a request, or a 400 when it is not JSON (an empty body reads as `{}`). */
async function jsonBody(c: Context<Env>): Promise<unknown> {
  const body = await readJsonBody(c.req.raw);
  if (body === undefined) {
    throw new ApiError(400, "invalid_json", "The request body is not JSON.");
  }
  return body;
}

/** The `:id` of an endpoint route. */
function endpointId(c: Context<Env>): string {
  return parseInput(endpointPathSchema, { id: c.req.param("id") }, "path").id;
}

/** The `:id` of a message route. */
function messageId(c: Context<Env>): string {
  return parseInput(messagePathSchema, { id: c.req.param("id") }, "path").id;
}

/** What a call says about itself in logs and errors: which admin, which object. */
function contextOf(c: Context<Env>, what: string): string {
  return `admin ${c.get("admin").userId}, ${what}`;
}

/**
 * Registers the handlers of one path, and a 405 (with `Allow`) for its other methods.
 * Hono runs handlers in the order they were added, so the catch-all comes last.
 */
function route(
  app: Hono<Env>,
  path: string,
  handlers: Partial<Record<Method, Handler>>,
): void {
  const methods = Object.keys(handlers) as Method[];
  for (const method of methods) app.on(method, path, handlers[method]!);
  app.all(path, (c) => {
    throw new ApiError(
      405,
      "method_not_allowed",
      `${c.req.method} is not allowed on ${c.req.path}: use ${methods.join(" or ")}.`,
      undefined,
      { allow: methods.join(", ") },
    );
  });
}

/**
 * Builds the Hono app of the `webhooks` function (see the module's description).
 *
 * @example
 * const app = webhooksApi({ asUser: (authorization) => userClient(env, authorization) });
 * Deno.serve(app.fetch);
 */
export function webhooksApi(deps: WebhooksApiDeps): Hono<Env> {
  const app = new Hono<Env>({ strict: false }).basePath("/webhooks");

  // An admin console in a browser calls this API: the preflight needs no JWT.
  app.use(
    "*",
    cors({
      origin: "*",
      allowHeaders: ["authorization", "x-client-info", "apikey", "content-type"],
      allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
      maxAge: 600,
    }),
  );
  app.use("*", async (c, next) => {
    const admin = requireAdmin(c.req.header("authorization"));
    c.set("admin", admin);
    c.set("db", deps.asUser(admin.authorization));
    await next();
  });

  route(app, "/endpoints", {
    GET: async (c) => {
      const endpoints = await listEndpoints(c.get("db"), contextOf(c, "list of endpoints"));
      return jsonResponse({ endpoints });
    },
    POST: async (c) => {
      const body = parseInput(createEndpointSchema, await jsonBody(c), "body");
      const created = await createEndpoint(
        c.get("db"),
        body,
        contextOf(c, `new endpoint ${body.url}`),
      );
      log.info("webhook endpoint created", { admin: c.get("admin").userId, endpoint: created.id });
      return jsonResponse(created, 201, NO_STORE);
    },
  });

  route(app, "/endpoints/:id", {
    GET: async (c) => {
      const id = endpointId(c);
      return jsonResponse(await getEndpoint(c.get("db"), id, contextOf(c, `endpoint ${id}`)));
    },
    PATCH: async (c) => {
      const id = endpointId(c);
      const changes = parseInput(updateEndpointSchema, await jsonBody(c), "body");
      const endpoint = await updateEndpoint(
        c.get("db"),
        id,
        changes,
        contextOf(c, `endpoint ${id}`),
      );
      log.info("webhook endpoint updated", {
        admin: c.get("admin").userId,
        endpoint: id,
        fields: Object.keys(changes),
      });
      return jsonResponse(endpoint);
    },
    DELETE: async (c) => {
      const id = endpointId(c);
      const deleted = await deleteEndpoint(c.get("db"), id, contextOf(c, `endpoint ${id}`));
      log.info("webhook endpoint deleted", { admin: c.get("admin").userId, endpoint: id });
      return jsonResponse(deleted);
    },
  });

  route(app, "/endpoints/:id/enable", {
    POST: async (c) => {
      const id = endpointId(c);
      parseInput(emptyBodySchema, await jsonBody(c), "body");
      const endpoint = await enableEndpoint(c.get("db"), id, contextOf(c, `endpoint ${id}`));
      log.info("webhook endpoint enabled", { admin: c.get("admin").userId, endpoint: id });
      return jsonResponse(endpoint);
    },
  });

  route(app, "/endpoints/:id/disable", {
    POST: async (c) => {
      const id = endpointId(c);
      const { reason } = parseInput(disableEndpointSchema, await jsonBody(c), "body");
      const endpoint = await disableEndpoint(
        c.get("db"),
        id,
        reason,
        contextOf(c, `endpoint ${id}`),
      );
      log.info("webhook endpoint disabled", { admin: c.get("admin").userId, endpoint: id });
      return jsonResponse(endpoint);
    },
  });

  route(app, "/endpoints/:id/secret", {
    GET: async (c) => {
      const id = endpointId(c);
      const secrets = await endpointSecrets(c.get("db"), id, contextOf(c, `endpoint ${id}`));
      return jsonResponse(secrets, 200, NO_STORE);
    },
  });

  route(app, "/endpoints/:id/secret/rotate", {
    POST: async (c) => {
      const id = endpointId(c);
      const { secret } = parseInput(rotateSecretSchema, await jsonBody(c), "body");
      const rotated = await rotateSecret(c.get("db"), id, secret, contextOf(c, `endpoint ${id}`));
      log.info("webhook endpoint secret rotated", {
        admin: c.get("admin").userId,
        endpoint: id,
        previous_secret_expires_at: rotated.previous_secret_expires_at,
      });
      return jsonResponse(rotated, 200, NO_STORE);
    },
  });

  route(app, "/endpoints/:id/test", {
    POST: async (c) => {
      const id = endpointId(c);
      parseInput(emptyBodySchema, await jsonBody(c), "body");
      const message = await sendTestEvent(c.get("db"), id, contextOf(c, `endpoint ${id}`));
      log.info("webhook test event sent", {
        admin: c.get("admin").userId,
        endpoint: id,
        message: message.id,
      });
      return jsonResponse(message, 202);
    },
  });

  route(app, "/endpoints/:id/messages", {
    GET: async (c) => {
      const id = endpointId(c);
      const query = parseInput(messagesQuerySchema, c.req.query(), "query");
      const messages = await endpointMessages(
        c.get("db"),
        id,
        query,
        contextOf(c, `messages of endpoint ${id}`),
      );
      // A full page may have more behind it: the cursor of the next one.
      const next = messages.length === query.limit ? messages.at(-1)!.created_at : null;
      return jsonResponse({ messages, next_before: next });
    },
  });

  route(app, "/endpoints/:id/recover", {
    POST: async (c) => {
      const id = endpointId(c);
      const { since } = parseInput(recoverSchema, await jsonBody(c), "body");
      const answer = await recoverMessages(c.get("db"), id, since, contextOf(c, `endpoint ${id}`));
      log.info("webhook messages recovered", {
        admin: c.get("admin").userId,
        endpoint: id,
        since,
        recovered: answer.recovered,
      });
      return jsonResponse(answer, 202);
    },
  });

  route(app, "/messages/:id", {
    GET: async (c) => {
      const id = messageId(c);
      return jsonResponse(await getMessage(c.get("db"), id, contextOf(c, `message ${id}`)));
    },
  });

  route(app, "/messages/:id/replay", {
    POST: async (c) => {
      const id = messageId(c);
      parseInput(emptyBodySchema, await jsonBody(c), "body");
      const message = await replayMessage(c.get("db"), id, contextOf(c, `message ${id}`));
      log.info("webhook message replayed", { admin: c.get("admin").userId, message: id });
      return jsonResponse(message, 202);
    },
  });

  app.notFound((c) =>
    jsonResponse({
      error: {
        code: "not_found",
        message: `No route ${c.req.method} ${c.req.path}: the routes are under ` +
          "/webhooks/endpoints and /webhooks/messages.",
      },
    }, 404)
  );
  app.onError((error, c) => failureResponse(error, `${c.req.method} ${c.req.path}`));
  return app;
}
