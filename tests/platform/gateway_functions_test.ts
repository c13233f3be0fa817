/**
 * The gateway's edge functions: each test starts its own gateway (free port) over fixture
 * functions written to a temporary folder, with a fixture config.toml for `verify_jwt`.
 */
import { platformConfig, PROJECT_ROOT } from "../../scripts/platform/config.ts";
import { parseToml } from "../../scripts/platform/gateway/config_toml.ts";
import { startGateway } from "../../scripts/platform/gateway/server.ts";
import { loadSettings, settingsFromToml } from "../../scripts/platform/gateway/settings.ts";
import { signLocalJwt } from "../../scripts/platform/keys.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.ts`);
  return value;
}

const ANON_KEY = env("SUPABASE_ANON_KEY");
const JWT_SECRET = env("JWT_SECRET");

const FUNCTION_ENV = {
  SUPABASE_URL: env("SUPABASE_URL"),
  SUPABASE_ANON_KEY: ANON_KEY,
  SUPABASE_SERVICE_ROLE_KEY: env("SUPABASE_SERVICE_ROLE_KEY"),
  SUPABASE_DB_URL: env("TEST_DB_URL"),
  GW_TEST_PROJECT_VAR: "from .env",
};

const FIXTURES: Record<string, string> = {
  "config.toml": `
[functions.open]
verify_jwt = false

[functions.stream]
verify_jwt = false

[functions.crash]
verify_jwt = false

[functions.slow]
verify_jwt = false

[functions.boot-fail]
verify_jwt = false
`,
  // Imports "jose" through the project's import map (deno.json).
  "echo/index.ts": `
import { decodeJwt } from "jose";
Deno.serve(async (req) => {
  const url = new URL(req.url);
  const auth = req.headers.get("authorization");
  const names = ["SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY",
    "SUPABASE_DB_URL", "GW_TEST_PROJECT_VAR", "TEST_DB_URL", "DENO_SERVE_ADDRESS"];
  return Response.json({
    method: req.method,
    path: url.pathname,
    search: url.search,
    body: await req.text(),
    role: auth ? decodeJwt(auth.replace(/^Bearer /, "")).role : null,
    custom: req.headers.get("x-custom"),
    forwardedHost: req.headers.get("x-forwarded-host"),
    env: Object.fromEntries(names.map((n) => [n, Deno.env.get(n) ?? null])),
    cwd: Deno.cwd(),
  }, {
    status: Number(url.searchParams.get("status") ?? 200),
    headers: { "x-from-function": "yes" },
  });
});
`,
  "open/index.ts": `
Deno.serve(() => {
  console.log(JSON.stringify({ msg: "open called", n: 1 }));
  console.error("plain line on stderr");
  return new Response("open", { headers: { "content-type": "text/plain" } });
});
`,
  "stream/index.ts": `
let release = () => {};
Deno.serve(async (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/stream/release") {
    release();
    return new Response("released");
  }
  if (path === "/stream/upload") {
    let bytes = 0;
    for await (const chunk of req.body!) bytes += chunk.byteLength;
    return Response.json({ bytes });
  }
  const released = new Promise((resolve) => release = () => resolve(undefined));
  const enc = new TextEncoder();
  const body = new ReadableStream({
    async start(controller) {
      controller.enqueue(enc.encode("first\\n"));
      await released;
      controller.enqueue(enc.encode("last\\n"));
      controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/plain" } });
});
`,
  "crash/index.ts": `
Deno.serve((req) => {
  const path = new URL(req.url).pathname;
  if (path === "/crash/exit") Deno.exit(3);
  if (path === "/crash/throw") throw new Error("Handler failed");
  return Response.json({ pid: Deno.pid });
});
`,
  "slow/index.ts": `
Deno.serve(async () => {
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  return new Response("too late");
});
`,
  "boot-fail/index.ts": `
throw new Error("Broken at import");
`,
  "_shared/util.ts": `export const shared = true;\n`,
};

interface TestGateway {
  url: string;
  logs: string[];
  /** Parsed gateway events (lines with an "event" key). */
  events(): Array<Record<string, unknown>>;
}

/** Runs `fn` against a gateway over the fixture functions, then stops it and removes them. */
async function withGateway(
  fn: (gateway: TestGateway) => Promise<void>,
  opts: { functionTimeoutMs?: number } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gateway_functions_" });
  for (const [path, text] of Object.entries(FIXTURES)) {
    await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
  const logs: string[] = [];
  const gateway = await startGateway({
    cfg: platformConfig("test"),
    functionEnv: FUNCTION_ENV,
    log: (line) => logs.push(line),
    functionsDir: dir,
    configToml: `${dir}/config.toml`,
    port: 0,
    functionTimeoutMs: opts.functionTimeoutMs ?? 20_000,
  });
  try {
    await fn({
      url: gateway.url,
      logs,
      events: () =>
        logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => "event" in l),
    });
  } finally {
    await gateway.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function call(
  url: string,
  init: RequestInit & { token?: string } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  const res = await fetch(url, { ...init, headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function isListening(port: number): Promise<boolean> {
  return Deno.connect({ hostname: "127.0.0.1", port }).then((conn) => {
    conn.close();
    return true;
  }, () => false);
}

Deno.test("a function sees its path without /functions/v1, the method, the body and its environment", async () => {
  await withGateway(async ({ url }) => {
    const res = await call(`${url}/functions/v1/echo/sub/path?x=1&status=201`, {
      method: "POST",
      body: "hello",
      token: ANON_KEY,
      headers: { "x-custom": "kept" },
    });
    assertEquals(res.status, 201);
    assertEquals(res.headers.get("x-from-function"), "yes");
    const seen = JSON.parse(res.text);
    assertEquals(seen.method, "POST");
    assertEquals(seen.path, "/echo/sub/path");
    assertEquals(seen.search, "?x=1&status=201");
    assertEquals(seen.body, "hello");
    assertEquals(seen.role, "anon");
    assertEquals(seen.custom, "kept");
    assertEquals(seen.forwardedHost, new URL(url).host);
    assertEquals(seen.env.SUPABASE_URL, FUNCTION_ENV.SUPABASE_URL);
    assertEquals(seen.env.SUPABASE_ANON_KEY, ANON_KEY);
    assertEquals(seen.env.SUPABASE_SERVICE_ROLE_KEY, FUNCTION_ENV.SUPABASE_SERVICE_ROLE_KEY);
    assertEquals(seen.env.SUPABASE_DB_URL, FUNCTION_ENV.SUPABASE_DB_URL);
    assertEquals(seen.env.GW_TEST_PROJECT_VAR, "from .env");
    assertEquals(seen.env.TEST_DB_URL, null, "the gateway's own environment must not leak");
    assertMatch(seen.env.DENO_SERVE_ADDRESS, /^tcp:127\.0\.0\.1:\d+$/);
    assertEquals(seen.cwd, PROJECT_ROOT);
  });
});

Deno.test("a verify_jwt function refuses a missing or invalid JWT with 401 before it starts", async () => {
  await withGateway(async ({ url, events }) => {
    const missing = await call(`${url}/functions/v1/echo`, { method: "POST", body: "{}" });
    assertEquals(missing.status, 401);
    assertEquals(JSON.parse(missing.text), { code: 401, message: "Missing authorization header" });
    assertEquals(missing.headers.get("sb-error-code"), "UNAUTHORIZED_NO_AUTH_HEADER");

    const forged = await signLocalJwt("another-secret-that-is-at-least-32-characters", {
      role: "service_role",
    });
    const invalid = await call(`${url}/functions/v1/echo`, { token: forged });
    assertEquals(invalid.status, 401);
    assertEquals(JSON.parse(invalid.text), { code: 401, message: "Invalid JWT" });

    const expired = await signLocalJwt(JWT_SECRET, {
      role: "authenticated",
      exp: Math.floor(Date.now() / 1000) - 60,
    });
    assertEquals((await call(`${url}/functions/v1/echo`, { token: expired })).status, 401);
    const notBearer = await call(`${url}/functions/v1/echo`, {
      headers: { authorization: `Basic ${btoa("user:pass")}` },
    });
    assertEquals(notBearer.status, 401);

    assertEquals(events().filter((e) => e.event === "starting").length, 0);
    assertEquals((await call(`${url}/functions/v1/echo`, { token: ANON_KEY })).status, 200);
  });
});

Deno.test("a function with verify_jwt = false, and any CORS preflight, pass without a JWT", async () => {
  await withGateway(async ({ url }) => {
    const open = await call(`${url}/functions/v1/open`);
    assertEquals(open.status, 200);
    assertEquals(open.text, "open");
    const preflight = await call(`${url}/functions/v1/echo`, {
      method: "OPTIONS",
      headers: { origin: "http://example.test", "access-control-request-method": "POST" },
    });
    assertEquals(preflight.status, 200);
    assertEquals(JSON.parse(preflight.text).method, "OPTIONS");
  });
});

Deno.test("an unknown function or a shared folder answers 404 NOT_FOUND", async () => {
  await withGateway(async ({ url }) => {
    for (const path of ["nope", "_shared", "_shared/util.ts", ""]) {
      const res = await call(`${url}/functions/v1/${path}`, { token: ANON_KEY });
      assertEquals(res.status, 404, path);
      assertEquals(JSON.parse(res.text), {
        code: "NOT_FOUND",
        message: "Requested function was not found",
      });
    }
  });
});

Deno.test("request and response bodies stream through the gateway", async () => {
  await withGateway(async ({ url }) => {
    const res = await fetch(`${url}/functions/v1/stream`);
    assertEquals(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    // The function holds its response open until released: the first line must arrive first.
    assertEquals((await reader.read()).value, "first\n");
    assertEquals((await call(`${url}/functions/v1/stream/release`)).text, "released");
    let rest = "";
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += value;
    }
    assertEquals(rest, "last\n");

    const chunk = new Uint8Array(1024 * 1024).fill(97);
    let sent = 0;
    const upload = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 3) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const uploaded = await call(`${url}/functions/v1/stream/upload`, {
      method: "POST",
      body: upload,
    });
    assertEquals(JSON.parse(uploaded.text), { bytes: 3 * 1024 * 1024 });
  });
});

Deno.test("a crashed function answers 500 WORKER_ERROR and is restarted on the next request", async () => {
  await withGateway(async ({ url, events }) => {
    const first = JSON.parse((await call(`${url}/functions/v1/crash`)).text).pid as number;

    const thrown = await call(`${url}/functions/v1/crash/throw`);
    assertEquals(thrown.status, 500, "an exception in the handler is the function's own 500");
    assertEquals(JSON.parse((await call(`${url}/functions/v1/crash`)).text).pid, first);

    const crashed = await call(`${url}/functions/v1/crash/exit`);
    assertEquals(crashed.status, 500);
    assertEquals(JSON.parse(crashed.text), {
      code: "WORKER_ERROR",
      message: "Function exited due to an error (please check logs)",
    });
    await waitFor(
      () => Promise.resolve(events().some((e) => e.event === "exited" && e.code === 3)),
      {
        what: "the exit of the crashed function",
      },
    );
    const second = JSON.parse((await call(`${url}/functions/v1/crash`)).text).pid as number;
    assert(second !== first, "a new process serves the next request");
    assertEquals(events().filter((e) => e.event === "starting").length, 2);
  });
});

Deno.test("a function that answers after the idle timeout gets 504 IDLE_TIMEOUT", async () => {
  await withGateway(async ({ url }) => {
    const res = await call(`${url}/functions/v1/slow`);
    assertEquals(res.status, 504);
    assertEquals(res.headers.get("sb-error-code"), "IDLE_TIMEOUT");
    assertEquals(JSON.parse(res.text).code, "IDLE_TIMEOUT");
  }, { functionTimeoutMs: 300 });
});

Deno.test("a streamed body that stays silent longer than the idle timeout is cut off", async () => {
  await withGateway(async ({ url }) => {
    const res = await fetch(`${url}/functions/v1/stream`);
    assertEquals(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    assertEquals((await reader.read()).value, "first\n");
    // The function never sends the rest: the gateway aborts the body.
    const error = await reader.read().then(() => undefined, (e) => e);
    assert(error instanceof Error, "reading the rest of the body fails");
  }, { functionTimeoutMs: 300 });
});

Deno.test("a function that fails while loading answers 503 BOOT_ERROR and logs why", async () => {
  await withGateway(async ({ url, logs }) => {
    const res = await call(`${url}/functions/v1/boot-fail`);
    assertEquals(res.status, 503);
    assertEquals(JSON.parse(res.text), {
      code: "BOOT_ERROR",
      message: "Worker failed to boot (please check logs)",
    });
    await waitFor(() => Promise.resolve(logs.some((l) => l.includes("Broken at import"))), {
      what: "the import error in the log",
    });
  });
});

Deno.test("concurrent first requests start the function once", async () => {
  await withGateway(async ({ url, events }) => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => call(`${url}/functions/v1/crash`)),
    );
    const pids = new Set(answers.map((a) => JSON.parse(a.text).pid));
    assertEquals(pids.size, 1);
    assertEquals(events().filter((e) => e.event === "starting").length, 1);
  });
});

Deno.test("function output reaches the log as JSON lines tagged with the function name", async () => {
  await withGateway(async ({ url, logs }) => {
    await call(`${url}/functions/v1/open`);
    const lines = await waitFor(() => {
      const mine = logs.map((l) => JSON.parse(l)).filter((l) => l.function === "open" && l.line);
      return Promise.resolve(mine.length >= 2 ? mine : undefined);
    }, { what: "the function's two output lines" });
    const out = lines.find((l) => l.stream === "stdout");
    assertEquals(JSON.parse(out.line), { msg: "open called", n: 1 });
    assert(lines.some((l) => l.stream === "stderr" && l.line === "plain line on stderr"));
  });
});

Deno.test("stop() ends every function process and leaves nothing listening", async () => {
  let gatewayPort = 0;
  let functionPorts: number[] = [];
  let pids: number[] = [];
  await withGateway(async ({ url, events }) => {
    gatewayPort = Number(new URL(url).port);
    await call(`${url}/functions/v1/open`);
    await call(`${url}/functions/v1/crash`);
    const started = events().filter((e) => e.event === "starting");
    functionPorts = started.map((e) => e.port as number);
    pids = started.map((e) => e.pid as number);
    assertEquals(functionPorts.length, 2);
    for (const port of functionPorts) assert(await isListening(port));
  });
  assert(!(await isListening(gatewayPort)), "the gateway port is closed");
  for (const port of functionPorts) assert(!(await isListening(port)), `port ${port} is closed`);
  for (const pid of pids) {
    const alive = await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
    assert(!alive, `process ${pid} has ended`);
  }
});

Deno.test("the project's config.toml gives the exposed schemas and each function's verify_jwt", async () => {
  const settings = await loadSettings(`${PROJECT_ROOT}/supabase/config.toml`);
  assertEquals(settings.schemas, ["public", "graphql_public"]);
  assertEquals(settings.extraSearchPath, ["public", "extensions"]);
  assertEquals(settings.verifyJwt("a-function-not-listed"), true);
});

Deno.test("the TOML reader takes the syntax config.toml uses and names the line of invalid TOML", () => {
  const doc = parseToml(`
# comment
project_id = "demo" # trailing comment
[api]
schemas = [
  "public",   # one
  'private',
]
max_rows = 1_000
ratio = -0.5
"quoted key" = true
[functions."with.dot"]
verify_jwt = false
[auth.external.apple]
enabled = false
secret = { name = "x", n = [1, 2] }
escaped = "tab\\there \\"quoted\\" \\u00e9"
`);
  assertEquals(doc.project_id, "demo");
  assertEquals(doc.api, {
    schemas: ["public", "private"],
    max_rows: 1000,
    ratio: -0.5,
    "quoted key": true,
  });
  assertEquals(settingsFromToml(doc).verifyJwt("with.dot"), false);
  assertEquals(doc.auth, {
    external: {
      apple: { enabled: false, secret: { name: "x", n: [1, 2] }, escaped: 'tab\there "quoted" é' },
    },
  });
  for (const [text, line] of [["a = 1\nb = ", 2], ["[a]\nx = 1\n[b\n", 3], ["a = 1\na = 2", 2]]) {
    let message = "";
    try {
      parseToml(text as string);
    } catch (error) {
      message = (error as Error).message;
    }
    assertMatch(message, new RegExp(`config\\.toml line ${line}\\)$`));
  }
});
