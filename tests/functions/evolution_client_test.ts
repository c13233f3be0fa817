/**
 * The Evolution API client against the local Evolution stand-in, started in-process on a free
 * port: every call of the contract, what its answers become, and how each failure is classified
 * for the job core (a name in use, a number without WhatsApp, 401, 429, 5xx, a hang), with the
 * call, the instance and the status in the message. Also the provider's settings.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
} from "../_support/assert.ts";
import {
  PermanentJobError,
  RetryLaterError,
  ThrottledError,
} from "../../supabase/functions/_shared/jobs/errors.ts";
import {
  EvolutionClient,
  type EvolutionConfig,
  evolutionConfig,
  NameInUseError,
  NotOnWhatsAppError,
  type WebhookConfig,
} from "../../supabase/functions/_shared/providers/whatsapp/evolution_client.ts";
import { evolutionControl } from "../../scripts/platform/stand_ins/evolution/control.ts";
import { startEvolutionStandIn } from "../../scripts/platform/stand_ins/evolution/server.ts";

const KEY = "evolution_test_client_key";

interface Ctx {
  client: EvolutionClient;
  control: ReturnType<typeof evolutionControl>;
  config: EvolutionConfig;
  /** A fresh instance name of this test. */
  name: () => string;
}

const WEBHOOK: WebhookConfig = {
  url: "http://127.0.0.1:9/functions/v1/evolution-webhook",
  headers: { "x-evolution-secret": "s3cret" },
  events: ["QRCODE_UPDATED", "CONNECTION_UPDATE", "SEND_MESSAGE"],
};

/** Runs `fn` against a fresh stand-in (fast QR rotation) with a client of timeout `timeoutMs`. */
async function withClient(fn: (ctx: Ctx) => Promise<void>, timeoutMs = 2_000) {
  const standIn = await startEvolutionStandIn({
    port: 0,
    apiKey: KEY,
    behaviour: { webhookMaxAttempts: 1 },
    log: () => {},
  });
  const config: EvolutionConfig = {
    baseUrl: standIn.url,
    apiKey: KEY,
    timeoutMs,
    sendRate: 1000,
    webhookUrl: WEBHOOK.url,
  };
  let n = 0;
  try {
    await fn({
      client: new EvolutionClient(config),
      control: evolutionControl(standIn.url),
      config,
      name: () => `user_test${++n}`,
    });
  } finally {
    await standIn.stop();
  }
}

/** Creates an instance and scans its code: an open instance, ready to send. */
async function openInstance(ctx: Ctx): Promise<string> {
  const name = ctx.name();
  await ctx.client.createInstance({ instanceName: name, token: `tok-${name}`, webhook: WEBHOOK });
  await ctx.control.scan(name);
  assertEquals(await ctx.client.connectionState(name), { state: "open" });
  return name;
}

Deno.test("evolutionConfig() reads the environment and defaults the webhook URL to our function", () => {
  const config = evolutionConfig({
    EVOLUTION_API_BASE_URL: "http://127.0.0.1:8080/",
    EVOLUTION_API_KEY: "k",
    SUPABASE_URL: "http://127.0.0.1:54321",
  });
  assertEquals(config, {
    baseUrl: "http://127.0.0.1:8080",
    apiKey: "k",
    timeoutMs: 10_000,
    sendRate: 5,
    webhookUrl: "http://127.0.0.1:54321/functions/v1/evolution-webhook",
  });
  const own = evolutionConfig({
    EVOLUTION_API_BASE_URL: "http://127.0.0.1:8080",
    EVOLUTION_API_KEY: "k",
    EVOLUTION_TIMEOUT_MS: "2000",
    EVOLUTION_SEND_RATE: "2",
    EVOLUTION_WEBHOOK_URL: "https://hooks.example.com/wa",
  });
  assertEquals([own.timeoutMs, own.sendRate, own.webhookUrl], [
    2000,
    2,
    "https://hooks.example.com/wa",
  ]);
});

Deno.test("evolutionConfig() names every missing variable", () => {
  let message = "";
  try {
    evolutionConfig({ EVOLUTION_TIMEOUT_MS: "soon" });
  } catch (error) {
    message = (error as Error).message;
  }
  assertMatch(message, /^WhatsApp is not configured: /);
  for (const name of ["EVOLUTION_API_BASE_URL", "EVOLUTION_API_KEY", "EVOLUTION_TIMEOUT_MS"]) {
    assert(message.includes(name), `${name} is named in: ${message}`);
  }
  assertMatch(message, /EVOLUTION_WEBHOOK_URL or SUPABASE_URL is not set/);
});

Deno.test("createInstance() creates the instance with our token, its webhook and a first QR code", async () => {
  await withClient(async (ctx) => {
    const name = ctx.name();
    const created = await ctx.client.createInstance({
      instanceName: name,
      token: "our-token-1",
      webhook: WEBHOOK,
    });
    assertEquals(created.instanceName, name);
    assertEquals(created.token, "our-token-1");
    assertEquals(created.status, "connecting");
    assert(created.instanceId.length > 0, "Evolution's id is kept");
    assert(created.qr, "the first QR code comes with the answer");
    assertMatch(created.qr.base64, /^data:image\/png;base64,/);
    assert(created.qr.code.length > 0, "the code's text");
    assertEquals(created.qr.count, 1);

    const found = await ctx.client.fetchInstance(name);
    assertEquals(found, {
      instanceName: name,
      instanceId: created.instanceId,
      token: "our-token-1",
      connectionStatus: "connecting",
    });
    // The client adds byEvents false, base64 true and enabled true.
    assertEquals(await ctx.client.findWebhook(name), { ...WEBHOOK, enabled: true });
    assertEquals(await ctx.client.fetchInstance("user_nobody"), null);
  });
});

Deno.test("a name in use is a NameInUseError that carries the name; a bad key is permanent", async () => {
  await withClient(async (ctx) => {
    const name = ctx.name();
    await ctx.client.createInstance({ instanceName: name, token: "t1", webhook: WEBHOOK });
    const taken = await assertRejects(() =>
      ctx.client.createInstance({ instanceName: name, token: "t1", webhook: WEBHOOK })
    );
    assertInstanceOf(taken, NameInUseError);
    assertInstanceOf(taken, PermanentJobError);
    assertEquals(taken.instanceName, name);
    assertMatch(
      taken.message,
      new RegExp(`POST /instance/create for instance ${name} answered 403`),
    );

    const stranger = new EvolutionClient({ ...ctx.config, apiKey: "not-the-key" });
    const refused = await assertRejects(() =>
      stranger.createInstance({ instanceName: ctx.name(), token: "t2", webhook: WEBHOOK })
    );
    assertInstanceOf(refused, PermanentJobError);
    assert(!(refused instanceof NameInUseError), "a 401 is not a name in use");
    assertMatch(refused.message, /answered 401/);
  });
});

Deno.test("connect() answers the current code while connecting, and the state once open", async () => {
  await withClient(async (ctx) => {
    const name = ctx.name();
    await ctx.client.createInstance({ instanceName: name, token: "t", webhook: WEBHOOK });
    const connecting = await ctx.client.connect(name);
    assert("qr" in connecting, "a QR code while connecting");
    assertMatch(connecting.qr.base64, /^data:image\/png;base64,/);
    assertEquals(await ctx.client.connectionState(name), { state: "connecting" });

    await ctx.control.scan(name);
    assertEquals(await ctx.client.connect(name), { state: "open" });
    assertEquals(await ctx.client.connectionState(name), { state: "open" });
  });
});

Deno.test("setWebhook() replaces the webhook; findWebhook() reads it back", async () => {
  await withClient(async (ctx) => {
    const name = ctx.name();
    await ctx.client.createInstance({ instanceName: name, token: "t", webhook: WEBHOOK });
    const next: WebhookConfig = {
      url: "https://hooks.example.com/evolution",
      headers: { "x-evolution-secret": "another" },
      events: ["MESSAGES_UPSERT"],
    };
    assertEquals(await ctx.client.setWebhook(name, next), { ...next, enabled: true });
    assertEquals(await ctx.client.findWebhook(name), { ...next, enabled: true });
  });
});

Deno.test("logout() closes an open instance; deleteInstance() removes it, then says it was absent", async () => {
  await withClient(async (ctx) => {
    const name = await openInstance(ctx);
    await ctx.client.logout(name);
    assertEquals(await ctx.client.connectionState(name), { state: "close" });
    const again = await assertRejects(() => ctx.client.logout(name));
    assertInstanceOf(again, PermanentJobError);
    assertMatch(again.message, /DELETE \/instance\/logout for instance .* answered 400/);

    assertEquals(await ctx.client.deleteInstance(name), true);
    assertEquals(await ctx.client.fetchInstance(name), null);
    assertEquals(await ctx.client.deleteInstance(name), false);
  });
});

Deno.test("sendText() answers Evolution's message id; a number without WhatsApp is NotOnWhatsAppError", async () => {
  await withClient(async (ctx) => {
    const name = await openInstance(ctx);
    const { messageId } = await ctx.client.sendText(name, { number: "33612345678", text: "Hi" });
    const sent = await ctx.control.sentMessages(name);
    assertEquals(sent.length, 1);
    assertEquals(sent[0].id, messageId);

    const error = await assertRejects(() =>
      ctx.client.sendText(name, { number: "33600000000", text: "Hi" })
    );
    assertInstanceOf(error, NotOnWhatsAppError);
    assertInstanceOf(error, PermanentJobError);
    assertEquals(error.number, "33600000000");
    assertMatch(error.message, /POST \/message\/sendText for instance .* answered 400/);
    assertEquals((await ctx.control.sentMessages(name)).length, 1, "nothing else went");
  });
});

Deno.test("a 429 is a ThrottledError with retry-after, a 500 a RetryLaterError, both named", async () => {
  await withClient(async (ctx) => {
    const name = await openInstance(ctx);
    await ctx.control.faults.add({ action: "status", status: 429, retry_after: 7 });
    const throttled = await assertRejects(() =>
      ctx.client.sendText(name, { number: "33612345678", text: "Hi" })
    );
    assertInstanceOf(throttled, ThrottledError);
    assertEquals(throttled.retryAfterSeconds, 7);
    assertMatch(throttled.message, new RegExp(`sendText for instance ${name} answered 429`));

    await ctx.control.faults.add({ action: "status", status: 500 });
    const failed = await assertRejects(() => ctx.client.connectionState(name));
    assertInstanceOf(failed, RetryLaterError);
    assert(!(failed instanceof ThrottledError), "a 500 is not throttling");
    assertMatch(failed.message, new RegExp(`connectionState for instance ${name} answered 500`));
  });
});

Deno.test("a call that hangs gives up after the timeout with a RetryLaterError", async () => {
  await withClient(async (ctx) => {
    const name = ctx.name();
    await ctx.control.faults.add({ action: "hang" });
    const started = performance.now();
    const error = await assertRejects(() =>
      ctx.client.createInstance({ instanceName: name, token: "t", webhook: WEBHOOK })
    );
    const elapsed = performance.now() - started;
    assertInstanceOf(error, RetryLaterError);
    assertMatch(
      error.message,
      new RegExp(`POST /instance/create for instance ${name} got no answer within 300 ms`),
    );
    assert(elapsed >= 290 && elapsed < 2_000, `gave up after the timeout (${elapsed} ms)`);
    assertEquals(await ctx.client.fetchInstance(name), null, "a hung call stored nothing");
  }, 300);
});
