/**
 * The chaos check's `probe` scenario: a burst of probes (`jobs.send_probe`, one transaction),
 * each a job of the `probe` queue that the `job-probe` function handles by stamping
 * `jobs.probes.handled_at`. Items are the probes; delivered, the probes handled.
 *
 * Handling twice is not observable: `public.job_probe_record` keeps the first stamp. What is
 * shown instead is how many probe jobs were claimed more than once (an attempt lost to a kill
 * or a restart), which is harmless for probes.
 */
import type { ChaosContext, ChaosFlow, Tally } from "./flow.ts";

/** The probe scenario with `count` probes. */
export function probeFlow(count: number): ChaosFlow {
  const note = "chaos";
  return {
    name: "probe",
    queues: ["probe"],
    async prepare() {},
    async burst({ db }: ChaosContext) {
      await db`select jobs.send_probe(${note}) from generate_series(1, ${count})`;
    },
    async tally({ db }: ChaosContext): Promise<Tally> {
      const [row] = await db`
        select count(*)::int as probes,
               count(*) filter (where p.handled_at is not null)::int as handled,
               count(*) filter (where j.state = 'dead')::int as dead,
               count(*) filter (where j.attempts > 1)::int as reclaimed,
               coalesce(max(j.attempts), 0)::int as max_attempts
        from jobs.probes p
        left join jobs.jobs j on j.id = p.job_id
        where p.note = ${note}`;
      return {
        items: row.probes,
        delivered: row.handled,
        lost: row.probes - row.handled,
        twice: null,
        dead: row.dead,
        details: [
          `probe: ${row.probes} probes sent in one transaction, ${row.handled} handled ` +
          `(jobs.probes.handled_at); handled twice is not observable (job_probe_record keeps ` +
          `the first stamp): ${row.reclaimed} probe job(s) ran more than once, highest attempt ` +
          `${row.max_attempts}.`,
        ],
      };
    },
  };
}
