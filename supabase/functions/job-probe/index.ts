// Drains the `probe` queue: the job core's end-to-end self-check (see _shared/probe.ts).
import { handleProbe } from "../_shared/probe.ts";
import { queueWorker } from "../_shared/queue_worker.ts";

Deno.serve(queueWorker({ queue: "probe", handler: handleProbe }));
