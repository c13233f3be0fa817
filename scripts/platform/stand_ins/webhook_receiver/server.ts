/**
 * The local stand-in for customers' webhook endpoints (an automation service such as Pabbly,
 * Zapier or Make receiving Standard Webhooks), on one port: a delivery engine posts to
 * `/hooks/<endpoint>` of `WEBHOOK_RECEIVER_URL`, any name being one endpoint. A module of the
 * stand-in kit (../kit/server.ts), which gives it faults (per path: `/hooks/<name>`), a rate
 * limit per endpoint, counters, the control API's common routes, persistence and the list page;
 * what is the receiver's own lives here:
 *
 * - `POST /hooks/{endpoint}`: record, verify, deduplicate by `webhook-id` (hooks_api.ts,
 *   verify.ts, endpoints.ts);
 * - the stored item, a delivery (delivery.ts), and its own control routes: secrets and
 *   per-endpoint statistics (control_routes.ts; control.ts is the typed client);
 * - `/`: the deliveries page (page.ts).
 *
 * With `persistPath` (the dev profile's `webhook_deliveries.jsonl`) the deliveries survive a
 * restart, and with them which messages each endpoint already has; secrets are never kept.
 */
import { listPageRoutes } from "../kit/page.ts";
import {
  type RunningStandIn,
  type StandInModule,
  type StandInOptions,
  startStandIn,
} from "../kit/server.ts";
import { receiverControlRoutes } from "./control_routes.ts";
import { DELIVERIES, type StoredDelivery } from "./delivery.ts";
import { EndpointBook } from "./endpoints.ts";
import { endpointKey, hookRoutes, isHooksPath, RECEIVER_ERRORS } from "./hooks_api.ts";
import { DELIVERIES_PAGE } from "./page.ts";

/** Requests per second and endpoint the receiver admits unless told otherwise. */
export const DEFAULT_REQUESTS_PER_SECOND = 10_000;

/** Options of {@link startWebhookReceiverStandIn}. */
export interface WebhookReceiverOptions extends Omit<StandInOptions, "requestsPerSecond"> {
  /** Requests admitted per second and endpoint. Default 10 000. */
  requestsPerSecond?: number;
}

/** The webhook receiver as a kit module. */
export function webhookReceiverModule(): StandInModule<StoredDelivery> {
  const book = new EndpointBook();
  return {
    name: "webhook receiver",
    component: "webhook_receiver_stand_in",
    items: DELIVERIES,
    api: {
      owns: isHooksPath,
      routes: hookRoutes(book),
      errors: RECEIVER_ERRORS,
      authenticate: endpointKey,
    },
    pages: listPageRoutes(DELIVERIES_PAGE),
    control: receiverControlRoutes(book),
    onStart: (state) => book.restore(state.store.list().reverse()),
    onReset: () => book.clear(),
  };
}

/**
 * Starts the receiver; loads `persistPath` first when given.
 *
 * @throws {Error} when the rate limit is invalid, the file cannot be read or the port is taken.
 * @example
 * const receiver = await startWebhookReceiverStandIn({ port: 0 });
 * await webhookReceiverControl(receiver.url).setSecrets("pabbly", [secret]);
 * await receiver.stop();
 */
export function startWebhookReceiverStandIn(
  opts: WebhookReceiverOptions,
): Promise<RunningStandIn> {
  const { requestsPerSecond = DEFAULT_REQUESTS_PER_SECOND, ...rest } = opts;
  return startStandIn(webhookReceiverModule(), { ...rest, requestsPerSecond });
}
