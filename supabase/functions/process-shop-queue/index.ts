// Drains the `shop` queue: customer messages (WhatsApp, else email), admin alerts and review
// replies (see _shared/shop/job_handler.ts). Woken by pg_net when a job is enqueued, and by the
// job core's cron drain for retries and scheduled messages.
import { queueWorker } from "../_shared/jobs/queue_worker.ts";
import { QUEUES } from "../_shared/jobs/queues.ts";
import { EmailSender, resendConfig, sqlEmailJournal } from "../_shared/providers/email/sender.ts";
import {
  EvolutionClient,
  evolutionConfig,
} from "../_shared/providers/whatsapp/evolution_client.ts";
import { sqlWhatsAppJournal, WhatsAppSender } from "../_shared/providers/whatsapp/sender.ts";
import { serviceClient } from "../_shared/runtime/client.ts";
import { functionEnv } from "../_shared/runtime/env.ts";
import { shopJobHandler } from "../_shared/shop/job_handler.ts";

const env = functionEnv();
const client = serviceClient(env);
const evolution = evolutionConfig();
const handler = shopJobHandler({
  email: new EmailSender(resendConfig(), sqlEmailJournal(client)),
  whatsapp: new WhatsAppSender(
    new EvolutionClient(evolution),
    sqlWhatsAppJournal(client),
    evolution.sendRate,
  ),
  supabaseUrl: env.SUPABASE_URL,
});

// A whole claim at once: emails leave in shared batches, WhatsApp messages queue per instance
// at its pace (a job waiting longer than 10 s is throttled, without using up an attempt).
Deno.serve(queueWorker({ queue: QUEUES.shop, handler, concurrency: 50 }));
