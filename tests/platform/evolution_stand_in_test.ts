/**
 * The local Evolution API stand-in answers like Evolution API v2 (routes, guards, envelopes,
 * status codes; see /work/notes/evolution_api.md) and behaves like a server with phones behind
 * it: QR codes rotate up to the limit and the instance is refused then closed, a scan connects
 * it, customers write to it, sendText records messages and refuses numbers not on WhatsApp, and
 * webhooks go out with Evolution's body, the configured headers and its retry rules. Most tests
 * start a stand-in of their own on a free port with a local webhook receiver; the last one checks
 * the stand-in the test platform runs.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import {
  type EvolutionControl,
  evolutionControl,
  type InstanceView,
} from "../../scripts/platform/stand_ins/evolution/control.ts";
import {
  type EvolutionStandInOptions,
  startEvolutionStandIn,
} from "../../scripts/platform/stand_ins/evolution/server.ts";

const KEY = "evo_test_global_key";
const EVENTS = [
  "QRCODE_UPDATED",
  "CONNECTION_UPDATE",
  "MESSAGES_UPSERT",
  "SEND_MESSAGE",
  "LOGOUT_INSTANCE",
  "REMOVE_INSTANCE",
];

interface Received {
  headers: Headers;
  body: {
    event: string;
    instance: string;
    data: Record<string, unknown> | null;
    destination: string;
    date_time: string;
    sender?: string;
    server_url: string;
    apikey: string | null;
  };
}

/** A local webhook receiver; `answer` decides each status (200 by default). */
interface Receiver {
  url: string;
  received: Received[];
  answer: (n: number, body: Received["body"]) => number;
  events(name: string): Received[];
}

interface Harness {
  url: string;
  ctl: EvolutionControl;
  hook: Receiver;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<
    Response
  >;
  /** Creates an instance with a webhook to the receiver; answers the 201 body. */
  create(name: string, extra?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** Starts a webhook receiver; `close` stops it. */
function startReceiver(): { hook: Receiver; close(): Promise<void> } {
  const received: Received[] = [];
  const hook: Receiver = {
    url: "",
    received,
    answer: () => 200,
    events: (name) => received.filter((r) => r.body.event === name),
  };
  let count = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    received.push({ headers: req.headers, body });
    return new Response(null, { status: hook.answer(++count, body) });
  });
  hook.url = `http://127.0.0.1:${server.addr.port}/hook`;
  return { hook, close: () => server.shutdown() };
}

/**
 * Runs `fn` against a stand-in of its own and a webhook receiver (`shared`, kept running
 * afterwards, or one of its own).
 */
async function withStandIn(
  opts: Partial<EvolutionStandInOptions>,
  fn: (h: Harness) => Promise<void>,
  shared?: Receiver,
): Promise<void> {
  const receiver = shared ? null : startReceiver();
  const hook = shared ?? receiver!.hook;
  const standIn = await startEvolutionStandIn({ port: 0, apiKey: KEY, log: () => {}, ...opts });
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    fetch(standIn.url + path, {
      method,
      headers: { apikey: KEY, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const harness: Harness = {
    url: standIn.url,
    ctl: evolutionControl(standIn.url),
    hook,
    api,
    async create(name, extra = {}) {
      const res = await api("POST", "/instance/create", {
        instanceName: name,
        token: `token-${name}`,
        integration: "WHATSAPP-BAILEYS",
        qrcode: true,
        webhook: {
          url: hook.url,
          headers: { "x-evolution-secret": `secret-${name}` },
          byEvents: false,
          base64: true,
          events: EVENTS,
        },
        ...extra,
      });
      assertEquals(res.status, 201, await res.clone().text());
      return await res.json();
    },
  };
  try {
    await fn(harness);
  } finally {
    await standIn.stop();
    await receiver?.close();
  }
}

async function errorOf(res: Response): Promise<[number, unknown]> {
  const body = await res.json();
  assertEquals(body.status, res.status, "the envelope repeats the status");
  assert(typeof body.error === "string" && body.error.length > 0, "the envelope names the error");
  return [res.status, body.response.message];
}

Deno.test("instance/create answers 201 with Evolution's body, keeps the token and guards like Evolution", async () => {
  await withStandIn({}, async (h) => {
    const body = { instanceName: "alpha", integration: "WHATSAPP-BAILEYS" };
    assertEquals(
      await errorOf(await h.api("POST", "/instance/create", body, { apikey: "" })),
      [401, "Unauthorized"],
    );
    assertEquals(
      await errorOf(await h.api("POST", "/instance/create", body, { apikey: "wrong" })),
      [401, "Unauthorized"],
    );

    const created = await h.create("alpha");
    const instance = created.instance as Record<string, unknown>;
    assertEquals(instance.instanceName, "alpha");
    assertMatch(String(instance.instanceId), /^[0-9a-f-]{36}$/);
    assertEquals([instance.integration, instance.status], ["WHATSAPP-BAILEYS", "connecting"]);
    assertEquals(created.hash, "token-alpha");
    assertEquals((created.webhook as Record<string, unknown>).webhookUrl, h.hook.url);
    const qr = created.qrcode as Record<string, unknown>;
    assertEquals([qr.count, qr.pairingCode], [1, null]);
    assertMatch(String(qr.base64), /^data:image\/png;base64,[A-Za-z0-9+/=]+$/);
    assertMatch(String(qr.code), /^2@/);

    assertEquals(
      await errorOf(await h.api("POST", "/instance/create", body)),
      [403, ['This name "alpha" is already in use.']],
    );
    assertEquals(
      await errorOf(
        await h.api("POST", "/instance/create", { instanceName: "b", integration: "TELEGRAM" }),
      ),
      [400, ["Invalid integration"]],
    );
    assertEquals(
      await errorOf(await h.api("POST", "/instance/create", { instanceName: "b" })),
      [400, ["Invalid integration"]],
    );
    const noEvents = await h.api("POST", "/instance/create", {
      ...body,
      instanceName: "b",
      webhook: { url: h.hook.url },
    });
    assertEquals(noEvents.status, 400);
    const badEvent = await h.api("POST", "/instance/create", {
      ...body,
      instanceName: "b",
      webhook: { url: h.hook.url, events: ["QRCODE_UPDATED", "qrcode.updated"] },
    });
    assertEquals((await errorOf(badEvent))[0], 400);
    assertEquals(await h.ctl.instance("b"), null, "no instance is left by a refused creation");

    // The worker recognises its own instance by its token.
    const fetched = await (await h.api("GET", "/instance/fetchInstances?instanceName=alpha"))
      .json();
    assertEquals(fetched.length, 1);
    assertEquals([fetched[0].name, fetched[0].token, fetched[0].id], [
      "alpha",
      "token-alpha",
      instance.instanceId,
    ]);
    assertEquals(fetched[0].connectionStatus, "connecting");
    assertEquals(
      await errorOf(await h.api("GET", "/instance/fetchInstances?instanceName=nope")),
      [404, ['Instance "nope" not found']],
    );

    // The instance's own token is an apikey for its routes, not for others or for create.
    const own = await h.api("GET", "/instance/connectionState/alpha", undefined, {
      apikey: "token-alpha",
    });
    assertEquals(await own.json(), { instance: { instanceName: "alpha", state: "connecting" } });
    await h.create("beta");
    assertEquals(
      (await h.api("GET", "/instance/connectionState/beta", undefined, { apikey: "token-alpha" }))
        .status,
      401,
    );
    assertEquals(
      (await h.api("POST", "/instance/create", { ...body, instanceName: "c" }, {
        apikey: "token-alpha",
      })).status,
      401,
    );
    const byToken = await (await h.api("GET", "/instance/fetchInstances", undefined, {
      apikey: "token-alpha",
    })).json();
    assertEquals(byToken.map((i: { name: string }) => i.name), ["alpha"]);
    const all = await (await h.api("GET", "/instance/fetchInstances")).json();
    assertEquals(all.map((i: { name: string }) => i.name), ["alpha", "beta"]);

    // Unknown instances: 404 in Evolution's envelope, before the key is looked at.
    for (
      const [method, path] of [
        ["GET", "/instance/connect/ghost"],
        ["GET", "/instance/connectionState/ghost"],
        ["DELETE", "/instance/logout/ghost"],
        ["DELETE", "/instance/delete/ghost"],
        ["GET", "/webhook/find/ghost"],
        ["POST", "/message/sendText/ghost"],
      ]
    ) {
      assertEquals(
        await errorOf(await h.api(method, path, undefined, { apikey: "" })),
        [404, ['The "ghost" instance does not exist']],
        `${method} ${path}`,
      );
    }
  });
});

Deno.test("webhook/set answers 201 with the stored row and webhook/find returns it", async () => {
  await withStandIn({}, async (h) => {
    await h.api("POST", "/instance/create", {
      instanceName: "w",
      integration: "WHATSAPP-BAILEYS",
    });
    assertEquals(await (await h.api("GET", "/webhook/find/w")).json(), null);
    const set = await h.api("POST", "/webhook/set/w", {
      webhook: {
        enabled: true,
        url: h.hook.url,
        headers: { "x-evolution-secret": "s" },
        byEvents: false,
        base64: true,
        events: ["CONNECTION_UPDATE"],
      },
    });
    assertEquals(set.status, 201);
    const row = await set.json();
    assertEquals([row.url, row.enabled, row.events, row.headers], [
      h.hook.url,
      true,
      ["CONNECTION_UPDATE"],
      { "x-evolution-secret": "s" },
    ]);
    assertEquals(await (await h.api("GET", "/webhook/find/w")).json(), row);
    assertEquals(
      (await errorOf(await h.api("POST", "/webhook/set/w", { webhook: { url: "x" } })))[0],
      400,
    );
    assertEquals(
      await errorOf(await h.api("POST", "/webhook/set/w", {})),
      [400, ['requires property "webhook"']],
    );
  });
});

/**
 * The events the stand-in sent about `instance`, oldest first, once each reached the receiver.
 * Deliveries run concurrently, as in Evolution, so the receiver may see two of them in either
 * order; the stand-in's log keeps the order they were sent in.
 */
async function sentEvents(
  h: Harness,
  instance: string,
  enough: (sent: Received["body"][]) => boolean,
): Promise<Received["body"][]> {
  return await waitFor(async () => {
    const log = (await h.ctl.webhookDeliveries(instance)).reverse();
    const sent = log.map((d) => d.body as Received["body"]);
    return log.every((d) => d.state === "delivered") && enough(sent) && sent;
  }, { what: `the webhooks of ${instance} to be delivered` });
}

/** The data of the `event` events among `sent`, in order. */
function of(sent: Received["body"][], event: string): Received["body"]["data"][] {
  return sent.filter((b) => b.event === event).map((b) => b.data);
}

Deno.test("QR codes rotate to the limit, then the instance is refused and closed; connect starts again", async () => {
  await withStandIn({ behaviour: { qrIntervalMs: 40, qrLimit: 3 } }, async (h) => {
    await h.create("q");
    await waitFor(async () => (await h.ctl.instance("q"))?.state === "close", {
      what: "the instance to close after the QR limit",
    });
    const inst = await h.ctl.instance("q");
    assertEquals([inst?.refused, inst?.statusReason, inst?.qr], [true, 428, null]);
    const sent = await sentEvents(h, "q", (all) => of(all, "connection.update").length >= 3);
    assertEquals(h.hook.received.length, sent.length, "the receiver got every event sent");
    const qrs = of(sent, "qrcode.updated");
    assertEquals(qrs.length, 4, "three codes, then the limit message");
    const codes = qrs.slice(0, 3).map((d) => (d!.qrcode as Record<string, string>).code);
    assertEquals(new Set(codes).size, 3, "each code differs");
    assertMatch(
      String((qrs[0]!.qrcode as Record<string, string>).base64),
      /^data:image\/png;base64,/,
    );
    assertEquals(qrs[3], {
      message: "QR code limit reached, please login again",
      statusCode: 500,
    });
    assertEquals(
      of(sent, "connection.update").map((d) => [d!.state, d!.statusReason]),
      [["connecting", 200], ["refused", 428], ["close", 428]],
    );
    assertEquals(
      await (await h.api("GET", "/instance/connectionState/q")).json(),
      { instance: { instanceName: "q", state: "close" } },
    );

    // No more codes once closed.
    const before = sent.length;
    await h.ctl.setBehaviour({ qrIntervalMs: 60_000 });
    const again = await (await h.api("GET", "/instance/connect/q")).json();
    assertEquals(again.count, 1);
    assertMatch(again.base64, /^data:image\/png;base64,/);
    const now = await h.ctl.instance("q");
    assertEquals([now?.state, now?.refused], ["connecting", false]);
    const afterConnect = await sentEvents(h, "q", (all) => all.length >= before + 2);
    assertEquals(
      afterConnect.slice(before).map((b) => b.event),
      ["connection.update", "qrcode.updated"],
    );
    // Connect while connecting answers the current code without a new one.
    const same = await (await h.api("GET", "/instance/connect/q")).json();
    assertEquals([same.code, same.count], [again.code, 1]);
  });
});

Deno.test("a new QR interval applies to the code each connecting instance is waiting for", async () => {
  await withStandIn({ behaviour: { qrIntervalMs: 3_600_000 } }, async (h) => {
    await h.create("slow");
    assertEquals((await h.ctl.instance("slow"))?.qr?.count, 1);
    // Waiting an hour for code 2 unless the new interval takes over the pending rotation.
    await h.ctl.setBehaviour({ qrIntervalMs: 50 });
    await waitFor(async () => ((await h.ctl.instance("slow"))?.qr?.count ?? 0) >= 3, {
      what: "codes 2 and 3 at the new interval",
      timeoutMs: 5_000,
    });
  });
});

Deno.test("webhooks carry Evolution's body and the configured headers, and are retried as Evolution does", async () => {
  await withStandIn({ behaviour: { webhookRetryBaseMs: 10 } }, async (h) => {
    h.hook.answer = (_, body) =>
      body.event === "connection.update" && h.hook.events("connection.update").length <= 2
        ? 500
        : 200;
    await h.create("r");
    const first = await waitFor(async () => {
      const [d] = (await h.ctl.webhookDeliveries("r")).filter((d) =>
        d.event === "connection.update"
      );
      return d?.state === "delivered" ? d : null;
    }, { what: "the first delivery to succeed" });
    assertEquals(first.attempts.map((a) => a.status), [500, 500, 200]);
    const got = h.hook.events("connection.update")[0];
    assertEquals(got.headers.get("x-evolution-secret"), "secret-r");
    assertEquals(got.headers.get("content-type"), "application/json");
    assertEquals(got.body.event, "connection.update");
    assertEquals(got.body.instance, "r");
    assertEquals(got.body.destination, h.hook.url);
    assertEquals(got.body.server_url, h.url);
    assertEquals(got.body.apikey, "token-r");
    assertMatch(got.body.date_time, /^\d{4}-\d{2}-\d{2}T/);
    assertEquals(got.body.data, { instance: "r", state: "connecting", statusReason: 200 });

    // 401 is not retried; a receiver down is retried up to the attempt limit.
    h.hook.answer = () => 401;
    await h.ctl.scan("r");
    const refused = await waitFor(async () => {
      const d = (await h.ctl.webhookDeliveries("r"))[0];
      return d.state === "failed" ? d : null;
    });
    assertEquals(refused.attempts.map((a) => a.status), [401]);

    await h.ctl.setBehaviour({ webhookMaxAttempts: 3 });
    await h.api("POST", "/webhook/set/r", {
      webhook: { enabled: true, url: "http://127.0.0.1:9/down", events: ["MESSAGES_UPSERT"] },
    });
    await h.ctl.customerMessage("r", { from: "33611112222", text: "Hello" });
    const down = await waitFor(async () => {
      const d = (await h.ctl.webhookDeliveries("r"))[0];
      return d.state === "failed" ? d : null;
    });
    assertEquals(down.attempts.length, 3);
    assert(down.attempts.every((a) => a.status === null && a.error), "network errors are logged");
  });
});

Deno.test("a scan connects; customers' messages and sendText produce Evolution's events", async () => {
  await withStandIn({}, async (h) => {
    await h.create("p");
    assertEquals(
      await errorOf(await h.api("POST", "/message/sendText/p", { number: "33611", text: "x" })),
      [400, ['The "p" instance is not connected']],
    );
    const scanned = await h.ctl.scan("p", { number: "33600000001", profileName: "Dr Ada" });
    assertEquals([scanned.state, scanned.qr, scanned.wuid], [
      "open",
      null,
      "33600000001@s.whatsapp.net",
    ]);
    const open = await waitFor(() =>
      Promise.resolve(
        h.hook.events("connection.update").find((r) => r.body.data?.state === "open"),
      )
    );
    assertEquals(open.body.data, {
      instance: "p",
      wuid: "33600000001@s.whatsapp.net",
      profileName: "Dr Ada",
      profilePictureUrl: null,
      state: "open",
      statusReason: 200,
    });
    assertEquals(
      await (await h.api("GET", "/instance/connect/p")).json(),
      { instance: { instanceName: "p", state: "open" } },
    );

    await h.ctl.customerMessage("p", {
      from: "+33 6 12 34 56 78".replace(/\s/g, ""),
      text: "Bonjour",
      pushName: "Lina",
    });
    const upsert = await waitFor(() => Promise.resolve(h.hook.events("messages.upsert")[0]));
    const data = upsert.body.data!;
    assertEquals((data.key as Record<string, unknown>).fromMe, false);
    assertEquals((data.key as Record<string, unknown>).remoteJid, "33612345678@s.whatsapp.net");
    assertEquals([data.pushName, data.messageType, data.message], [
      "Lina",
      "conversation",
      { conversation: "Bonjour" },
    ]);
    assertEquals(upsert.body.sender, "33600000001@s.whatsapp.net");

    const sent = await h.api("POST", "/message/sendText/p", {
      number: "33612345678",
      text: "Votre rendez-vous est confirmé",
    });
    assertEquals(sent.status, 201);
    const raw = await sent.json();
    assertEquals(raw.key.fromMe, true);
    assertEquals(raw.key.remoteJid, "33612345678@s.whatsapp.net");
    assertEquals(raw.message, { conversation: "Votre rendez-vous est confirmé" });
    const sendEvent = await waitFor(() => Promise.resolve(h.hook.events("send.message")[0]));
    assertEquals(
      sendEvent.body.data!.key as Record<string, unknown>,
      { remoteJid: "33612345678@s.whatsapp.net", fromMe: true, id: raw.key.id },
    );
    const stored = await h.ctl.sentMessages("p");
    assertEquals(stored.map((m) => [m.id, m.number, m.text]), [
      [raw.key.id, "33612345678", "Votre rendez-vous est confirmé"],
    ]);
    assertEquals((await h.ctl.receivedMessages("p")).map((m) => m.text), ["Bonjour"]);

    // Not on WhatsApp: the documented rule (ends in 0000) and numbers set through control.
    assertEquals(
      await errorOf(
        await h.api("POST", "/message/sendText/p", { number: "33611110000", text: "x" }),
      ),
      [400, [{ jid: "33611110000@s.whatsapp.net", exists: false, number: "33611110000" }]],
    );
    await h.ctl.setNotOnWhatsApp(["33699999999"]);
    const [status, message] = await errorOf(
      await h.api("POST", "/message/sendText/p", { number: "33699999999", text: "x" }),
    );
    assertEquals([status, (message as Array<{ exists: boolean }>)[0].exists], [400, false]);
    assertEquals(
      await errorOf(await h.api("POST", "/message/sendText/p", { number: "33612345678" })),
      [400, ['requires property "text"']],
    );
    assertEquals((await h.ctl.sentMessages("p")).length, 1, "refused sends are not recorded");
  });
});

Deno.test("logout and delete answer as Evolution and send their events", async () => {
  await withStandIn({}, async (h) => {
    await h.create("d");
    await h.ctl.scan("d");
    const out = await h.api("DELETE", "/instance/logout/d");
    assertEquals(await out.json(), {
      status: "SUCCESS",
      error: false,
      response: { message: "Instance logged out" },
    });
    assertEquals(
      await errorOf(await h.api("DELETE", "/instance/logout/d")),
      [400, ['The "d" instance is not connected']],
    );
    const deleted = await h.api("DELETE", "/instance/delete/d");
    assertEquals(await deleted.json(), {
      status: "SUCCESS",
      error: false,
      response: { message: "Instance deleted" },
    });
    assertEquals((await h.api("GET", "/instance/connectionState/d")).status, 404);
    const sent = await sentEvents(h, "d", (all) => of(all, "remove.instance").length === 1);
    assertEquals(h.hook.received.length, sent.length, "the receiver got every event sent");
    assertEquals(of(sent, "logout.instance"), [null]);
    const closes = of(sent, "connection.update").filter((d) => d?.state === "close");
    assertEquals(closes.map((d) => d!.statusReason), [401]);
    // The name is free again.
    await h.create("d");
  });
});

Deno.test("faults, the creation limit and reset come from the control API", async () => {
  await withStandIn({}, async (h) => {
    await h.ctl.faults.add({ action: "status", status: 500, path: "/instance/create" });
    const failed = await h.api("POST", "/instance/create", {
      instanceName: "f",
      integration: "WHATSAPP-BAILEYS",
    });
    assertEquals((await errorOf(failed))[0], 500);
    assertEquals(await h.ctl.instance("f"), null, "a faulted call creates nothing");

    await h.ctl.faults.add({ action: "hang", path: "/instance/connectionState/f" });
    await h.create("f");
    const hanging = h.api("GET", "/instance/connectionState/f");
    await waitFor(async () => (await h.ctl.stats()).requests_in_flight === 1);
    await h.ctl.faults.clear();
    assertEquals((await hanging).status, 503);

    await h.ctl.setBehaviour({ createConcurrency: 1, createLatencyMs: 300 });
    const slow = h.api("POST", "/instance/create", {
      instanceName: "g1",
      integration: "WHATSAPP-BAILEYS",
    });
    await waitFor(async () => (await h.ctl.stats()).requests_in_flight === 1);
    const busy = await h.api("POST", "/instance/create", {
      instanceName: "g2",
      integration: "WHATSAPP-BAILEYS",
    });
    assertEquals(busy.status, 429);
    assertEquals(busy.headers.get("retry-after"), "1");
    await busy.body?.cancel();
    assertEquals((await slow).status, 201);

    const stats = await h.ctl.stats();
    assert(stats.requests_faulted >= 2, "faulted calls are counted");
    await h.ctl.reset();
    assertEquals(await h.ctl.instances(), []);
    assertEquals((await h.ctl.behaviour()).createConcurrency, null);
    assertEquals(await h.ctl.webhookDeliveries(), []);
  });
});

Deno.test("the WhatsApp page shows each instance with its live QR code, a Scan button and the conversation", async () => {
  await withStandIn({}, async (h) => {
    const empty = await (await fetch(`${h.url}/`)).text();
    assertMatch(empty, /No instances yet/);
    const created = await h.create("page_one");
    const html = await (await fetch(`${h.url}/`)).text();
    assertMatch(html, /<h2>page_one<\/h2>/);
    assert(
      html.includes(`<img src="${(created.qrcode as Record<string, string>).base64}"`),
      "the QR image is the code Evolution answered",
    );
    assertMatch(html, /<button type="button" class="scan" data-name="page_one">Scan<\/button>/);
    assertMatch(html, /setInterval\(refresh, 1000\)/);

    await h.ctl.scan("page_one");
    await h.ctl.customerMessage("page_one", { from: "33612345678", text: "<b>hi</b> & bye" });
    const partial = await (await fetch(`${h.url}/?partial=1`)).json();
    assertEquals(partial.cards.length, 1);
    const live: string = partial.cards[0].live;
    assertMatch(live, /Connected/);
    assert(!live.includes("<img"), "no QR once connected");
    assert(live.includes("&lt;b&gt;hi&lt;/b&gt; &amp; bye"), "message text is escaped");
    assertMatch(partial.cards[0].card, /<form class="reply" data-name="page_one">/);
    const version = partial.version;
    await h.ctl.customerMessage("page_one", { from: "33612345678", text: "again" });
    const next = await (await fetch(`${h.url}/?partial=1`)).json();
    assert(next.version !== version, "the version changes with a new message");
  });
});

/** The lines of a persist file, parsed. */
async function fileLines(path: string): Promise<Array<Record<string, unknown>>> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((line) => line.trim()).map((line) => JSON.parse(line));
}

Deno.test("with a persist file, instances (token, state, webhook, messages) survive a restart, deleted ones stay gone and connecting ones rotate again", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/evolution_instances.jsonl`;
  const receiver = startReceiver();
  const hook = receiver.hook;
  try {
    let kept: InstanceView | null = null;
    let webhookRow: unknown = null;
    let sentId = "";
    let firstCode = "";
    await withStandIn({ persistPath: file, behaviour: { qrIntervalMs: 60_000 } }, async (h) => {
      await h.create("kept");
      await h.ctl.scan("kept", { number: "33600000002", profileName: "Dr Kept" });
      // A few state changes, superseded in the file by the last one.
      assertEquals((await h.api("DELETE", "/instance/logout/kept")).status, 200);
      await h.api("GET", "/instance/connect/kept").then((res) => res.body?.cancel());
      await h.ctl.scan("kept", { number: "33600000002", profileName: "Dr Kept" });
      await h.ctl.customerMessage("kept", {
        from: "33612345678",
        text: "Bonjour",
        pushName: "Lina",
      });
      const sent = await h.api("POST", "/message/sendText/kept", {
        number: "33612345678",
        text: "Confirmé",
      });
      assertEquals(sent.status, 201);
      sentId = (await sent.json()).key.id;
      webhookRow = await (await h.api("GET", "/webhook/find/kept")).json();
      kept = await h.ctl.instance("kept");

      await h.create("gone");
      assertEquals((await h.api("DELETE", "/instance/delete/gone")).status, 200);
      await h.create("again");
      assertEquals((await h.api("DELETE", "/instance/delete/again")).status, 200);
      await h.create("again", { token: "token-again-2" });

      const waiting = await h.create("waiting");
      firstCode = (waiting.qrcode as { code: string }).code;
    }, hook);
    assertEquals(kept!.state, "open");

    await Deno.writeTextFile(file, "not json\n", { append: true });
    const logs: string[] = [];
    const before = hook.received.length;
    await withStandIn({
      persistPath: file,
      behaviour: { qrIntervalMs: 50 },
      log: (line) => logs.push(line),
    }, async (h) => {
      // Read back then rewritten with the last state only: no superseded or unreadable lines.
      const lines = await fileLines(file);
      assertEquals(
        lines.filter((l) => l.kind === "instance").map((l) => (l.instance as InstanceView).name),
        ["kept", "again", "waiting"],
      );
      assertEquals(lines.filter((l) => l.kind === "message").length, 2);
      assertEquals(lines.length, 5, "only live instances and messages are left");
      assertMatch(logs.join("\n"), /Skipped an unreadable line of the instance file/);

      assertEquals((await h.ctl.instances()).map((i) => i.name), ["kept", "again", "waiting"]);
      const back = await h.ctl.instance("kept");
      assertEquals(
        { ...back!, updatedAt: "" },
        { ...kept!, updatedAt: "" },
        "id, token, state, phone and webhook come back",
      );
      assertEquals(await (await h.api("GET", "/webhook/find/kept")).json(), webhookRow);
      assertEquals(
        await (await h.api("GET", "/instance/connectionState/kept", undefined, {
          apikey: "token-kept",
        })).json(),
        { instance: { instanceName: "kept", state: "open" } },
        "the instance's own token still opens it",
      );
      assertEquals((await h.ctl.sentMessages("kept")).map((m) => m.id), [sentId]);
      assertEquals((await h.ctl.receivedMessages("kept")).map((m) => [m.text, m.push_name]), [
        ["Bonjour", "Lina"],
      ]);
      assertEquals((await h.api("GET", "/instance/connectionState/gone")).status, 404);
      assertEquals((await h.ctl.instance("again"))?.token, "token-again-2");

      // The connecting instance starts a new rotation, with new codes and webhooks.
      const rotating = await waitFor(async () => {
        const inst = await h.ctl.instance("waiting");
        return inst?.state === "connecting" && inst.qrCount >= 2 ? inst : null;
      }, { what: "the restored connecting instance to show its second new QR code" });
      assert(rotating.qr !== null && rotating.qr.code !== firstCode, "a new code, not the old");
      await waitFor(() =>
        Promise.resolve(
          hook.received.slice(before).filter((r) =>
            r.body.event === "qrcode.updated" && r.body.instance === "waiting"
          ).length >= 2,
        ), { what: "qrcode.updated webhooks of the restored instance" });

      // A message sent after the restart is kept too.
      const sent = await h.api("POST", "/message/sendText/kept", {
        number: "33612345678",
        text: "Merci",
      });
      assertEquals(sent.status, 201);
      await sent.body?.cancel();
    }, hook);

    await withStandIn({ persistPath: file }, async (h) => {
      assertEquals((await h.ctl.sentMessages("kept")).map((m) => m.text), ["Merci", "Confirmé"]);
      assertEquals(await h.ctl.reset(), 3);
      assertEquals(await Deno.readTextFile(file), "", "a reset empties the file");
    }, hook);
    await withStandIn({ persistPath: file }, async (h) => {
      assertEquals(await h.ctl.instances(), [], "a reset is kept across a restart");
    }, hook);
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the test platform runs the Evolution stand-in and passes its URL and key through the environment", async () => {
  const baseUrl = Deno.env.get("EVOLUTION_API_BASE_URL");
  const key = Deno.env.get("EVOLUTION_API_KEY");
  const apiPort = Number(Deno.env.get("TEST_API_PORT"));
  assert(baseUrl, "EVOLUTION_API_BASE_URL is set: run the tests with scripts/test.ts");
  assert(key, "EVOLUTION_API_KEY is set");
  assertEquals(baseUrl, `http://127.0.0.1:${apiPort + 4}`);
  const res = await fetch(`${baseUrl}/instance/fetchInstances`, { headers: { apikey: key } });
  assertEquals(res.status, 200);
  assert(Array.isArray(await res.json()));
  const page = await fetch(`${baseUrl}/`);
  assertMatch(await page.text(), /WhatsApp \(local Evolution API\)/);
});
