/**
 * What a flow brings to the chaos check (scripts/bench/chaos.ts): its queues and functions, a
 * burst of work, what it keeps doing while the work drains, and a tally of what was delivered.
 * Each new flow adds one `ChaosFlow` to the list in chaos.ts; the check injects the faults,
 * waits for every queue to drain and prints one row per flow.
 */
import type postgres from "postgres";
import type { Platform } from "../../platform/start.ts";
import type { ResendControl } from "../../platform/stand_ins/resend/email.ts";

/** What the check hands to each flow. */
export interface ChaosContext {
  /** Superuser connection to the platform's database. */
  db: postgres.Sql;
  platform: Platform;
  resend: ResendControl;
  /** Milliseconds since the bursts started (negative before). */
  since(): number;
  /** Adds a line to the printed timeline. */
  note(line: string): void;
}

/** What a flow counts once its queues have drained (or the time is up). */
export interface Tally {
  /** Units of work that must reach the outside world (emails, webhooks, messages...). */
  items: number;
  /** Items that reached it at least once. */
  delivered: number;
  /** Items that never reached it. */
  lost: number;
  /** Items that reached it more than once; null when the flow cannot observe it. */
  twice: number | null;
  /** Jobs of the flow's queues in state `dead`. */
  dead: number;
  /** Explanations printed under the table. */
  details: string[];
}

/** One flow's scenario in the chaos check. */
export interface ChaosFlow {
  name: string;
  /**
   * Queues whose jobs the flow's work goes through; the functions that drain them (their
   * `jobs.queues.function_name`) are the processes killed.
   */
  queues: string[];
  /** Seeds what the burst needs (not timed). */
  prepare(ctx: ChaosContext): Promise<void>;
  /** Commits the burst of work. */
  burst(ctx: ChaosContext): Promise<void>;
  /**
   * Acts while the work drains (a patient answering, say) until it has nothing more to do or
   * `deadline` (epoch ms) has passed. Its work counts into the drain.
   */
  meanwhile?(ctx: ChaosContext, deadline: number): Promise<void>;
  /** Counts what was delivered. */
  tally(ctx: ChaosContext): Promise<Tally>;
}

/** How far ahead a waiting or retrying job counts as due (a later wave is not). */
export const DUE_WITHIN = "5 minutes";

/** Jobs of the queues that keep them from being drained, and the dead ones. */
export interface QueueLoad {
  /** Running, or waiting/retrying and due within {@link DUE_WITHIN}. */
  busy: number;
  running: number;
  due: number;
  /** Waiting or retrying, due later (e.g. the next wave of an offer). */
  later: number;
  dead: number;
}

/** Counts the jobs of `queues` by what they mean for the drain. */
export async function queueLoad(db: postgres.Sql, queues: string[]): Promise<QueueLoad> {
  const [row] = await db`
    select count(*) filter (where state = 'running')::int as running,
           count(*) filter (where state in ('waiting', 'retrying')
                              and run_at <= now() + ${DUE_WITHIN}::interval)::int as due,
           count(*) filter (where state in ('waiting', 'retrying')
                              and run_at > now() + ${DUE_WITHIN}::interval)::int as later,
           count(*) filter (where state = 'dead')::int as dead
    from jobs.jobs where queue = any(${queues})`;
  return {
    busy: row.running + row.due,
    running: row.running,
    due: row.due,
    later: row.later,
    dead: row.dead,
  };
}

/**
 * Failed attempts of the queues' jobs, grouped by error (numbers, ids and webhook-ids masked),
 * commonest first.
 */
export async function failedAttempts(
  db: postgres.Sql,
  queues: string[],
): Promise<{ error: string; attempts: number; jobs: number; highest: number }[]> {
  const rows = await db`
    select left(regexp_replace(coalesce(error, '(no error)'),
                               'msg_[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f-]{27}|[0-9]+', '#', 'g'), 110) as error,
           count(*)::int as attempts, count(distinct job_id)::int as jobs,
           max(attempt)::int as highest
    from jobs.job_events
    where queue = any(${queues}) and from_state = 'running' and to_state in ('retrying', 'dead')
    group by 1 order by 2 desc`;
  return rows.map((r) => ({
    error: r.error as string,
    attempts: r.attempts as number,
    jobs: r.jobs as number,
    highest: r.highest as number,
  }));
}
