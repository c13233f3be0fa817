// Drains the `waitlist` queue: opens the waves of slot offers and emails the invitations and
// booking confirmations (see _shared/waitlist/job_handler.ts). Woken by pg_net after a
// cancellation commits, and by the pg_cron job jobs-drain-waitlist.
import { EmailSender, MAX_BATCH, resendConfig } from "../_shared/email_sender.ts";
import { queueWorker } from "../_shared/queue_worker.ts";
import { waitlistJobHandler } from "../_shared/waitlist/job_handler.ts";

const sender = new EmailSender(resendConfig());
const handler = waitlistJobHandler({ sender, supabaseUrl: Deno.env.get("SUPABASE_URL") ?? "" });

// As many jobs at once as one Resend batch holds: their emails leave together.
Deno.serve(queueWorker({ queue: "waitlist", handler, concurrency: MAX_BATCH }));
