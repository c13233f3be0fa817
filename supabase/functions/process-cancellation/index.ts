// Drains the `waitlist` queue: opens the waves of slot offers and emails the invitations and
// booking confirmations (see _shared/waitlist/job_handler.ts). Woken by pg_net after a
// cancellation commits, and by the pg_cron job jobs-drain-waitlist.
import { queueWorker } from "../_shared/jobs/queue_worker.ts";
import { QUEUES } from "../_shared/jobs/queues.ts";
import {
  EmailSender,
  MAX_BATCH,
  resendConfig,
  sqlEmailJournal,
} from "../_shared/providers/email/sender.ts";
import { serviceClient } from "../_shared/runtime/client.ts";
import { functionEnv } from "../_shared/runtime/env.ts";
import { waitlistJobHandler } from "../_shared/waitlist/job_handler.ts";

// Requests to Resend are journalled in Postgres before they leave: a retried job re-sends a
// journalled batch verbatim instead of regrouping its emails (no email is sent twice).
const sender = new EmailSender(resendConfig(), sqlEmailJournal(serviceClient(functionEnv())));
const handler = waitlistJobHandler({ sender, supabaseUrl: functionEnv().SUPABASE_URL });

// As many jobs at once as one Resend batch holds: their emails leave together.
Deno.serve(queueWorker({ queue: QUEUES.waitlist, handler, concurrency: MAX_BATCH }));
