/**
 * The receiver's "provider API": `POST /hooks/<endpoint>`, where the delivery engine sends
 * signed webhooks. Every request that gets past the kit's faults and rate limit (per endpoint)
 * is recorded with its headers and raw body, verified against the endpoint's secrets
 * (verify.ts) and checked for a duplicate `webhook-id`; it is answered 200 with
 * `{ received, id, verified, duplicate }`, whether it verified or not (the page and the control
 * API tell). There is no API key: a customer's endpoint is a public URL and the signature is the
 * credential. Errors, faults included, are `{ error }` JSON.
 */
import type { ApiRoute, ProviderErrors } from "../kit/provider_api.ts";
import { isAccepted, type StoredDelivery } from "./delivery.ts";
import type { EndpointBook } from "./endpoints.ts";
import { verifyDelivery } from "./verify.ts";

/** True for the paths the receiver's endpoints answer on. */
export function isHooksPath(path: string): boolean {
  return path === "/hooks" || path.startsWith("/hooks/");
}

/** The rate-limit key of a call: its endpoint's path, so each endpoint has its own limit. */
export function endpointKey(req: Request): string {
  return new URL(req.url).pathname;
}

function error(status: number, message: string, headers: HeadersInit = {}): Response {
  return Response.json({ error: message }, { status, headers });
}

/** How the receiver answers what the kit decides. */
export const RECEIVER_ERRORS: ProviderErrors = {
  notFound: () => error(404, "Not found: the receiver's endpoints are POST /hooks/<name>."),
  methodNotAllowed: (allowed) =>
    error(405, `Method not allowed; use ${allowed.join(", ")}.`, { allow: allowed.join(", ") }),
  internal: () => error(500, "The local webhook receiver failed; see its log."),
  fault: (rule) =>
    error(
      rule.status,
      rule.message ??
        `The local webhook receiver answered ${rule.status} on purpose (fault injection).`,
    ),
  released: () =>
    error(503, "The local webhook receiver let go of a hanging call (faults cleared or stopping)."),
  rateLimited: (decision) =>
    error(429, `Too many requests: at most ${decision.limit} per second to this endpoint.`),
};

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

/**
 * The route `POST /hooks/:endpoint`, recording into the kit's store and `book`.
 *
 * @example
 * const routes = hookRoutes(new EndpointBook());
 */
export function hookRoutes(book: EndpointBook): ApiRoute<StoredDelivery>[] {
  return [{
    method: "POST",
    path: "/hooks/:endpoint",
    async handle({ endpoint }, call) {
      const { req, url, state } = call;
      const body = await req.text();
      await call.delay();
      const headers = Object.fromEntries(req.headers);
      const signature = {
        id: req.headers.get("webhook-id"),
        timestamp: req.headers.get("webhook-timestamp"),
        signature: req.headers.get("webhook-signature"),
      };
      const result = verifyDelivery(book.secrets(endpoint), signature, body);
      const json = parseJson(body);
      const type = (json as { type?: unknown } | null)?.type;
      const delivery: StoredDelivery = {
        id: crypto.randomUUID(),
        created_at: new Date(state.now()).toISOString(),
        endpoint,
        path: url.pathname,
        headers,
        body,
        json,
        event_type: typeof type === "string" ? type : null,
        webhook_id: signature.id,
        webhook_timestamp: signature.timestamp,
        webhook_signature: signature.signature,
        verified: result.verified,
        secret_index: result.verified ? result.secretIndex : null,
        failure: result.verified ? null : result.failure,
        failure_message: result.verified ? null : result.message,
        duplicate: false,
      };
      if (isAccepted(delivery) && signature.id) {
        delivery.duplicate = book.seen(endpoint, signature.id);
      }
      await state.store.add([delivery]);
      return Response.json({
        received: true,
        id: delivery.id,
        verified: delivery.verified,
        duplicate: delivery.duplicate,
      });
    },
  }];
}
