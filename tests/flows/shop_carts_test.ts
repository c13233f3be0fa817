/**
 * The expired-cart clean-up on the real local platform: `clean-expired-carts` called with the
 * cron secret deletes the expired carts (and their items) in batches of
 * `shop_settings.cart_cleanup_batch`, keeps the fresh ones, answers the seed's
 * `{success, deletedCount, timestamp}` and logs the run; a failing batch answers 500 with the
 * error, logged too; only the cron secret or the service key may call it; and the pg_cron job
 * calls it hourly as a scheduled run.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import {
  ANON_AUTH,
  cleanExpiredCarts,
  CRON_AUTH,
  SERVICE_AUTH,
  startCartsTest,
} from "../_support/shop_carts.ts";
import { waitFor } from "../_support/wait.ts";

Deno.test("clean-expired-carts deletes the expired carts in batches, keeps the fresh ones, answers {success, deletedCount, timestamp} and logs the run", async () => {
  const t = await startCartsTest();
  try {
    await t.batchSize(3);
    const expired = await t.carts(7, { expiredFor: "1 minute" });
    const fresh = await t.carts(2);

    const answer = await cleanExpiredCarts(CRON_AUTH, { trigger: "schedule" });
    assertEquals(answer.status, 200, answer.text);
    assertEquals(answer.body.success, true, answer.text);
    assert(answer.body.deletedCount >= 7, `deletedCount ${answer.body.deletedCount} counts ours`);
    assertMatch(answer.body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert(answer.body.batches >= 3, `7 carts in batches of 3 take 3 batches: ${answer.text}`);
    assertEquals(answer.body.complete, true, answer.text);
    assert(answer.body.longestBatchMs >= 0, answer.text);

    assertEquals(await t.remaining(expired), [], "every expired cart is gone");
    assertEquals((await t.remaining(fresh)).sort(), [...fresh].sort(), "the fresh carts stay");
    const [items] = await t.sql`
      select count(*) filter (where cart_id = any(${expired}::uuid[]))::int as expired,
             count(*) filter (where cart_id = any(${fresh}::uuid[]))::int as fresh
      from public.cart_items`;
    assertEquals(items, { expired: 0, fresh: 2 }, "items went with their carts only");

    const runs = await t.runs();
    assertEquals(runs.length, 1, "one run logged");
    assertEquals(runs[0].trigger, "schedule");
    assertEquals(runs[0].error, null);
    assertEquals(runs[0].result.deletedCount, answer.body.deletedCount);
    assertEquals(runs[0].result.success, true);
    assert(runs[0].finished_at >= runs[0].started_at);

    // Nothing left: a run by hand deletes none of ours, and says so.
    const again = await cleanExpiredCarts(SERVICE_AUTH, {}, "GET");
    assertEquals(again.status, 200, again.text);
    assertEquals(again.body.deletedCount, 0, again.text);
    assertEquals(again.body.batches, 1, again.text);
    const [, manual] = await t.runs();
    assertEquals(manual.trigger, "manual", "a call without the schedule trigger is a manual run");
  } finally {
    await t.done();
  }
});

Deno.test("a failing clean-up answers 500 {success: false, error, deletedCount, timestamp} and logs the run with its error", async () => {
  const t = await startCartsTest();
  try {
    await t.carts(2, { expiredFor: "1 hour" });
    await t
      .sql`revoke execute on function public.shop_clean_expired_carts_batch(int, timestamptz) from service_role`;
    let answer;
    try {
      answer = await cleanExpiredCarts(CRON_AUTH, { trigger: "schedule" });
    } finally {
      await t
        .sql`grant execute on function public.shop_clean_expired_carts_batch(int, timestamptz) to service_role`;
    }
    assertEquals(answer.status, 500, answer.text);
    assertEquals(answer.body.success, false, answer.text);
    assertEquals(answer.body.deletedCount, 0, answer.text);
    assertMatch(answer.body.error, /shop_clean_expired_carts_batch failed .*permission denied/);
    assertMatch(answer.body.timestamp, /^\d{4}-\d\d-\d\dT/);
    const runs = await t.runs();
    assertEquals(runs.length, 1, "the failed run is logged");
    assertEquals(runs[0].error, answer.body.error);
    assertEquals(runs[0].result.success, false);
  } finally {
    await t.done();
  }
});

Deno.test("clean-expired-carts refuses anon, a wrong secret and no credentials (401), a body that is not a trigger (400), and methods other than POST or GET", async () => {
  for (const authorization of [ANON_AUTH, "Bearer not-the-cron-secret-0123456789", null]) {
    const refused = await cleanExpiredCarts(authorization);
    assertEquals(refused.status, 401, `${authorization ?? "no header"}: ${refused.text}`);
  }
  const bad = await cleanExpiredCarts(CRON_AUTH, { trigger: "hourly" });
  assertEquals([bad.status, bad.body.error?.code], [400, "invalid_body"], bad.text);
  const put = await cleanExpiredCarts(CRON_AUTH, {}, "PUT");
  assertEquals(put.status, 405, put.text);
});

Deno.test("the pg_cron job clean-expired-carts calls the function every hour as a scheduled run", async () => {
  const t = await startCartsTest();
  try {
    const [job] = await t
      .sql`select schedule, command from cron.job where jobname = 'clean-expired-carts'`;
    assertEquals(job.schedule, "0 * * * *");
    // What the job runs: a pg_net POST to the function with the cron secret, which the pg_net
    // worker sends; the function then logs a scheduled run.
    const expired = await t.carts(1, { expiredFor: "1 second" });
    const [{ id }] = await t.sql.unsafe(`${job.command} as id`);
    assert(id !== null, "jobs.call_function queued a request");
    const run = await waitFor(async () => (await t.runs()).find((r) => r.trigger === "schedule"), {
      what: "the scheduled run the cron job's command started",
    });
    assertEquals(run.error, null);
    assert(run.result.deletedCount >= 1, JSON.stringify(run.result));
    assertEquals(await t.remaining(expired), []);
  } finally {
    await t.done();
  }
});
