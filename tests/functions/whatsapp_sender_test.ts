/**
 * The WhatsApp sender against the local Evolution stand-in (started in-process) and the real
 * journal of sends in Postgres (through the test platform's gateway): a message goes once per
 * key, a lost answer is sent again unless Evolution's `send.message` event shows it went (the
 * at-least-once case), failures come back classified for the job core and are journalled, and
 * each instance is paced under its rate.
 */
import { createClient } from "@supabase/supabase-js";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
} from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import { waitFor } from "../_support/wait.ts";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";
import {
  PermanentJobError,
  RetryLaterError,
  ThrottledError,
} from "../../supabase/functions/_shared/jobs/errors.ts";
import {
  EvolutionClient,
  NotOnWhatsAppError,
  type WebhookConfig,
} from "../../supabase/functions/_shared/providers/whatsapp/evolution_client.ts";
import {
  type OutgoingWhatsApp,
  sqlWhatsAppJournal,
  WhatsAppSender,
  type WhatsAppSenderOptions,
} from "../../supabase/functions/_shared/providers/whatsapp/sender.ts";
import { evolutionControl } from "../../scripts/platform/stand_ins/evolution/control.ts";
import { startEvolutionStandIn } from "../../scripts/platform/stand_ins/evolution/server.ts";

const KEY = "evolution_test_sender_key";
/** The sender's client gives up after this; the delay faults outlast it. */
const TIMEOUT_MS = 1_000;
/** Setting up an instance is no part of what is tested: a slow machine must not fail it. */
const SETUP_TIMEOUT_MS = 30_000;

const WEBHOOK: WebhookConfig = {
  url: "http://127.0.0.1:9/functions/v1/evolution-webhook",
  headers: {},
  events: ["SEND_MESSAGE"],
};

/** A service-role client of the test platform's gateway, as functions have. */
function dbClient() {
  return createClient<Database>(
    Deno.env.get("SUPABASE_URL")!,
    Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!,
    { auth: { persistSession: false, autoRefreshToken: false } },
  );
}

interface Ctx {
  sender: WhatsAppSender;
  control: ReturnType<typeof evolutionControl>;
  /** An open instance of this test. */
  instance: string;
  /** Creates and connects another instance; its name. */
  openAnother: (suffix: string) => Promise<string>;
  /** A message with a key of this test's own (the journal outlives a test). */
  message: (n: number, number?: string) => OutgoingWhatsApp;
  /** The journal's row of a message. */
  row: (key: string) => Promise<JournalRow | undefined>;
  sql: ReturnType<typeof testSql>;
}

interface JournalRow {
  state: string;
  message_id: string | null;
  attempts: number;
  error: string | null;
}

async function withSender(
  fn: (ctx: Ctx) => Promise<void>,
  opts: { rate?: number } & WhatsAppSenderOptions = {},
) {
  const standIn = await startEvolutionStandIn({
    port: 0,
    apiKey: KEY,
    behaviour: { webhookMaxAttempts: 1 },
    log: () => {},
  });
  const sql = testSql();
  const run = crypto.randomUUID().slice(0, 8);
  const config = {
    baseUrl: standIn.url,
    apiKey: KEY,
    timeoutMs: TIMEOUT_MS,
    sendRate: opts.rate ?? 1000,
    webhookUrl: WEBHOOK.url,
  };
  const client = new EvolutionClient(config);
  const setupClient = new EvolutionClient({ ...config, timeoutMs: SETUP_TIMEOUT_MS });
  const control = evolutionControl(standIn.url);
  const instance = `user_sender${run}`;
  const open = async (name: string) => {
    await setupClient.createInstance({ instanceName: name, token: "t", webhook: WEBHOOK });
    await control.scan(name);
    return name;
  };
  try {
    await open(instance);
    await fn({
      sender: new WhatsAppSender(client, sqlWhatsAppJournal(dbClient()), config.sendRate, opts),
      control,
      instance,
      openAnother: (suffix) => open(`${instance}${suffix}`),
      message: (n, number = `3361234${String(n).padStart(4, "5")}`) => ({
        key: `test:${run}:${n}`,
        instance,
        number,
        text: `Message ${n} of run ${run}`,
      }),
      row: async (key) => {
        const [row] = await sql<JournalRow[]>`
          select state, message_id, attempts, error
            from providers_internal.whatsapp_sends where send_key = ${key}`;
        return row;
      },
      sql,
    });
  } finally {
    await standIn.stop();
    await sql.end();
  }
}

Deno.test("a message goes once: a second send with the same key sends nothing", async () => {
  await withSender(async ({ sender, control, instance, message, row }) => {
    const first = await sender.send(message(1));
    assertEquals(first.state, "sent");
    assert(first.messageId, "Evolution's id comes back");
    const again = await sender.send(message(1));
    assertEquals(again, { state: "skipped", messageId: first.messageId });
    const sent = await control.sentMessages(instance);
    assertEquals(sent.length, 1, "one message on the stand-in");
    assertEquals(await row(message(1).key), {
      state: "sent",
      message_id: first.messageId,
      attempts: 1,
      error: null,
    });
  });
});

Deno.test("a lost answer is sent again on retry: the at-least-once case", async () => {
  await withSender(async ({ sender, control, instance, message, row }) => {
    // The stand-in sends the message, but answers after the client has given up.
    await control.faults.add({ action: "delay", delay_ms: TIMEOUT_MS * 3 });
    const lost = await assertRejects(() => sender.send(message(2)));
    assertInstanceOf(lost, RetryLaterError);
    assertMatch(lost.message, /got no answer within/);
    await waitFor(async () => (await control.sentMessages(instance)).length === 1, {
      what: "the delayed message on the stand-in",
    });
    const open = await row(message(2).key);
    assertEquals(open?.state, "sending", "the journal cannot know whether it went");

    const retry = await sender.send(message(2));
    assertEquals(retry.state, "sent");
    assertEquals((await control.sentMessages(instance)).length, 2, "it went twice");
    assertEquals((await row(message(2).key))?.attempts, 2);
  });
});

Deno.test("a hung call sent nothing: the retry sends the message once", async () => {
  await withSender(async ({ sender, control, instance, message, row }) => {
    await control.faults.add({ action: "hang" });
    const lost = await assertRejects(() => sender.send(message(3)));
    assertInstanceOf(lost, RetryLaterError);
    assertEquals((await control.sentMessages(instance)).length, 0);
    await control.faults.clear();

    const retry = await sender.send(message(3));
    assertEquals(retry.state, "sent");
    assertEquals((await control.sentMessages(instance)).length, 1);
    assertEquals((await row(message(3).key))?.state, "sent");
  });
});

Deno.test("a lost answer whose send.message event was stored is not sent again", async () => {
  await withSender(async ({ sender, control, instance, message, row, sql }) => {
    await control.faults.add({ action: "delay", delay_ms: TIMEOUT_MS * 3 });
    assertInstanceOf(await assertRejects(() => sender.send(message(4))), RetryLaterError);
    // The stand-in posts the message's send.message event; what evolution-webhook would store.
    const delivery = await waitFor(
      async () =>
        (await control.webhookDeliveries(instance)).find((d) => d.event === "send.message"),
      {
        what: "the send.message event of the delayed message",
      },
    );
    const raw = JSON.stringify(delivery.body);
    await sql`
      insert into public.evolution_webhook_events (instance_name, event, payload, payload_hash)
      values (${instance}, 'send.message', ${raw}::text::jsonb,
              extensions.digest(${raw}, 'sha256'))`;

    const retry = await sender.send(message(4));
    assertEquals(retry.state, "skipped");
    assertEquals((await control.sentMessages(instance)).length, 1, "it went once");
    assertEquals((await row(message(4).key))?.state, "sent");
  });
});

Deno.test("a 429 is a ThrottledError with retry-after, and pauses the instance", async () => {
  await withSender(async ({ sender, control, instance, message, row }) => {
    await control.faults.add({ action: "status", status: 429, retry_after: 1 });
    const throttled = await assertRejects(() => sender.send(message(5)));
    assertInstanceOf(throttled, ThrottledError);
    assertEquals(throttled.retryAfterSeconds, 1);
    assertEquals((await row(message(5).key))?.state, "sending", "left open for the retry");

    const started = performance.now();
    assertEquals((await sender.send(message(5))).state, "sent");
    const waited = performance.now() - started;
    assert(waited >= 900, `the instance waited for retry-after (${Math.round(waited)} ms)`);
    assertEquals((await control.sentMessages(instance)).length, 1);
  });
});

Deno.test("a pause longer than maxWaitMs fails at once with a ThrottledError", async () => {
  await withSender(async ({ sender, control, message }) => {
    await control.faults.add({ action: "status", status: 429, retry_after: 30 });
    await assertRejects(() => sender.send(message(6)));
    const stats = await control.stats();
    const started = performance.now();
    const error = await assertRejects(() => sender.send(message(7)));
    assertInstanceOf(error, ThrottledError);
    assert((error.retryAfterSeconds ?? 0) > 25, "the rest of the pause");
    assert(performance.now() - started < 500, "no waiting");
    assertEquals(
      (await control.stats()).requests_received,
      stats.requests_received,
      "Evolution was not called",
    );
  }, { maxWaitMs: 1_000 });
});

Deno.test("a 5xx is a RetryLaterError; the journal keeps the send open with the error", async () => {
  await withSender(async ({ sender, control, message, row }) => {
    await control.faults.add({ action: "status", status: 502 });
    const error = await assertRejects(() => sender.send(message(8)));
    assertInstanceOf(error, RetryLaterError);
    assert(!(error instanceof ThrottledError), "a 502 is not throttling");
    const open = await row(message(8).key);
    assertEquals(open?.state, "sending");
    assertMatch(open?.error ?? "", /answered 502/);
    assertEquals((await sender.send(message(8))).state, "sent");
  });
});

Deno.test("a number without WhatsApp is NotOnWhatsAppError; the journal records it failed", async () => {
  await withSender(async ({ sender, control, instance, message, row }) => {
    const refused = await assertRejects(() => sender.send(message(9, "33600000000")));
    assertInstanceOf(refused, NotOnWhatsAppError);
    assertEquals(refused.number, "33600000000");
    const failed = await row(message(9).key);
    assertEquals(failed?.state, "failed");
    assertMatch(failed?.error ?? "", /no WhatsApp account/);

    const stats = await control.stats();
    const again = await assertRejects(() => sender.send(message(9, "33600000000")));
    assertInstanceOf(again, PermanentJobError);
    assertMatch(again.message, /was refused earlier/);
    assertEquals(
      (await control.stats()).requests_received,
      stats.requests_received,
      "Evolution was not called",
    );
    assertEquals((await control.sentMessages(instance)).length, 0);
  });
});

Deno.test("each instance is paced under its rate; its messages go in order", async () => {
  await withSender(async ({ sender, control, instance, openAnother, message }) => {
    const other = await openAnother("b");
    const started = performance.now();
    let otherDone = 0;
    const [results] = await Promise.all([
      Promise.all(Array.from({ length: 6 }, (_, i) => sender.send(message(20 + i)))),
      Promise.all(
        Array.from({ length: 3 }, (_, i) => sender.send({ ...message(30 + i), instance: other })),
      ).then(() => (otherDone = performance.now() - started)),
    ]);
    const elapsed = performance.now() - started;
    assert(results.every((r) => r.state === "sent"), "every message went");
    // 3 per second: the last 3 wait for a second after the answers of the first 3.
    assert(elapsed >= 1_000, `six messages at 3/s took ${Math.round(elapsed)} ms`);
    assert(otherDone < 1_000, `another instance has its own pace (${Math.round(otherDone)} ms)`);
    assertEquals((await control.sentMessages(other)).length, 3);
    const sent = await control.sentMessages(instance);
    // Listed newest first: one at a time per instance, they went in the order sent.
    const texts = sent.map((m) => m.text).reverse();
    assertEquals(texts, Array.from({ length: 6 }, (_, i) => message(20 + i).text));
  }, { rate: 3 });
});
