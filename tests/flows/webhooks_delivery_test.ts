/**
 * The webhook delivery engine end to end on the real local platform: a published event becomes
 * one message per endpoint, `deliver-webhooks` signs it and POSTs it to the receiver stand-in,
 * which verifies it with the endpoint's secret. Also: the retry schedule (with SQL's frozen
 * clock `p_now`, and through the job core's `run_at`), `Retry-After` on 429 and 503, 410
 * disables the endpoint at once, the 5-day rule, secret rotation, the per-endpoint rate limit,
 * and a hanging endpoint that does not delay a healthy one.
 *
 * Endpoints are made and rotated with the management SQL functions, as an admin's JWT claims
 * (the HTTP API has its own tests); each test names its receiver endpoints uniquely and deletes
 * its webhook endpoints at the end.
 */
import type postgres from "postgres";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import { asAdmin } from "../../scripts/demo/workshop.ts";
import { waitFor, type WaitOptions } from "../_support/wait.ts";
import { webhookReceiverControl } from "../../scripts/platform/stand_ins/webhook_receiver/control.ts";
import { QUEUES } from "../../supabase/functions/_shared/jobs/queues.ts";

type Sql = postgres.Sql;

const receiverUrl = Deno.env.get("WEBHOOK_RECEIVER_URL");
if (!receiverUrl) {
  throw new Error("WEBHOOK_RECEIVER_URL is not set: run the tests with scripts/test.sh");
}
const receiver = webhookReceiverControl(receiverUrl);

/** The schedule SQL applies after the job's attempt n fails (n = 1..7), in seconds. */
const SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** A webhook endpoint made by a test, and its receiver endpoint's name. */
interface TestEndpoint {
  id: string;
  name: string;
  secret: string;
}

interface MessageRow {
  id: string;
  status: string;
  attempts: number;
  failure_reason: string | null;
  job_id: string | null;
  payload: unknown;
}

interface AttemptRow {
  attempt: number;
  started_at: Date;
  response_status: number | null;
  outcome: string;
  next_attempt_at: Date | null;
  error: string | null;
  response_excerpt: string | null;
  /**
   * next_attempt_at - started_at, in whole seconds: SQL counts the delay from its `p_now` (when
   * the attempt is recorded), a few milliseconds after the attempt started.
   */
  delay: number | null;
}

interface JobRow {
  id: string;
  state: string;
  attempts: number;
  run_at: Date;
  last_error: string | null;
  /** run_at - now(), in seconds. */
  due_in: number;
  result: unknown;
}

/** One test's connection, endpoints and helpers. */
class WebhooksTest {
  readonly sql: Sql = testSql();
  readonly endpoints: TestEndpoint[] = [];

  /** Runs `fn` in a transaction whose JWT claims are an admin's (the management functions). */
  asAdmin<T>(fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
    return asAdmin(this.sql, fn);
  }

  /**
   * A webhook endpoint made with `webhook_endpoint_create`, pointing at a fresh receiver
   * endpoint that is given its generated secret.
   */
  async endpoint(opts: { rate?: number } = {}): Promise<TestEndpoint> {
    const name = `engine_${crypto.randomUUID().slice(0, 8)}`;
    const created = await this.asAdmin(async (tx) => {
      const [row] = await tx<{ e: { id: string; secret: string } }[]>`
        select public.webhook_endpoint_create(${receiver.hookUrl(name)}, 'delivery engine test',
          null, ${opts.rate ?? null}) as e`;
      return row.e;
    });
    assertMatch(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    await receiver.setSecrets(name, [created.secret]);
    const endpoint = { id: created.id, name, secret: created.secret };
    this.endpoints.push(endpoint);
    return endpoint;
  }

  /** Rotates the endpoint's secret with `webhook_endpoint_rotate_secret`; the new secret. */
  async rotate(endpoint: TestEndpoint): Promise<string> {
    return await this.asAdmin(async (tx) => {
      const [row] = await tx<{ r: { secret: string } }[]>`
        select public.webhook_endpoint_rotate_secret(${endpoint.id}::uuid) as r`;
      return row.r.secret;
    });
  }

  /**
   * Publishes `count` events to `endpoint` only; returns their message ids, in order (none for
   * a disabled endpoint). With `hold`, their jobs are due only in a day (in the same
   * transaction: the worker never sees them due) until the test releases them.
   */
  async publish(
    endpoint: TestEndpoint,
    count = 1,
    opts: { hold?: boolean } = {},
  ): Promise<string[]> {
    const events = Array.from({ length: count }, (_, i) => `evt_${crypto.randomUUID()}_${i}`);
    const rows = await this.sql.begin(async (tx) => {
      await tx`
        select webhooks_internal.publish('ticket.overdue',
          jsonb_build_object('ticket', jsonb_build_object('id', n, 'title', 'Compressor oil leak'),
                             'overdue_by_seconds', 3600),
          e, 'ticket:' || n, ${endpoint.id}::uuid)
        from unnest(${events}::text[]) with ordinality as t(e, n)`;
      if (opts.hold) {
        await tx`update jobs.jobs j set run_at = now() + interval '1 day'
          from public.webhook_messages m where m.event_id = any(${events}) and j.id = m.job_id`;
      }
      return await tx<{ id: string; event_id: string }[]>`
        select id, event_id from public.webhook_messages where event_id = any(${events})`;
    });
    const byEvent = new Map(rows.map((r) => [r.event_id, r.id]));
    return events.flatMap((e) => byEvent.get(e) ?? []);
  }

  /** Makes the held job of a message due now and wakes the worker. */
  async release(messageId: string): Promise<void> {
    await this.sql`update jobs.jobs j set run_at = now()
      from public.webhook_messages m where m.id = ${messageId} and j.id = m.job_id`;
    await this.tick();
  }

  async message(id: string): Promise<MessageRow> {
    const [row] = await this.sql<MessageRow[]>`
      select id, status, attempts, failure_reason, job_id::text, payload
      from public.webhook_messages where id = ${id}`;
    return row;
  }

  async attempts(id: string): Promise<AttemptRow[]> {
    return await this.sql<AttemptRow[]>`
      select attempt, started_at, response_status, outcome, next_attempt_at, error,
             response_excerpt,
             round(extract(epoch from next_attempt_at - started_at))::int as delay
      from public.webhook_attempts where message_id = ${id} order by attempt`;
  }

  async job(messageId: string): Promise<JobRow> {
    const [row] = await this.sql<JobRow[]>`
      select j.id::text, j.state, j.attempts, j.run_at, j.last_error, j.result,
             extract(epoch from j.run_at - now())::float8 as due_in
      from jobs.jobs j join public.webhook_messages m on m.job_id = j.id
      where m.id = ${messageId}`;
    return row;
  }

  async endpointRow(id: string) {
    const [row] = await this.sql`
      select enabled, disabled_at, disabled_reason, failing_since
      from public.webhook_endpoints where id = ${id}`;
    return row;
  }

  /** What pg_cron's drain does: wakes the worker when a job is claimable. */
  async tick(): Promise<void> {
    await this.sql`select jobs.drain(${QUEUES.webhooks.name})`;
  }

  /** Makes the message's job due now (time travel for the job core) and wakes the worker. */
  async fastForward(messageId: string): Promise<void> {
    await this.sql`update jobs.jobs j set run_at = now()
      from public.webhook_messages m
      where m.id = ${messageId} and j.id = m.job_id and j.state = 'retrying'`;
    await this.tick();
  }

  /** Waits until `probe` holds, ticking the cron drain meanwhile. */
  until<T>(probe: () => Promise<T | undefined | null | false>, opts: WaitOptions): Promise<T> {
    return waitFor(async () => {
      await this.tick();
      return await probe();
    }, { timeoutMs: 20_000, intervalMs: 100, ...opts });
  }

  /** Waits until the message has `status`. */
  untilStatus(id: string, status: string, opts: WaitOptions = {}): Promise<MessageRow> {
    return this.until(async () => {
      const row = await this.message(id);
      return row?.status === status ? row : undefined;
    }, { what: `message ${id} to be ${status}`, ...opts });
  }

  /** Waits until the message's job is in `state` (its outcome reported). */
  untilJob(id: string, state: string, opts: WaitOptions = {}): Promise<JobRow> {
    return this.until(async () => {
      const row = await this.job(id);
      return row.state === state ? row : undefined;
    }, { what: `the job of message ${id} to be ${state}`, ...opts });
  }

  /** Waits until the message has `n` attempts recorded and its job has reported the last. */
  untilAttempts(id: string, n: number, opts: WaitOptions = {}): Promise<AttemptRow[]> {
    return this.until(async () => {
      const rows = await this.attempts(id);
      if (rows.length < n) return undefined;
      const job = await this.job(id);
      return job.state !== "running" ? rows : undefined;
    }, { what: `${n} attempts of message ${id}`, ...opts });
  }

  async done(): Promise<void> {
    try {
      await receiver.faults.clear();
      const ids = this.endpoints.map((e) => e.id);
      await this.sql`delete from public.webhook_endpoints where id = any(${ids}::uuid[])`;
      for (const e of this.endpoints) await receiver.setSecrets(e.name, []);
    } finally {
      await this.sql.end();
    }
  }
}

/** Runs `fn` with a fresh {@link WebhooksTest}, cleaned up after. */
async function withWebhooks(fn: (t: WebhooksTest) => Promise<void>): Promise<void> {
  const t = new WebhooksTest();
  try {
    await fn(t);
  } finally {
    await t.done();
  }
}

Deno.test("a published event is delivered, signed, and the receiver verifies it with the endpoint's secret", async () => {
  await withWebhooks(async (t) => {
    const endpoint = await t.endpoint();
    const [id] = await t.publish(endpoint);
    const message = await t.untilStatus(id, "delivered", { timeoutMs: 30_000 });
    assertMatch(id, /^msg_[0-9a-f]{32}$/);
    assertEquals(message.attempts, 1);

    const [delivery, ...others] = await receiver.list({ endpoint: endpoint.name });
    assertEquals(others.length, 0);
    assertEquals([delivery.verified, delivery.secret_index, delivery.duplicate], [true, 0, false]);
    assertEquals(delivery.webhook_id, id);
    assertEquals(delivery.json, message.payload);
    assertEquals(delivery.event_type, "ticket.overdue");
    assertEquals(delivery.headers["content-type"], "application/json");
    assertMatch(delivery.headers["user-agent"], /webhooks/);
    assertMatch(delivery.webhook_signature!, /^v1,[A-Za-z0-9+/]+=*$/);
    const sentAt = Number(delivery.webhook_timestamp) * 1000;
    assert(Math.abs(sentAt - Date.parse(delivery.created_at)) < 5_000, "timestamp of the attempt");

    const [attempt] = await t.attempts(id);
    assertEquals([attempt.attempt, attempt.outcome, attempt.response_status], [
      1,
      "delivered",
      200,
    ]);
    assertMatch(attempt.response_excerpt!, /"received":\s*true/);
    // The job ends once its outcome is reported, just after the message is recorded.
    const job = await t.untilJob(id, "succeeded");
    assertEquals(job.attempts, 1);
    assertEquals(job.result, {
      message_id: id,
      outcome: "delivered",
      attempt: 1,
      status: 200,
      duration_ms: (job.result as { duration_ms: number }).duration_ms,
    });
    assertEquals((await t.endpointRow(endpoint.id)).failing_since, null);
  });
});

Deno.test("the retry schedule, with SQL's frozen clock: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then failed", async () => {
  await withWebhooks(async (t) => {
    const endpoint = await t.endpoint();
    // A message whose job the worker does not run: the test calls the engine's SQL itself.
    const [id] = await t.publish(endpoint, 1, { hold: true });
    const frozen = new Date("2026-12-01T08:00:00.000Z");
    const outcomes = [];
    for (let n = 1; n <= 8; n++) {
      const [start] = await t.sql<{ r: { action: string; attempt: number }[] }[]>`
        select public.webhook_deliveries_start(array[${id}], ${frozen}) as r`;
      assertEquals([start.r[0].action, start.r[0].attempt], ["send", n]);
      const [row] = await t.sql<{ r: { outcome: string; retry_after_seconds: number }[] }[]>`
        select public.webhook_deliveries_record(${
        t.sql.json([{
          message_id: id,
          job_id: null,
          job_attempt: n,
          attempt: n,
          started_at: frozen.toISOString(),
          duration_ms: 12,
          status: 500,
          response_excerpt: "boom",
          error: null,
          retry_after_seconds: null,
        }])
      }, ${frozen}) as r`;
      outcomes.push([row.r[0].outcome, row.r[0].retry_after_seconds]);
    }
    assertEquals(outcomes, [...SCHEDULE.map((s) => ["retry", s]), ["failed", null]]);
    const attempts = await t.attempts(id);
    assertEquals(attempts.map((a) => a.delay), [...SCHEDULE, null]);
    const message = await t.message(id);
    assertEquals([message.status, message.attempts], ["failed", 8]);
    assertMatch(message.failure_reason!, /^Failed after 8 attempts; last: .*500/);
  });
});

Deno.test("the worker retries on the schedule: jobs.run_at follows SQL's delays until the 8th attempt fails the message", async () => {
  await withWebhooks(async (t) => {
    const endpoint = await t.endpoint();
    await receiver.faults.add({
      action: "status",
      status: 500,
      fraction: 1,
      path: `/hooks/${endpoint.name}`,
    });
    const [id] = await t.publish(endpoint);
    for (let n = 1; n <= 8; n++) {
      const attempts = await t.untilAttempts(id, n, { timeoutMs: 30_000 });
      const last = attempts[n - 1];
      assertEquals([last.attempt, last.response_status], [n, 500]);
      const job = await t.job(id);
      if (n < 8) {
        assertEquals([last.outcome, last.delay], ["retry", SCHEDULE[n - 1]]);
        assertEquals([job.state, job.attempts], ["retrying", n]);
        // The job core waits what SQL said (measured from now, so within a few seconds).
        if (n > 1) {
          assert(
            Math.abs(job.due_in - SCHEDULE[n - 1]) < 5,
            `attempt ${n}: due in ${job.due_in} s, expected about ${SCHEDULE[n - 1]} s`,
          );
        }
        await t.fastForward(id);
      } else {
        assertEquals([last.outcome, last.next_attempt_at], ["failed", null]);
        assertEquals(job.state, "dead");
        assertMatch(job.last_error!, new RegExp(`PermanentJobError.*message ${id}`));
        assertMatch(job.last_error!, new RegExp(`endpoint ${endpoint.id}, attempt 8`));
      }
    }
    assertEquals((await t.message(id)).status, "failed");
    assertEquals((await receiver.list({ endpoint: endpoint.name })).length, 0);
  });
});

Deno.test("Retry-After is honoured: 429 waits without using an attempt, 503 waits and counts", async () => {
  await withWebhooks(async (t) => {
    const endpoint = await t.endpoint();
    const path = `/hooks/${endpoint.name}`;
    await receiver.faults.add({ action: "status", status: 429, retry_after: 40, path });
    const [throttled] = await t.publish(endpoint);
    const [first] = await t.untilAttempts(throttled, 1);
    assertEquals([first.response_status, first.outcome, first.delay], [429, "throttled", 40]);
    const job = await t.job(throttled);
    assertEquals([job.state, job.attempts], ["retrying", 0], "a throttled attempt is given back");
    assert(Math.abs(job.due_in - 40) < 5, `due in ${job.due_in} s`);
    await t.fastForward(throttled);
    await t.untilStatus(throttled, "delivered");

    await receiver.faults.add({ action: "status", status: 503, retry_after: 120, path });
    const [busy] = await t.publish(endpoint);
    const [answer] = await t.untilAttempts(busy, 1);
    assertEquals([answer.response_status, answer.outcome, answer.delay], [503, "retry", 120]);
    const busyJob = await t.job(busy);
    assertEquals([busyJob.state, busyJob.attempts], ["retrying", 1]);
    assert(Math.abs(busyJob.due_in - 120) < 5, `due in ${busyJob.due_in} s`);
    await t.fastForward(busy);
    const delivered = await t.untilStatus(busy, "delivered");
    assertEquals(delivered.attempts, 2);
  });
});

Deno.test("410 Gone disables the endpoint at once, with the reason; its next messages are not sent", async () => {
  await withWebhooks(async (t) => {
    const endpoint = await t.endpoint();
    await receiver.faults.add({ action: "status", status: 410, path: `/hooks/${endpoint.name}` });
    const [id] = await t.publish(endpoint);
    const message = await t.untilStatus(id, "failed");
    assertMatch(message.failure_reason!, /Answered 410 Gone at \S+ to msg_/);
    const row = await t.endpointRow(endpoint.id);
    assertEquals(row.enabled, false);
    assertMatch(row.disabled_reason, new RegExp(`^Answered 410 Gone at \\S+ to ${id}$`));
    assertEquals((await t.attempts(id)).map((a) => a.outcome), ["endpoint_disabled"]);
    assertMatch(
      (await t.untilJob(id, "dead")).last_error!,
      /PermanentJobError: Webhook endpoint disabled \(HTTP 410\)/,
    );
    // A disabled endpoint gets no new messages.
    assertEquals(await t.publish(endpoint), []);
    assertEquals((await receiver.list({ endpoint: endpoint.name })).length, 0);
  });
});

Deno.test("a message whose endpoint was disabled before its turn is skipped: the message fails with the reason, the job ends", async () => {
  await withWebhooks(async (t) => {
    const endpoint = await t.endpoint();
    // Published while enabled, disabled before the worker's turn.
    const [id] = await t.publish(endpoint, 1, { hold: true });
    await t.sql`update public.webhook_endpoints
      set enabled = false, disabled_at = now(), disabled_reason = 'Paused by the test'
      where id = ${endpoint.id}`;
    await t.release(id);
    const message = await t.untilStatus(id, "failed");
    assertEquals(message.failure_reason, "endpoint disabled: Paused by the test");
    const job = await t.untilJob(id, "succeeded");
    assertEquals(job.result, {
      message_id: id,
      outcome: "skipped",
      reason: "endpoint disabled: Paused by the test",
    });
    assertEquals((await t.attempts(id)).length, 0);
    assertEquals((await receiver.list({ endpoint: endpoint.name })).length, 0);
  });
});

Deno.test("an endpoint failing every attempt for 5 days is disabled by its next failure, with the reason", async () => {
  await withWebhooks(async (t) => {
    const endpoint = await t.endpoint();
    await receiver.faults.add({
      action: "status",
      status: 500,
      fraction: 1,
      path: `/hooks/${endpoint.name}`,
    });
    await t.sql`update public.webhook_endpoints
      set failing_since = now() - interval '5 days' - interval '1 minute'
      where id = ${endpoint.id}`;
    const [id] = await t.publish(endpoint);
    const message = await t.untilStatus(id, "failed");
    assertMatch(message.failure_reason!, /^endpoint disabled: Every attempt failed for 5 days/);
    const row = await t.endpointRow(endpoint.id);
    assertEquals(row.enabled, false);
    assertMatch(row.disabled_reason, /^Every attempt failed for 5 days \(since \S+\); last: .*500/);
    const [health] = await t.sql`select enabled, disabled_reason, last_failure_status
      from public.webhook_endpoint_health where endpoint_id = ${endpoint.id}`;
    assertEquals([health.enabled, health.last_failure_status], [false, 500]);
    assertEquals((await t.attempts(id)).map((a) => a.outcome), ["endpoint_disabled"]);
  });
});

Deno.test("during a secret rotation a receiver holding only the new secret verifies, and one holding only the old one too", async () => {
  await withWebhooks(async (t) => {
    const endpoint = await t.endpoint();
    const fresh = await t.rotate(endpoint);
    assert(fresh !== endpoint.secret, "a new secret");

    await receiver.setSecrets(endpoint.name, [fresh]);
    const [first] = await t.publish(endpoint);
    await t.untilStatus(first, "delivered");
    await receiver.setSecrets(endpoint.name, [endpoint.secret]);
    const [second] = await t.publish(endpoint);
    await t.untilStatus(second, "delivered");

    const deliveries = (await receiver.list({ endpoint: endpoint.name })).reverse();
    assertEquals(deliveries.map((d) => [d.webhook_id, d.verified]), [[first, true], [
      second,
      true,
    ]]);
    for (const d of deliveries) assertMatch(d.webhook_signature!, /^v1,\S+ v1,\S+$/);

    // Once the old secret has expired, only the new one signs.
    await t.sql`update public.webhook_endpoints set previous_secret_expires_at = now()
      where id = ${endpoint.id}`;
    const [third] = await t.publish(endpoint);
    await t.untilStatus(third, "delivered");
    const [last] = await receiver.list({ endpoint: endpoint.name, webhook_id: third });
    assertEquals(last.verified, false, "the receiver still holds only the old secret");
    assertMatch(last.webhook_signature!, /^v1,\S+$/);
  });
});

Deno.test("the per-endpoint rate limit spreads deliveries out, and every message arrives", async () => {
  await withWebhooks(async (t) => {
    const endpoint = await t.endpoint({ rate: 2 });
    const ids = await t.publish(endpoint, 6);
    await t.until(async () => {
      const [row] = await t.sql<{ n: number }[]>`
        select count(*)::int as n from public.webhook_messages
        where id = any(${ids}) and status = 'delivered'`;
      return row.n === 6;
    }, { what: "6 rate-limited deliveries", timeoutMs: 20_000 });
    const times = (await receiver.list({ endpoint: endpoint.name }))
      .map((d) => Date.parse(d.created_at)).sort((a, b) => a - b);
    assertEquals(times.length, 6);
    // 2 per second with a bucket of 2: the last goes at least 2 s after the first.
    const spread = times[5] - times[0];
    assert(spread >= 1_800, `6 deliveries at 2/s took ${spread} ms`);
    const attempts = await t.sql<{ n: number }[]>`
      select count(*)::int as n from public.webhook_attempts where message_id = any(${ids})`;
    assertEquals(attempts[0].n, 6, "waiting for the rate limit is not an attempt");
  });
});

Deno.test("a hanging endpoint does not delay a healthy one", async () => {
  await withWebhooks(async (t) => {
    const dead = await t.endpoint();
    const healthy = await t.endpoint();
    await receiver.faults.add({ action: "hang", fraction: 1, path: `/hooks/${dead.name}` });
    const stuck = await t.publish(dead, 20);
    await t.until(async () => (await receiver.stats()).requests_in_flight >= 10, {
      what: "the hanging endpoint's deliveries to be in flight",
    });
    const started = performance.now();
    const fine = await t.publish(healthy, 20);
    await t.until(async () => {
      const [row] = await t.sql<{ n: number }[]>`
        select count(*)::int as n from public.webhook_messages
        where id = any(${fine}) and status = 'delivered'`;
      return row.n === 20;
    }, { what: "the healthy endpoint's 20 deliveries", timeoutMs: 10_000 });
    const took = performance.now() - started;
    // The hanging ones are still in flight (they time out only after 15 s).
    const [pending] = await t.sql<{ pending: number; running: number }[]>`
      select count(*) filter (where m.status = 'pending')::int as pending,
             count(*) filter (where j.state = 'running')::int as running
      from public.webhook_messages m join jobs.jobs j on j.id = m.job_id
      where m.id = any(${stuck})`;
    assertEquals(pending.pending, 20);
    assert(pending.running >= 10, `${pending.running} hanging deliveries running`);
    assert(took < 5_000, `the healthy endpoint's deliveries took ${took} ms`);
    const verified = await receiver.list({ endpoint: healthy.name, verified: "true" });
    assertEquals(verified.length, 20);
  });
});
