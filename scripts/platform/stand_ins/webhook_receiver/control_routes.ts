/**
 * The webhook receiver's own control routes under `/_local/` (besides the kit's faults, rate
 * limit, stats, `GET /_local/deliveries?endpoint=&webhook_id=&verified=&event_type=` and
 * `DELETE /_local/deliveries`, which also forgets every secret). JSON in and out; errors
 * `{ error }`. control.ts is their client.
 *
 * - `GET /_local/endpoints`: statistics of every endpoint with a secret or a delivery;
 * - `GET /_local/endpoints/{name}`: one endpoint's statistics (zeros when unknown);
 * - `GET|PUT /_local/endpoints/{name}/secrets` `{ secrets: ["whsec_..."] }`: its signing
 *   secrets, oldest first (several during a rotation; `[]` removes them).
 */
import { z } from "zod";
import { type ControlRoute, parseBody } from "../kit/control_api.ts";
import type { StoredDelivery } from "./delivery.ts";
import type { EndpointBook } from "./endpoints.ts";
import { secretSchema } from "./verify.ts";

/** Most secrets one endpoint holds at once. */
export const MAX_SECRETS = 10;

const secretsSchema = z.strictObject({ secrets: z.array(secretSchema).max(MAX_SECRETS) });

/** The body of `GET|PUT /_local/endpoints/{name}/secrets`. */
export interface EndpointSecrets {
  endpoint: string;
  secrets: string[];
}

/** The receiver's control routes over `book`. */
export function receiverControlRoutes(book: EndpointBook): ControlRoute<StoredDelivery>[] {
  const secrets = (endpoint: string): Response =>
    Response.json({ endpoint, secrets: book.secrets(endpoint) } satisfies EndpointSecrets);
  return [
    {
      method: "GET",
      path: "/_local/endpoints",
      handle: (_, { state }) => Response.json({ data: book.stats(state.store.list()) }),
    },
    {
      method: "GET",
      path: "/_local/endpoints/:name",
      handle: ({ name }, { state }) => Response.json(book.stats(state.store.list(), name)[0]),
    },
    {
      method: "GET",
      path: "/_local/endpoints/:name/secrets",
      handle: ({ name }) => secrets(name),
    },
    {
      method: "PUT",
      path: "/_local/endpoints/:name/secrets",
      async handle({ name }, { req }) {
        const body = await parseBody(req, secretsSchema);
        if (body instanceof Response) return body;
        book.setSecrets(name, body.secrets);
        return secrets(name);
      },
    },
  ];
}
