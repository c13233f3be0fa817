/**
 * The job core's demo in the dev command: a probe through the whole chain (trigger → job →
 * pg_net wake-up → function → RPC) proves the pipeline at start, then the statements to send a
 * probe by hand and watch the queues.
 */
import type { DemoContext, DemoText, FlowDemo } from "./demo.ts";

/** How long the start's probe may take before the dev command says so. */
const PROBE_TIMEOUT_MS = 15_000;

/** Sends a probe job and waits until the job-probe function handled it. */
async function pipelineCheck({ sql }: DemoContext): Promise<string> {
  const [{ id }] = await sql`select jobs.send_probe('dev start') as id`;
  const deadline = Date.now() + PROBE_TIMEOUT_MS;
  let probe: { latency_ms: number } | undefined;
  while (!probe && Date.now() < deadline) {
    [probe] = await sql`
      select round(extract(epoch from handled_at - created_at) * 1000)::int as latency_ms
      from jobs.probes where id = ${id} and handled_at is not null`;
    if (!probe) await new Promise((r) => setTimeout(r, 50));
  }
  return probe
    ? `Job pipeline check: probe ${id} handled ${probe.latency_ms} ms after its insert.`
    : `Job pipeline check: probe ${id} was not handled within 15 s; see jobs.queue_health.`;
}

/** The job core's demo. */
export const jobCoreDemo: FlowDemo = {
  flow: "job core",
  async run(ctx: DemoContext): Promise<DemoText> {
    return {
      check: await pipelineCheck(ctx),
      tryIt: `Try the job core, in psql:
  select jobs.send_probe('hello');              -- a job through the whole chain
  select * from jobs.probes order by id desc limit 5;
  select * from jobs.queue_health;              -- what operators watch
`,
    };
  },
};
