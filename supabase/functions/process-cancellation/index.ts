// Drains the `waitlist` queue: opens the waves of slot offers and emails the invitations and
// booking confirmations (see _shared/waitlist/job_handler.ts). Woken by pg_net after a
// cancellation commits, and by the pg_cron job jobs-drain-waitlist.
import { queueWorker } from "../_shared/jobs/queue_worker.ts";
import { QUEUES } from "../_shared/jobs/queues.ts";
import { EmailSender, MAX_BATCH, resendConfig } from "../_shared/providers/email/sender.ts";
import { functionEnv } from "../_shared/runtime/env.ts";
import { waitlistJobHandler } from "../_shared/waitlist/job_handler.ts";

const sender = new EmailSender(resendConfig());
const handler = waitlistJobHandler({ sender, supabaseUrl: functionEnv().SUPABASE_URL });

// As many jobs at once as one Resend batch holds: their emails leave together.
Deno.serve(queueWorker({ queue: QUEUES.waitlist, handler, concurrency: MAX_BATCH }));
