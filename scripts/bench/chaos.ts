/**
 * The chaos check (a script that prints figures, not a timed test).
 *
 *   bash scripts/bench.sh chaos [--cancellations 200] [--waitlist 5000] [--accept 40]
 *     [--probes 500] [--signups 300] [--create-concurrency 4] [--rate 2] [--throttled 0.25]
 *     [--lease 15] [--timeout 300] [--kill-at 8,20] [--restart-at 3]
 *     [--overdue 300] [--hook-endpoints 2] [--hook-faults 0.1] [--hook-slow 0.1]
 *     [--hook-slow-ms 10000] [--shop-due 60] [--shop-live 60] [--shop-slow 0.05]
 *     [--shop-slow-ms 3000]
 *
 * On a fresh, durable `bench` platform it starts a burst of work on every queue (one
 * `ChaosFlow` per flow: scripts/bench/chaos/), then, while the work drains, kills the edge
 * function processes that drain those queues with `kill -9` (at each `--kill-at` second after
 * the burst; a kill that finds none running waits for the gateway to start one), restarts Postgres with `pg_ctl restart -m immediate` (at `--restart-at`), with the
 * Resend stand-in admitting `--rate` requests per second, below the senders' pace
 * (RESEND_REQUESTS_PER_SECOND, 5 by default), and answering a `--throttled` share of requests
 * with 429 and `retry-after: 1` besides, so senders must slow down and jobs are throttled; the
 * Evolution stand-in answers the same share of its calls with 429 and runs at most
 * `--create-concurrency` instance creations at once; the webhook receiver answers a
 * `--hook-faults` share of the overdue-ticket deliveries 503 with `retry-after: 1` and a
 * `--hook-slow` share only after `--hook-slow-ms` (`--overdue` tickets made overdue at once,
 * `--hook-endpoints` endpoints); the shop's instance sends `--shop-due` review requests and
 * `--shop-live` order confirmations, the stand-in answering the `--throttled` share of them 429
 * and a `--shop-slow` share after `--shop-slow-ms`. It waits until every queue
 * has drained or `--timeout` seconds have passed, then prints per flow: items, delivered, lost,
 * delivered twice, dead jobs, time to drain; and the faults, the 429s, the failed attempts and
 * the errors logged. Exits 1 when anything is lost, doubled, dead or not drained, 0 otherwise.
 *
 * The queues' lease is lowered to `--lease` seconds for the run (jobs.queues.lease_seconds):
 * the jobs of a killed process come back when their lease expires, at the next claim or the
 * next drain (pg_cron, every minute).
 */
import postgres from "postgres";
import { flag, round, secondsList, sleep, stopOnSignals } from "./cli.ts";
import { restartClusterImmediately, stopCluster } from "../platform/postgres.ts";
import { type Platform, startPlatform } from "../platform/start.ts";
import { functionProcesses, killNine } from "./chaos/faults.ts";
import {
  type ChaosContext,
  type ChaosFlow,
  failedAttempts,
  queueLoad,
  type Tally,
} from "./chaos/flow.ts";
import { probeFlow } from "./chaos/probe_flow.ts";
import { shopFlow } from "./chaos/shop_flow.ts";
import { resendControl } from "../platform/stand_ins/resend/email.ts";
import { waitlistFlow } from "./chaos/waitlist_flow.ts";
import { webhooksFlow } from "./chaos/webhooks_flow.ts";
import { whatsappFlow } from "./chaos/whatsapp_flow.ts";

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const RATE = flag("rate", 2);
/** Share of Resend requests answered 429 on top of the rate limit (a provider throttling more
 * than its headers announce). */
const THROTTLED = flag("throttled", 0.25);
const LEASE_SECONDS = flag("lease", 15);
const TIMEOUT_S = flag("timeout", 300);
const KILL_AT = secondsList("kill-at", [8, 20]);
const RESTART_AT = secondsList("restart-at", [3]);
/** How long a kill waits after a function process has started again, so that it has work. */
const KILL_SETTLE_MS = 1500;

const flows: ChaosFlow[] = [
  waitlistFlow({
    cancellations: flag("cancellations", 200),
    waitlist: flag("waitlist", 5000),
    accept: flag("accept", 40),
  }),
  probeFlow(flag("probes", 500)),
  whatsappFlow({
    signups: flag("signups", 300),
    throttled: THROTTLED,
    createConcurrency: flag("create-concurrency", 4),
  }),
  webhooksFlow({
    tickets: flag("overdue", 300),
    endpoints: flag("hook-endpoints", 2),
    faults: flag("hook-faults", 0.1),
    slow: flag("hook-slow", 0.1),
    slowMs: flag("hook-slow-ms", 10_000),
  }),
  shopFlow({
    due: flag("shop-due", 60),
    live: flag("shop-live", 60),
    throttled: THROTTLED,
    slow: flag("shop-slow", 0.05),
    slowMs: flag("shop-slow-ms", 3000),
  }),
];

// ---------------------------------------------------------------------------------------------
// Platform, clean-up, timeline, logs
// ---------------------------------------------------------------------------------------------

let platform: Platform | undefined;
let db: postgres.Sql | undefined;
let stopping: Promise<void> | undefined;

/** How long stopping the platform may take before the check gives up on it and exits. */
const STOP_TIMEOUT_MS = 30_000;

/** Stops the platform; a stop that hangs is reported and the check exits anyway (code 3). */
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    await db?.end({ timeout: 2 }).catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<"hung">((resolve) => {
      timer = setTimeout(() => resolve("hung"), STOP_TIMEOUT_MS);
    });
    const outcome = await Promise.race([platform?.stop(), hung]);
    clearTimeout(timer);
    if (outcome === "hung") {
      console.log(
        `\nFAILED: the platform did not stop within ${STOP_TIMEOUT_MS / 1000} s ` +
          `(a stop step is stuck); stopping Postgres and exiting without the rest.`,
      );
      if (platform) await stopCluster(platform.cfg).catch(() => {});
      Deno.exit(3);
    }
  })();
  return stopping;
}

stopOnSignals(shutdown);

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error);

/** When the bursts started (epoch ms); 0 before. */
let t0 = 0;
const since = () => (t0 ? Date.now() - t0 : 0);
const at = (ms: number) => `t+${(ms / 1000).toFixed(1).padStart(5)} s`;
const timeline: string[] = [];
const note = (line: string) => timeline.push(`  ${at(since())}  ${line}`);

/** Errors and warnings logged during the run, by source and message. */
const logged = new Map<string, { count: number; first: number }>();
/** The gateway's function process events, for the timeline. */
const processEvents: string[] = [];

function count(key: string) {
  const seen = logged.get(key);
  if (seen) seen.count++;
  else logged.set(key, { count: 1, first: since() });
}

/** A message with its ids and numbers masked, so that alike messages count together. */
function masked(text: string): string {
  return text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>")
    .replace(/\buser_[0-9a-f]{32}\b/g, "user_<id>")
    .replace(/\d+/g, "#");
}

/** Reads the platform's log lines: process events go to the timeline, problems are counted. */
function onLog(line: string) {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    if (!line.startsWith("migrations applied")) count(`platform: ${masked(line).slice(0, 120)}`);
    return;
  }
  if (entry.component === "gateway" && typeof entry.event === "string") {
    const what = entry.function ?? entry.path;
    const extra = entry.pid ? ` pid ${entry.pid}` : entry.signal ? ` (${entry.signal})` : "";
    if (t0) processEvents.push(`  ${at(since())}  gateway: ${what} ${entry.event}${extra}`);
    if (!["starting", "exited", "listening"].includes(entry.event)) {
      count(`gateway ${entry.event}: ${String(entry.msg ?? "").slice(0, 100)}`);
    }
    return;
  }
  if (typeof entry.function === "string" && typeof entry.line === "string") {
    let inner: Record<string, unknown> | undefined;
    try {
      inner = JSON.parse(entry.line);
    } catch {
      inner = undefined;
    }
    const level = inner?.level ?? (entry.stream === "stderr" ? "stderr" : undefined);
    if (level === "stderr" && entry.line.startsWith("Listening on ")) return;
    if (level === "error" || level === "warn" || level === "stderr") {
      const text = String(inner?.msg ?? entry.line);
      const error = inner?.error ? `: ${String(inner.error)}` : "";
      count(`${entry.function} ${level}: ${masked(text + error).slice(0, 160)}`);
    }
    return;
  }
  if (entry.level === "error") {
    count(masked(`${entry.component ?? "platform"}: ${entry.msg} ${String(entry.error ?? "")}`));
  }
}

/**
 * Uncaught errors thrown by postgres.js inside this process (the gateway's pool, the pg_net
 * worker, this script's connection share it). postgres.js 3.4.9 can throw from a timer when a
 * connection dies with a write pending (`socket.write` on a null socket: porsager/postgres#1154,
 * #1208), which would end the whole platform process. The check records them, lets the run
 * go on to see whether the platform recovers, and fails.
 */
const uncaught: string[] = [];
globalThis.addEventListener("error", (event) => {
  const error = event.error as Error | undefined;
  const stack = String(error?.stack ?? event.message);
  if (!/\/postgres\/[\d.]+\/src\//.test(stack)) return; // npm:postgres, not our code
  event.preventDefault();
  const what = `${error?.name ?? "Error"}: ${error?.message ?? event.message}`;
  uncaught.push(what);
  note(`UNCAUGHT in postgres.js (would have ended the platform process): ${what}`);
});

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

const faults = { kills: 0, restarts: 0 };

/**
 * Kills the function processes; when none runs (a previous kill, nothing woke them since), waits
 * for the gateway to start one again (bounded by `until`), so that every kill hits a process.
 */
async function killFunctions(functionNames: string[], until: number) {
  let found = functionProcesses(platform!.cfg, functionNames);
  if (!found.length) {
    note("kill -9: no function process runs; waiting for the gateway to start one");
    while (!found.length && Date.now() < until) {
      await sleep(50);
      found = functionProcesses(platform!.cfg, functionNames);
    }
    if (!found.length) return note("kill -9: no function process ran before the timeout");
    // Let the new process boot and claim its jobs before it dies.
    await sleep(KILL_SETTLE_MS);
    found = functionProcesses(platform!.cfg, functionNames);
  }
  const killed = killNine(found);
  faults.kills++;
  const missing = functionNames.filter((n) => !killed.some((p) => p.name === n));
  note(
    `kill -9 #${faults.kills}: ${killed.map((p) => `${p.name} pid ${p.pid}`).join(", ") || "-"}${
      missing.length ? `; not running: ${missing.join(", ")}` : ""
    }`,
  );
}

async function restartPostgres() {
  const started = Date.now();
  note("pg_ctl restart -m immediate: begins");
  try {
    await restartClusterImmediately(platform!.cfg);
    faults.restarts++;
    note(
      `pg_ctl restart -m immediate: accepting connections again after ${
        round((Date.now() - started) / 1000, 2)
      } s`,
    );
  } catch (error) {
    note(`pg_ctl restart -m immediate FAILED: ${messageOf(error)}`);
    throw error;
  }
}

/** Runs the faults at their times; resolves when the last one is done. */
async function injectFaults(functionNames: string[], until: number) {
  const events: { s: number; run: () => unknown }[] = [
    ...KILL_AT.map((s) => ({ s, run: () => killFunctions(functionNames, until) })),
    ...RESTART_AT.map((s) => ({ s, run: restartPostgres })),
  ].sort((a, b) => a.s - b.s);
  for (const event of events) {
    await sleep(Math.max(0, event.s * 1000 - since()));
    await event.run();
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function table(rows: { flow: ChaosFlow; tally: Tally; drainedMs: number | undefined }[]) {
  const head = ["flow", "items", "delivered", "lost", "twice", "dead", "time to drain"];
  const body = rows.map(({ flow, tally, drainedMs }) => [
    flow.name,
    String(tally.items),
    String(tally.delivered),
    String(tally.lost),
    tally.twice === null ? "n/a" : String(tally.twice),
    String(tally.dead),
    drainedMs === undefined ? "NOT DRAINED" : `${round(drainedMs / 1000)} s`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("   ");
  return [line(head), ...body.map(line)].join("\n");
}

let exitCode = 1;
try {
  const runStarted = Date.now();
  platform = await startPlatform("bench", { fresh: true, log: onLog });
  db = postgres(platform.cfg.dbUrl, { max: 4, onnotice: () => {} });
  const resend = resendControl(platform.standIns.resend.url);
  const ctx: ChaosContext = { db, platform, resend, since, note };
  console.log(
    `bench platform up in ${round((Date.now() - runStarted) / 1000)} s (db ${platform.cfg.dbUrl})`,
  );

  // Queues, their functions, a shorter lease.
  const queues = flows.flatMap((f) => f.queues);
  const queueRows = await db`
    update jobs.queues q set lease_seconds = ${LEASE_SECONDS}
    from jobs.queues old where old.name = q.name and q.name = any(${queues})
    returning q.name, q.function_name, old.lease_seconds as was`;
  if (queueRows.length !== queues.length) {
    throw new Error(`Queues ${queues.join(", ")} expected, found ${queueRows.length}`);
  }
  const functionNames = [...new Set(queueRows.map((r) => r.function_name as string))];

  const prepared = Date.now();
  for (const flow of flows) await flow.prepare(ctx);
  console.log(`flows prepared in ${round((Date.now() - prepared) / 1000)} s`);

  // Each function once, so that its process runs when the first kill comes.
  for (const row of queueRows) {
    const res = await fetch(`${platform.cfg.apiUrl}/functions/v1/${row.function_name}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${platform.env.SUPABASE_SERVICE_ROLE_KEY}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ queue: row.name, reason: "chaos warm-up" }),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`Warming up ${row.function_name} answered ${res.status}`);
  }
  await resend.rateLimit.set(RATE);
  if (THROTTLED > 0) {
    await resend.faults.add({
      action: "status",
      status: 429,
      retry_after: 1,
      fraction: THROTTLED,
      random: true,
    });
  }
  const pace = platform.env.RESEND_REQUESTS_PER_SECOND ?? "5 (default)";

  // The bursts, the faults, the patients, the drain.
  t0 = Date.now();
  await Promise.all(flows.map((flow) => flow.burst(ctx)));
  note(`bursts committed: ${flows.map((f) => f.name).join(", ")}`);
  const deadline = t0 + TIMEOUT_S * 1000;
  const faultsDone = injectFaults(functionNames, deadline).then(() => true, (error) => {
    note(`faults stopped: ${messageOf(error)}`);
    return true;
  });
  let faultsOver = false;
  faultsDone.then(() => faultsOver = true);
  const acting = new Map(flows.map((flow) => [flow.name, true]));
  const meanwhile = flows.map(async (flow) => {
    try {
      await flow.meanwhile?.(ctx, deadline);
    } catch (error) {
      note(`${flow.name}: stopped acting: ${messageOf(error)}`);
    } finally {
      acting.set(flow.name, false);
    }
  });

  const drainedAt = new Map<string, number | undefined>();
  let loadErrors = 0;
  while (Date.now() < deadline) {
    let all = faultsOver;
    for (const flow of flows) {
      let busy = true;
      try {
        busy = (await queueLoad(db, flow.queues)).busy > 0 || acting.get(flow.name)!;
      } catch {
        loadErrors++;
      }
      if (!busy && drainedAt.get(flow.name) === undefined) {
        drainedAt.set(flow.name, since());
      } else if (busy) {
        drainedAt.set(flow.name, undefined);
      }
      all &&= !busy;
    }
    if (all) break;
    await sleep(250);
  }
  for (const flow of flows) {
    const ms = drainedAt.get(flow.name);
    note(ms === undefined ? `${flow.name}: NOT drained` : `${flow.name}: drained at ${at(ms)}`);
  }
  await Promise.all(meanwhile);
  await faultsDone;
  await sleep(500); // stray duplicates, if any, land now

  const rows = [];
  for (const flow of flows) {
    rows.push({ flow, tally: await flow.tally(ctx), drainedMs: drainedAt.get(flow.name) });
  }
  const stats = await resend.stats();
  const failures = new Map<string, Awaited<ReturnType<typeof failedAttempts>>>();
  for (const flow of flows) failures.set(flow.name, await failedAttempts(db, flow.queues));

  console.log(`\n${"=".repeat(96)}`);
  console.log(
    `CHAOS: ${faults.kills} × kill -9 of ${functionNames.join(", ")}, ${faults.restarts} × ` +
      `pg_ctl restart -m immediate, Resend stand-in at ${RATE} req/s (senders pace at ${pace}) and ` +
      `${Math.round(THROTTLED * 100)}% of requests answered 429`,
  );
  console.log(
    `lease_seconds lowered to ${LEASE_SECONDS} for this run on ${
      queueRows.map((r) => `${r.name} (was ${r.was})`).join(", ")
    }; drain cron every minute; timeout ${TIMEOUT_S} s`,
  );
  console.log("=".repeat(96));
  console.log(table(rows));
  console.log("");
  for (const { tally } of rows) for (const line of tally.details) console.log(`  ${line}`);
  console.log(
    `\n  Resend stand-in: ${stats.requests_received} requests, ${stats.requests_accepted} accepted, ` +
      `${stats.requests_rate_limited} answered 429, ${stats.requests_rejected} rejected, ` +
      `${stats.requests_faulted} faulted; ${stats.emails_stored} emails stored`,
  );
  console.log(`\n  failed attempts (job_events running → retrying/dead), by error:`);
  for (const [name, list] of failures) {
    if (!list.length) console.log(`    ${name}: none`);
    for (const f of list) {
      console.log(
        `    ${name}: ${f.attempts} attempt(s) of ${f.jobs} job(s), highest attempt ${f.highest}: ${f.error}`,
      );
    }
  }
  console.log(`\n  timeline:`);
  const merged = [...timeline, ...processEvents].sort((a, b) =>
    Number(/t\+\s*([\d.]+)/.exec(a)![1]) - Number(/t\+\s*([\d.]+)/.exec(b)![1])
  );
  for (const line of merged) console.log(line);
  console.log(`\n  errors and warnings logged (count, first seen):`);
  if (!logged.size) console.log("    none");
  for (const [key, { count, first }] of [...logged].sort((a, b) => b[1].count - a[1].count)) {
    console.log(`    ${String(count).padStart(5)} × ${at(first)}  ${key}`);
  }
  if (loadErrors) console.log(`    ${loadErrors} drain checks failed (Postgres restarting)`);

  const bad = rows.filter(({ tally, drainedMs }) =>
    tally.lost > 0 || (tally.twice ?? 0) > 0 || tally.dead > 0 || drainedMs === undefined
  ).map((r) => r.flow.name);
  if (uncaught.length) {
    console.log(`\n  ${uncaught.length} uncaught error(s) in postgres.js (see the timeline)`);
    bad.push("platform process (uncaught postgres.js error)");
  }
  console.log(
    `\n${bad.length ? `FAILED: ${bad.join(", ")}` : "OK"} — run took ${
      round((Date.now() - runStarted) / 1000)
    } s`,
  );
  exitCode = bad.length ? 1 : 0;
} catch (error) {
  console.error(`The chaos check failed: ${error instanceof Error ? error.stack : error}`);
  exitCode = 2;
} finally {
  await shutdown();
}
Deno.exit(exitCode);
