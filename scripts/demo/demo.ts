/**
 * What the dev command shows of each flow once the platform runs: each flow's demo lives in its
 * own module here (job_core.ts, waitlist.ts, whatsapp.ts, workshop.ts,
 * shop.ts) and scripts/dev.ts prints them in order. A demo may
 * probe the running stack first (a line printed before the summary, e.g. the job pipeline
 * check), then says how to try the flow by hand (printed after the summary).
 */
import type postgres from "postgres";
import type { Platform } from "../platform/start.ts";
import { jobCoreDemo } from "./job_core.ts";
import { shopDemo } from "./shop.ts";
import { waitlistDemo } from "./waitlist.ts";
import { whatsappDemo } from "./whatsapp.ts";
import { workshopDemo } from "./workshop.ts";

/** What a demo gets: a connection to the dev database and the running platform. */
export interface DemoContext {
  sql: postgres.Sql;
  platform: Platform;
}

/** What a demo prints. */
export interface DemoText {
  /** A line about a probe just run (printed before the summary); none when absent. */
  check?: string;
  /** How to try the flow by hand, with what to paste into psql. */
  tryIt: string;
}

/** One flow's demo. */
export interface FlowDemo {
  /** The flow, for error messages. */
  flow: string;
  /**
   * Probes the stack as the demo needs and answers what to print.
   *
   * @throws {Error} when the stack cannot be queried.
   */
  run(ctx: DemoContext): Promise<DemoText>;
}

/** Every flow's demo, in the order the dev command prints them. */
export const DEMOS: readonly FlowDemo[] = [
  jobCoreDemo,
  waitlistDemo,
  whatsappDemo,
  workshopDemo,
  shopDemo,
];
