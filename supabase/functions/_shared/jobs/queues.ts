/**
 * The queues whose jobs an edge function drains, and which function: declared once here. The
 * SQL side creates the same pairs with `jobs.create_queue(p_name => …, p_function_name => …)`
 * in the flows' migrations; tests/functions/queues_test.ts checks that `jobs.queues` agrees.
 * Each queue worker's `index.ts`, the tests and the benchmarks name their queue from here.
 *
 * @example
 * Deno.serve(queueWorker({ queue: QUEUES.probe, handler: handleProbe }));
 */

/** A queue and the function (`supabase/functions/<functionName>`) woken to drain it. */
export interface QueueSpec {
  /** `jobs.queues.name`. */
  readonly name: string;
  /** `jobs.queues.function_name`: the folder of the function under supabase/functions. */
  readonly functionName: string;
}

/** Every queue drained by an edge function. */
export const QUEUES = {
  /** The job core's end-to-end self-check (`jobs.probes`). */
  probe: { name: "probe", functionName: "job-probe" },
  /** The waitlist: waves of slot offers and booking confirmations. */
  waitlist: { name: "waitlist", functionName: "process-cancellation" },
  /** WhatsApp provisioning: one Evolution API instance per new user. */
  evolution: { name: "evolution", functionName: "process-evolution-queue" },
  /** Signed webhook deliveries: one job per message and endpoint. */
  webhooks: { name: "webhooks", functionName: "deliver-webhooks" },
  /** The shop: customer messages, admin alerts and review replies. */
  shop: { name: "shop", functionName: "process-shop-queue" },
} as const satisfies Record<string, QueueSpec>;
