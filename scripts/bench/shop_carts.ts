/**
 * Expired-cart clean-up benchmark (a script that prints figures, not a test).
 *
 *   bash scripts/bench.sh shop_carts [--carts 1000000] [--batch 0] [--items 1] [--pause 5]
 *
 * On a fresh, durable `bench` platform (the pg_cron job clean-expired-carts paused) it inserts
 * `--carts` expired carts (generate_series, in chunks; each with `--items` items), then runs the
 * clean-up end to end through the `clean-expired-carts` function (called again while it answers
 * `complete: false`, i.e. its time budget ran out), with `--batch` carts per batch (0: the
 * setting, 5000). Meanwhile a second connection inserts fresh carts in a loop (one insert, then
 * `--pause` ms) and times each one. Prints the total time, batches, the longest single batch,
 * and the p50/p99/max wait of the concurrent inserts (target: max under 100 ms).
 * Ctrl-C stops the platform.
 */
import postgres from "postgres";
import { flag, header, int, ms, round, stopOnSignals, verdict } from "./cli.ts";
import { type Platform, startPlatform } from "../platform/start.ts";
import { latencySummary } from "./stats.ts";

const CARTS = flag("carts", 1_000_000);
const BATCH = flag("batch", 0);
const ITEMS = flag("items", 1);
const PAUSE_MS = flag("pause", 5);
const CHUNK = 100_000;
const INSERT_TARGET_MS = 100;

let platform: Platform | undefined;
let sql: postgres.Sql | undefined;
let stopping: Promise<void> | undefined;

function shutdown(): Promise<void> {
  stopping ??= (async () => {
    await sql?.end({ timeout: 2 }).catch(() => {});
    await platform?.stop();
  })();
  return stopping;
}
stopOnSignals(shutdown);

/** Inserts the expired carts (and their items) in chunks; answers the seconds it took. */
async function seed(): Promise<number> {
  const started = performance.now();
  const [product] = await sql!`
    insert into public.products (name, price_cents, stock) values ('Bench cart product', 100, 0)
    returning id`;
  for (let done = 0; done < CARTS; done += CHUNK) {
    const n = Math.min(CHUNK, CARTS - done);
    // Expired from 30 days ago up to a minute ago, in random order of insertion.
    await sql!`
      with made as (
        insert into public.carts (created_at, expires_at)
        select now() - interval '31 days',
               now() - interval '1 minute' - random() * interval '30 days'
        from generate_series(1, ${n})
        returning id
      )
      insert into public.cart_items (cart_id, product_id, quantity)
      select m.id, ${product.id}, i from made m, generate_series(1, ${ITEMS}) i`;
  }
  await sql!`vacuum analyze public.carts`;
  await sql!`vacuum analyze public.cart_items`;
  return (performance.now() - started) / 1000;
}

/** Inserts fresh carts one at a time until `stop()` answers true; answers each insert's ms. */
async function insertLoop(conn: postgres.Sql, stop: () => boolean): Promise<number[]> {
  const waits: number[] = [];
  const deadline = performance.now() + 30 * 60_000; // bounded, whatever happens
  while (!stop() && performance.now() < deadline) {
    const began = performance.now();
    await conn`insert into public.carts default values`;
    waits.push(performance.now() - began);
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  return waits;
}

/** Calls clean-expired-carts until it answers complete; answers the calls' answers. */
async function cleanUp(url: string, secret: string) {
  const answers: Record<string, unknown>[] = [];
  for (let call = 1; call <= 100; call++) {
    const res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ trigger: "manual" }),
    });
    const body = await res.json();
    if (res.status !== 200 || body.success !== true) {
      throw new Error(
        `clean-expired-carts failed (call ${call}, HTTP ${res.status}): ${JSON.stringify(body)}`,
      );
    }
    answers.push(body);
    if (body.complete) break;
  }
  return answers;
}

try {
  const started = performance.now();
  platform = await startPlatform("bench", { fresh: true, log: () => {} });
  sql = postgres(platform.cfg.dbUrl, { max: 2, onnotice: () => {} });
  const inserter = postgres(platform.cfg.dbUrl, { max: 1, onnotice: () => {} });
  console.log(
    `bench platform up in ${
      round((performance.now() - started) / 1000)
    } s (db ${platform.cfg.dbUrl})`,
  );
  await sql`update cron.job set active = false where jobname = 'clean-expired-carts'`;
  if (BATCH > 0) await sql`update public.shop_settings set cart_cleanup_batch = ${BATCH}`;
  const [{ batch }] = await sql`select cart_cleanup_batch as batch from public.shop_settings`;

  header(
    `Expired-cart clean-up: ${int(CARTS)} expired carts × ${ITEMS} item(s), batches of ${
      int(batch)
    }`,
  );
  const seedSeconds = await seed();
  console.log(`  seeded in ${round(seedSeconds)} s`);

  // Warm the function and the insert path (first calls pay for the start).
  await inserter`insert into public.carts default values`;
  const url = `${platform.env.SUPABASE_URL}/functions/v1/clean-expired-carts`;

  let cleaning = true;
  const inserts = insertLoop(inserter, () => !cleaning);
  const began = performance.now();
  let answers: Record<string, unknown>[];
  try {
    answers = await cleanUp(url, platform.env.CRON_SECRET);
  } finally {
    cleaning = false;
  }
  const totalSeconds = (performance.now() - began) / 1000;
  const waits = await inserts;
  await inserter.end({ timeout: 2 });

  const deleted = answers.reduce((n, a) => n + Number(a.deletedCount), 0);
  const batches = answers.reduce((n, a) => n + Number(a.batches), 0);
  const longest = Math.max(...answers.map((a) => Number(a.longestBatchMs)));
  const [left] = await sql`
    select count(*) filter (where expires_at < now())::int as expired, count(*)::int as carts,
           (select count(*)::int from public.cart_items) as items
    from public.carts`;
  const [runs] = await sql`
    select count(*)::int as runs, count(*) filter (where error is null)::int as ok
    from public.shop_automation_runs where automation = 'clean-expired-carts'`;
  const insertWaits = latencySummary(waits);

  console.log(
    `  deleted ${int(deleted)} carts in ${round(totalSeconds, 2)} s ` +
      `(${int(deleted / totalSeconds)} carts/s), ${answers.length} call(s), ${
        int(batches)
      } batches`,
  );
  console.log(`  longest single batch ${round(longest)} ms`);
  console.log(
    `  left: ${int(left.expired)} expired carts, ${int(left.carts)} carts (the concurrent ` +
      `inserts), ${int(left.items)} items; runs logged ${runs.ok}/${runs.runs}`,
  );
  console.log(
    `  concurrent cart inserts: ${int(insertWaits.n)}, p50/p95/p99/max ${ms(insertWaits)}`,
  );
  console.log(
    `  target max insert wait < ${INSERT_TARGET_MS} ms: ${
      verdict(insertWaits.max < INSERT_TARGET_MS)
    }`,
  );
  console.log(`\ntotal ${round((performance.now() - started) / 1000)} s`);
  console.log(JSON.stringify({
    carts: CARTS,
    items_per_cart: ITEMS,
    batch_size: batch,
    seed_s: round(seedSeconds, 2),
    cleanup_s: round(totalSeconds, 2),
    deleted,
    calls: answers.length,
    batches,
    longest_batch_ms: round(longest),
    expired_left: left.expired,
    insert_ms: insertWaits,
  }));
} finally {
  await shutdown();
}
