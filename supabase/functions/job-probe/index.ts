// Drains the `probe` queue: the job core's end-to-end self-check (see _shared/probe/handler.ts).
import { queueWorker } from "../_shared/jobs/queue_worker.ts";
import { QUEUES } from "../_shared/jobs/queues.ts";
import { handleProbe } from "../_shared/probe/handler.ts";

Deno.serve(queueWorker({ queue: QUEUES.probe, handler: handleProbe }));
