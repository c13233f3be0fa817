/**
 * WhatsApp provisioning end to end on the real local platform: a sign-up (an insert into
 * `auth.users`, whose profile trigger records the request and enqueues a job) wakes
 * `process-evolution-queue`, which creates the user's instance on the Evolution stand-in with its
 * webhook and stores it with its first QR code. Also: 5xx, timeouts and hangs retry and end with
 * one instance; a creation whose answer was lost is adopted on the retry instead of created
 * twice; a name held by someone else's instance, and a refused API key, fail for good and show in
 * the queue row; the operators' repair statement makes a failed entry run again.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import {
  credentialsOf,
  evolution,
  EVOLUTION_TIMEOUT_MS,
  instanceRow,
  jobOf,
  queueRow,
  signUp,
  startWhatsAppTest,
  WEBHOOK_URL,
} from "../_support/whatsapp.ts";

/** The stand-in's instances named `name` (at most one unless something created it twice). */
async function onStandIn(name: string) {
  return (await evolution.instances()).filter((i) => i.name === name);
}

Deno.test("a sign-up gets its Evolution instance, with its webhook and first QR code, within seconds", async () => {
  const t = await startWhatsAppTest();
  try {
    const started = performance.now();
    const user = await t.signUp("Ada Lovelace");
    const instance = await t.waitForInstance(user.id, (row) => row.qr_code !== null, {
      timeoutMs: 5_000,
    });
    const elapsed = performance.now() - started;
    assert(elapsed < 5_000, `provisioned in ${elapsed} ms`);

    const creds = await credentialsOf(t.sql, user.id);
    assertEquals(instance.instance_name, creds.instance_name);
    assertEquals(instance.instance_token, creds.instance_token);
    assertEquals([instance.status, instance.webhook_url], ["created", WEBHOOK_URL]);
    assert(instance.webhook_configured_at !== null, "webhook_configured_at is set");
    assertMatch(instance.qr_code!, /^data:image\/png;base64,/);
    assert(instance.last_qr_update !== null);

    const queue = await queueRow(t.sql, user.id);
    assertEquals([queue?.status, queue?.error_message], ["completed", null]);
    assert(queue?.processed_at, "processed_at is set");
    const job = await jobOf(t.sql, user.id);
    assertEquals([job?.state, job?.attempts, job?.result.outcome], ["succeeded", 1, "created"]);

    const [remote, ...others] = await onStandIn(creds.instance_name);
    assertEquals(others.length, 0);
    assertEquals(remote.token, creds.instance_token);
    assertEquals(remote.integration, "WHATSAPP-BAILEYS");
    assertEquals(remote.webhook?.url, WEBHOOK_URL);
    assertEquals(remote.webhook?.headers, { "x-evolution-secret": creds.webhook_secret });
    for (const event of ["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT"]) {
      assert(remote.webhook?.events.includes(event), `${event} is subscribed`);
    }
  } finally {
    await t.done();
  }
});

Deno.test("5xx answers, timeouts and hangs are retried and end with one instance", async () => {
  const t = await startWhatsAppTest();
  try {
    const path = "/instance/create";
    await evolution.faults.add({ action: "status", status: 500, count: 1, path });
    await evolution.faults.add({ action: "hang", count: 1, path });
    await evolution.faults.add({ action: "status", status: 503, count: 1, path });
    const user = await t.signUp();
    await t.waitForInstance(user.id, () => true, { timeoutMs: 20_000 });
    const job = await jobOf(t.sql, user.id);
    assertEquals([job?.state, job?.attempts], ["succeeded", 4]);
    const queue = await queueRow(t.sql, user.id);
    assertEquals(queue?.status, "completed");
    const creds = await credentialsOf(t.sql, user.id);
    assertEquals((await onStandIn(creds.instance_name)).length, 1);
    // Every fault was used: the retries went through them.
    assertEquals((await evolution.faults.list()).every((f) => f.faulted === 1), true);
  } finally {
    await t.done();
  }
});

Deno.test("a creation whose answer was lost is adopted on the retry, not created twice", async () => {
  const t = await startWhatsAppTest();
  // The retry must come after the slow creation took effect: the test wakes it (no cron tick).
  const paused = await t.sql`update cron.job set active = false
    where jobname = 'process-evolution-queue' returning jobid`;
  try {
    assertEquals(paused.length, 1, "the cron job process-evolution-queue exists");
    await evolution.faults.add({
      action: "delay",
      delay_ms: EVOLUTION_TIMEOUT_MS + 1_000,
      count: 1,
      path: "/instance/create",
    });
    const user = await signUp(t.sql);
    const creds = await credentialsOf(t.sql, user.id);
    const first = await waitFor(async () => {
      const job = await jobOf(t.sql, user.id);
      return job?.state === "retrying" ? job : undefined;
    }, { timeoutMs: EVOLUTION_TIMEOUT_MS + 5_000, what: "the first attempt to time out" });
    assertEquals(first.attempts, 1);
    assertMatch(first.last_error, /RetryLaterError/);
    // The creation went through on Evolution after the worker gave up on its answer.
    await waitFor(async () => (await onStandIn(creds.instance_name)).length === 1, {
      timeoutMs: 5_000,
      what: "the delayed creation on the stand-in",
    });

    const instance = await t.waitForInstance(user.id);
    const job = await jobOf(t.sql, user.id);
    assertEquals([job?.state, job?.attempts, job?.result.outcome], ["succeeded", 2, "adopted"]);
    assertEquals(instance.instance_token, creds.instance_token);
    const remote = await onStandIn(creds.instance_name);
    assertEquals(remote.length, 1);
    assertEquals(remote[0].id, instance.instance_id);
    assertEquals(remote[0].webhook?.headers, { "x-evolution-secret": creds.webhook_secret });
  } finally {
    await t.sql`update cron.job set active = true where jobname = 'process-evolution-queue'`;
    await t.done();
  }
});

Deno.test("a name held by another token's instance fails for good, with the reason in the queue row", async () => {
  const t = await startWhatsAppTest();
  try {
    // Someone else's instance under the name SQL derives for this user.
    const userId = crypto.randomUUID();
    const name = `user_${userId.replaceAll("-", "")}`;
    const res = await fetch(`${Deno.env.get("EVOLUTION_API_BASE_URL")}/instance/create`, {
      method: "POST",
      headers: { apikey: Deno.env.get("EVOLUTION_API_KEY")!, "content-type": "application/json" },
      body: JSON.stringify({
        instanceName: name,
        token: "someone-elses-token",
        integration: "WHATSAPP-BAILEYS",
      }),
    });
    assertEquals(res.status, 201, await res.text());

    await t.sql`insert into auth.users (id, email, raw_user_meta_data)
      values (${userId}, ${`wa-${userId}@example.test`}, ${t.sql.json({ full_name: "Eve" })})`;
    const queue = await t.waitForQueue(userId, "failed");
    assertMatch(queue.error_message!, /already in use/);
    assertMatch(queue.error_message!, /not this user's/);
    assertMatch(queue.error_message!, new RegExp(userId));
    const job = await jobOf(t.sql, userId);
    assertEquals([job?.state, job?.attempts], ["dead", 1]);
    assertEquals(await instanceRow(t.sql, userId), undefined);
    const remote = await onStandIn(name);
    assertEquals(remote.map((i) => i.token), ["someone-elses-token"]);
  } finally {
    await t.done();
  }
});

Deno.test("a refused API key (401) fails for good and visibly; the operators' reset runs it again", async () => {
  const t = await startWhatsAppTest();
  try {
    await evolution.faults.add({
      action: "status",
      status: 401,
      count: 1,
      path: "/instance/create",
    });
    const user = await t.signUp();
    const queue = await t.waitForQueue(user.id, "failed");
    assertMatch(queue.error_message!, /401/);
    const job = await jobOf(t.sql, user.id);
    assertEquals([job?.state, job?.attempts], ["dead", 1]);
    assertEquals(await instanceRow(t.sql, user.id), undefined);

    // The seeds' repair statement (reset one user's retries) makes the entry run again.
    await t.sql`update public.evolution_instance_creation_queue
      set status = 'pending', retry_count = 0, error_message = null
      where user_id = ${user.id}`;
    await t.waitForInstance(user.id);
    assertEquals((await queueRow(t.sql, user.id))?.status, "completed");
    const creds = await credentialsOf(t.sql, user.id);
    assertEquals((await onStandIn(creds.instance_name)).length, 1);
  } finally {
    await t.done();
  }
});
