/**
 * The stand-in kit serves any provider, not only Resend: a small module declared here (a
 * receiver of signed "pings", with its own routes, item type, error shape and page) gets the
 * control API, faults, the rate limit, persistence and a self-refreshing list page from the kit,
 * and the typed control client reads it. The last test checks the registry: every stand-in it
 * lists runs on the test platform and gives tests its variables.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../_support/assert.ts";
import { ControlClient } from "../../scripts/platform/stand_ins/kit/control_client.ts";
import { escapeHtml, listPageRoutes } from "../../scripts/platform/stand_ins/kit/page.ts";
import { findRoute } from "../../scripts/platform/stand_ins/kit/router.ts";
import {
  type StandInModule,
  type StandInOptions,
  startStandIn,
} from "../../scripts/platform/stand_ins/kit/server.ts";
import { STAND_INS } from "../../scripts/platform/stand_ins/registry.ts";
import { platformConfig } from "../../scripts/platform/config.ts";

/** What the toy provider stores. */
interface Ping {
  id: string;
  created_at: string;
  channel: string;
  text: string;
}

const TOKEN = "ping_token";

/** A toy provider: `POST /pings` with `x-token`, errors as `{ code, detail }`. */
const pings: StandInModule<Ping> = {
  name: "Ping",
  component: "ping_stand_in",
  items: {
    plural: "pings",
    singular: "ping",
    isItem: (value): value is Ping =>
      typeof value === "object" && value !== null && "channel" in value,
    filters: { channel: (ping, channel) => ping.channel === channel },
  },
  api: {
    owns: (path) => path.startsWith("/pings"),
    routes: [{
      method: "POST",
      path: "/pings",
      handle: async (_, call) => {
        const body = await call.req.json();
        await call.delay();
        const ping: Ping = {
          id: crypto.randomUUID(),
          created_at: new Date(call.state.now()).toISOString(),
          channel: String(body.channel),
          text: String(body.text),
        };
        await call.state.store.add([ping]);
        return Response.json({ id: ping.id }, { status: 201 });
      },
    }],
    errors: {
      notFound: () => Response.json({ code: "nowhere" }, { status: 404 }),
      methodNotAllowed: (allowed) => Response.json({ code: "method", allowed }, { status: 405 }),
      internal: () => Response.json({ code: "broken" }, { status: 500 }),
      fault: (rule) =>
        Response.json({ code: "fault", detail: rule.message }, { status: rule.status }),
      released: () => Response.json({ code: "released" }, { status: 503 }),
      rateLimited: (decision) =>
        Response.json({ code: "slow_down", limit: decision.limit }, { status: 429 }),
    },
    authenticate: (req) =>
      req.headers.get("x-token") === TOKEN
        ? TOKEN
        : Response.json({ code: "who" }, { status: 401 }),
  },
  pages: listPageRoutes<Ping>({
    name: "received",
    home: true,
    title: "Local pings",
    intro: "Pings received, newest first.",
    empty: "No pings yet.",
    limit: 50,
    renderEntry: (ping, href) => `<a href="${href}">${escapeHtml(ping.text)}</a>`,
    renderItem: (ping) => ({ title: ping.text, body: `<h1>${escapeHtml(ping.text)}</h1>` }),
    notFound: { title: "Not found", body: "<h1>No such ping</h1>" },
  }),
};

async function withPings(
  opts: Partial<StandInOptions>,
  fn: (
    h: { url: string; ping: (body: unknown) => Promise<Response>; ctl: PingControl },
  ) => Promise<void>,
): Promise<void> {
  const running = await startStandIn(pings, {
    port: 0,
    requestsPerSecond: 100,
    log: () => {},
    ...opts,
  });
  const ping = (body: unknown) =>
    fetch(`${running.url}/pings`, {
      method: "POST",
      headers: { "x-token": TOKEN },
      body: JSON.stringify(body),
    });
  try {
    await fn({ url: running.url, ping, ctl: new ControlClient(running.url, "pings") });
  } finally {
    await running.stop();
  }
}

type PingControl = ControlClient<Ping, "pings", "channel">;

Deno.test("a module's routes run behind the kit's auth, rate limit headers and counters", async () => {
  await withPings({ requestsPerSecond: 2 }, async ({ url, ping, ctl }) => {
    const first = await ping({ channel: "a", text: "hello" });
    assertEquals(first.status, 201);
    assertEquals(first.headers.get("ratelimit-limit"), "2");
    assertEquals(first.headers.get("ratelimit-remaining"), "1");
    await first.body?.cancel();

    const anonymous = await fetch(`${url}/pings`, { method: "POST", body: "{}" });
    assertEquals([anonymous.status, (await anonymous.json()).code], [401, "who"]);
    const wrongMethod = await fetch(`${url}/pings`, { method: "GET" });
    assertEquals(await wrongMethod.json(), { code: "method", allowed: ["POST"] });
    const elsewhere = await fetch(`${url}/nowhere`);
    assertEquals([elsewhere.status, (await elsewhere.json()).code], [404, "nowhere"]);

    await (await ping({ channel: "b", text: "again" })).body?.cancel();
    const limited = await ping({ channel: "b", text: "too fast" });
    assertEquals([limited.status, (await limited.json()).code], [429, "slow_down"]);
    assertEquals(limited.headers.get("retry-after"), "1");

    const stats = await ctl.stats();
    assertEquals(stats.pings_stored, 2);
    assertEquals(
      [stats.requests_received, stats.requests_accepted, stats.requests_rejected],
      [5, 2, 2],
    );
    assertEquals(stats.requests_rate_limited, 1);
  });
});

Deno.test("the control client lists a module's items with its own filters, and installs faults", async () => {
  await withPings({}, async ({ ping, ctl }) => {
    for (const [channel, text] of [["a", "one"], ["b", "two"], ["a", "three"]]) {
      await (await ping({ channel, text })).body?.cancel();
    }
    assertEquals((await ctl.list({ channel: "a" })).map((p) => p.text), ["three", "one"]);
    assertEquals((await ctl.list({ limit: 1 })).map((p) => p.text), ["three"]);
    const [newest] = await ctl.list();
    assertEquals((await ctl.get(newest.id)).text, "three");
    assertMatch((await assertRejects(() => ctl.get("nope"))).message, /answered .* with 404/);

    const fault = await ctl.faults.add({
      action: "status",
      status: 503,
      message: "down",
      count: 1,
    });
    assertEquals((await ctl.faults.list()).map((f) => f.id), [fault.id]);
    const faulted = await ping({ channel: "a", text: "lost" });
    assertEquals(await faulted.json(), { code: "fault", detail: "down" });
    assertEquals((await ctl.faults.list()).length, 0, "a count-1 fault is used up");
    assertEquals((await ctl.stats()).requests_faulted, 1);

    assertEquals(await ctl.rateLimit.set(7), 7);
    assertEquals(await ctl.rateLimit.get(), 7);
    assertEquals(await ctl.reset(), 3);
    assertEquals(await ctl.list(), []);
    const unknown = await assertRejects(() => ctl.request("GET", "/_local/nothing"));
    assertMatch(unknown.message, /No such control endpoint/);
  });
});

Deno.test("a module's list page refreshes itself and its items persist as JSON lines", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/pings.jsonl`;
  try {
    await withPings({ persistPath: file }, async ({ url, ping }) => {
      await (await ping({ channel: "a", text: "<b>kept</b>" })).body?.cancel();
      const home = await fetch(`${url}/`);
      const html = await home.text();
      assertMatch(html, /<a href="\/received\/[0-9a-f-]{36}">&lt;b&gt;kept&lt;\/b&gt;<\/a>/);
      assert(html.includes("setInterval"), "the list refreshes itself");
      const fragment = await fetch(`${url}/received?partial=1`);
      assertEquals(fragment.headers.get("x-received-version"), "1");
      await fragment.body?.cancel();
      const post = await fetch(`${url}/received/x`, { method: "DELETE" });
      assertEquals(post.status, 405, "pages answer GET only");
      await post.body?.cancel();
    });
    await withPings({ persistPath: file }, async ({ ctl }) => {
      assertEquals((await ctl.list()).map((p) => p.text), ["<b>kept</b>"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a literal path segment wins over a parameter in the kit's router", () => {
  const routes = [
    { method: "POST", path: "/emails/batch", handle: () => new Response() },
    { method: "GET", path: "/emails/:id", handle: () => new Response() },
  ];
  assertEquals(findRoute(routes, "GET", "/emails/batch"), {
    kind: "method_not_allowed",
    allowed: ["POST"],
  });
  const found = findRoute(routes, "GET", "/emails/a%20b");
  assert(found.kind === "found");
  assertEquals(found.params, { id: "a b" });
  assertEquals(findRoute(routes, "GET", "/emails/").kind, "not_found");
});

Deno.test("every registered stand-in runs on the test platform and gives tests its variables", async () => {
  const cfg = platformConfig("test");
  assertEquals(Number(Deno.env.get("TEST_API_PORT")), cfg.apiPort, "run with scripts/test.sh");
  const offsets = STAND_INS.map((entry) => entry.portOffset);
  assertEquals(new Set(offsets).size, offsets.length, "each stand-in has a port of its own");
  for (const entry of STAND_INS) {
    const url = `http://127.0.0.1:${cfg.saasPortBase + entry.portOffset}`;
    const stats = await new ControlClient(url, "any").request<Record<string, number>>(
      "GET",
      "/_local/stats",
    );
    assertEquals(typeof stats.requests_received, "number", `${entry.name} answers /_local/stats`);
  }
  assertEquals(Deno.env.get("RESEND_BASE_URL"), `http://127.0.0.1:${cfg.saasPortBase}`);
});
