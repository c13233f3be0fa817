// Drains the `webhooks` queue: delivers each webhook message to its endpoint, signed per Standard
// Webhooks, with SQL deciding retries and endpoint rules (see
// _shared/providers/webhooks/delivery_handler.ts). Woken by pg_net when messages are published,
// and by the pg_cron drain.
import { queueWorker } from "../_shared/jobs/queue_worker.ts";
import { QUEUES } from "../_shared/jobs/queues.ts";
import { webhookConfig } from "../_shared/providers/webhooks/config.ts";
import { webhookDeliveryHandler } from "../_shared/providers/webhooks/delivery_handler.ts";

const config = webhookConfig();
const handler = webhookDeliveryHandler({
  timeoutMs: config.timeoutMs,
  userAgent: config.userAgent,
});

// Many deliveries at once: most of an attempt is waiting on the endpoint, and a slow endpoint
// only holds its own jobs (the queue's subject_concurrency caps one endpoint's share).
Deno.serve(queueWorker({ queue: QUEUES.webhooks, handler, concurrency: config.concurrency }));
