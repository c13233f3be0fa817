// Drains the `evolution` queue: creates each new user's Evolution API instance with its webhook
// and first QR code (see _shared/whatsapp/creation_handler.ts). Woken by pg_net when a profile
// is inserted, and by the pg_cron job process-evolution-queue.
import { queueWorker } from "../_shared/jobs/queue_worker.ts";
import { QUEUES } from "../_shared/jobs/queues.ts";
import {
  EvolutionClient,
  evolutionConfig,
} from "../_shared/providers/whatsapp/evolution_client.ts";
import { evolutionJobHandler } from "../_shared/whatsapp/creation_handler.ts";

const config = evolutionConfig();
const handler = evolutionJobHandler({
  evolution: new EvolutionClient(config),
  webhookUrl: config.webhookUrl,
});

// As many creations at once as the queue's batch (Evolution's own limit slows what it must).
Deno.serve(queueWorker({ queue: QUEUES.evolution, handler, concurrency: 20 }));
