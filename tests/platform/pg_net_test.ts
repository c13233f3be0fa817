/**
 * The local pg_net stand-in on the running test platform: the SQL interface queues requests,
 * the worker sends them after COMMIT and stores what came back in `net._http_response`.
 * Each test points its requests at its own HTTP server on 127.0.0.1.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import { waitFor } from "../_support/wait.ts";

type Sql = ReturnType<typeof testSql>;

interface Received {
  method: string;
  path: string;
  search: string;
  headers: Headers;
  body: string;
}

interface Target {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** An HTTP server on a free port that records every request and answers with `handler`. */
function startTarget(handler: (req: Request) => Response | Promise<Response>): Target {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    received.push({
      method: req.method,
      path: url.pathname,
      search: url.search,
      headers: req.headers,
      body: await req.text(),
    });
    return await handler(req);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
  };
}

/** A promise with its resolver, to release handlers that wait. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => open = resolve);
  return { opened, open };
}

/** Waits for the response row of `id`. */
async function responseOf(sql: Sql, id: string) {
  return await waitFor(async () => {
    const [row] = await sql`select * from net._http_response where id = ${id}`;
    return row;
  }, { what: `the response of request ${id}` });
}

/** A port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("a committed net.http_post arrives with its JSON body and headers and gets a response row", async () => {
  const target = startTarget(() =>
    Response.json({ ok: true }, { status: 201, headers: { "x-reply": "yes" } })
  );
  const sql = testSql();
  try {
    const [{ id }] = await sql.begin((tx) =>
      tx`select net.http_post(
        ${target.url + "/hook"},
        ${sql.json({ event: "created", n: 1 })},
        headers := ${sql.json({ "X-Test": "yes", Authorization: "Bearer t" })}
      ) as id`
    );
    const response = await responseOf(sql, id);

    assertEquals(target.received.length, 1);
    const [req] = target.received;
    assertEquals(req.method, "POST");
    assertEquals(req.path, "/hook");
    assertEquals(JSON.parse(req.body), { event: "created", n: 1 });
    assertEquals(req.headers.get("content-type"), "application/json");
    assertEquals(req.headers.get("x-test"), "yes");
    assertEquals(req.headers.get("authorization"), "Bearer t");
    assertMatch(req.headers.get("user-agent") ?? "", /^pg_net\//);

    assertEquals(response.status_code, 201);
    assertEquals(response.content_type, "application/json");
    assertEquals(response.headers["x-reply"], "yes");
    assertEquals(JSON.parse(response.content), { ok: true });
    assertEquals(response.timed_out, false);
    assertEquals(response.error_msg, null);
  } finally {
    await sql.end();
    await target.close();
  }
});

Deno.test("a rolled-back request is never sent while one committed after it is", async () => {
  const target = startTarget(() => new Response("done"));
  const sql = testSql();
  try {
    let rolledBackId: string | undefined;
    const rollback = new Error("Roll back on purpose");
    const error = await assertRejects(() =>
      sql.begin(async (tx) => {
        const [row] = await tx`select net.http_post(${target.url + "/rolled-back"}) as id`;
        rolledBackId = row.id;
        throw rollback;
      })
    );
    assertEquals(error, rollback);
    assert(rolledBackId);

    const [{ id }] = await sql`select net.http_post(${target.url + "/committed"}) as id`;
    const response = await responseOf(sql, id);
    assertEquals(response.status_code, 200);
    assertEquals(response.content, "done");

    assertEquals(target.received.map((r) => r.path), ["/committed"]);
    const left = await sql`
      select id from net.http_request_queue where id = ${rolledBackId}
      union all
      select id from net._http_response where id = ${rolledBackId}`;
    assertEquals(left.length, 0);
  } finally {
    await sql.end();
    await target.close();
  }
});

Deno.test("net.http_get URL-encodes its params and appends them to the URL's query", async () => {
  const target = startTarget(() => new Response(null, { status: 204 }));
  const sql = testSql();
  try {
    const { id, url } = await sql.begin(async (tx) => {
      const [{ id }] = await tx`
        select net.http_get(
          ${target.url + "/search?a=1"},
          params := ${sql.json({ q: "a b&c=d", "é": "ü/~._-" })}
        ) as id`;
      const [{ url }] = await tx`select url from net.http_request_queue where id = ${id}`;
      return { id, url };
    });
    assertEquals(url, `${target.url}/search?a=1&q=a%20b%26c%3Dd&%C3%A9=%C3%BC%2F~._-`);

    const response = await responseOf(sql, id);
    assertEquals(response.status_code, 204);
    assertEquals(response.content, null);
    assertEquals(target.received.length, 1);
    assertEquals(target.received[0].method, "GET");
    assertEquals(target.received[0].search, "?a=1&q=a%20b%26c%3Dd&%C3%A9=%C3%BC%2F~._-");
  } finally {
    await sql.end();
    await target.close();
  }
});

Deno.test("net.http_delete sends a DELETE with its params and its optional JSON body", async () => {
  const target = startTarget(() => new Response("gone", { status: 202 }));
  const sql = testSql();
  try {
    const [{ id }] = await sql`
      select net.http_delete(
        ${target.url + "/items/7"},
        params := '{"force": "true"}'::jsonb,
        body := '{"reason": "test"}'::jsonb
      ) as id`;
    const response = await responseOf(sql, id);
    assertEquals(response.status_code, 202);
    assertEquals(response.content, "gone");
    const [req] = target.received;
    assertEquals(req.method, "DELETE");
    assertEquals(req.path + req.search, "/items/7?force=true");
    assertEquals(JSON.parse(req.body), { reason: "test" });
  } finally {
    await sql.end();
    await target.close();
  }
});

Deno.test("a request that outlives its timeout_milliseconds is stored as timed out with pg_net's message", async () => {
  const release = gate();
  const target = startTarget(async () => {
    // Never answers in time: waits until the test has seen the timeout.
    await release.opened;
    return new Response("too late");
  });
  const sql = testSql();
  try {
    const [{ id }] = await sql`
      select net.http_get(${target.url + "/slow"}, timeout_milliseconds := 200) as id`;
    const response = await responseOf(sql, id);
    assertEquals(response.timed_out, true);
    assertEquals(response.status_code, null);
    assertEquals(response.content, null);
    assertMatch(
      response.error_msg,
      /^Timeout of 200 ms reached\. Total time: \d+\.\d{6} ms \(DNS time: \d+\.\d{6} ms, TCP\/SSL handshake time: \d+\.\d{6} ms, HTTP Request\/Response time: \d+\.\d{6} ms\)$/,
    );
    const total = Number(/Total time: ([\d.]+)/.exec(response.error_msg)?.[1]);
    assert(total >= 200, `the request was cut at ${total} ms, before its timeout`);
  } finally {
    release.open();
    await sql.end();
    await target.close();
  }
});

Deno.test("a refused connection stores pg_net's error message and later requests still work", async () => {
  const target = startTarget(() => new Response("fine"));
  const sql = testSql();
  try {
    const [{ id }] = await sql`
      select net.http_get(${`http://127.0.0.1:${closedPort()}/nobody`}) as id`;
    const failed = await responseOf(sql, id);
    assertEquals(failed.status_code, null);
    assertEquals(failed.timed_out, false);
    assertEquals(failed.error_msg, "Couldn't connect to server");

    const [next] = await sql`select net.http_get(${target.url + "/after"}) as id`;
    const response = await responseOf(sql, next.id);
    assertEquals(response.status_code, 200);
    assertEquals(response.content, "fine");
  } finally {
    await sql.end();
    await target.close();
  }
});

Deno.test("responses older than pg_net.ttl are deleted when the worker takes requests", async () => {
  const target = startTarget(() => new Response("ok"));
  const sql = testSql();
  const [expired, recent] = ["-910001", "-910002"];
  try {
    // The default pg_net.ttl is 6 hours.
    await sql`
      insert into net._http_response (id, status_code, created)
      values (${expired}, 200, now() - interval '7 hours'),
             (${recent}, 200, now() - interval '5 hours')`;
    const [{ id }] = await sql`select net.http_get(${target.url}) as id`;
    await responseOf(sql, id);

    const left = await sql`
      select id from net._http_response where id in (${expired}, ${recent}) order by id`;
    assertEquals(left.map((r) => r.id), [recent]);
  } finally {
    await sql`delete from net._http_response where id in (${expired}, ${recent})`;
    await sql.end();
    await target.close();
  }
});

Deno.test("queued requests run concurrently, not one after another", async () => {
  const n = 8;
  const allArrived = gate();
  let arrived = 0;
  const target = startTarget(async () => {
    // Answers only once every request is in flight: sequential execution would time out.
    if (++arrived === n) allArrived.open();
    await allArrived.opened;
    return new Response("together");
  });
  const sql = testSql();
  try {
    const rows = await sql`
      select net.http_get(${target.url + "/together"}, timeout_milliseconds := 5000) as id
      from generate_series(1, ${n})`;
    const responses = await Promise.all(rows.map((r) => responseOf(sql, r.id)));
    assertEquals(responses.map((r) => [r.status_code, r.error_msg]), rows.map(() => [200, null]));
    assertEquals(target.received.length, n);
  } finally {
    allArrived.open();
    await sql.end();
    await target.close();
  }
});

Deno.test("net.http_post adds Content-Type application/json when missing and refuses any other", async () => {
  const sql = testSql();
  try {
    const headersOf = async (headers: Record<string, string>) => {
      let queued: Record<string, string> | undefined;
      const rollback = new Error("Roll back on purpose");
      await sql.begin(async (tx) => {
        const [{ id }] = await tx`
          select net.http_post('http://127.0.0.1:9/never',
            headers := ${sql.json(headers)}) as id`;
        const [row] = await tx`select headers from net.http_request_queue where id = ${id}`;
        queued = row.headers;
        throw rollback;
      }).catch((error) => {
        if (error !== rollback) throw error;
      });
      return queued;
    };
    assertEquals(await headersOf({ "X-Other": "1" }), {
      "X-Other": "1",
      "Content-Type": "application/json",
    });
    assertEquals(await headersOf({ "CONTENT-TYPE": "application/json" }), {
      "CONTENT-TYPE": "application/json",
    });

    const error = await assertRejects(() =>
      sql`select net.http_post('http://127.0.0.1:9/never',
        headers := '{"content-type": "text/plain"}'::jsonb)`
    );
    assertEquals(error.message, 'Content-Type header must be "application/json"');
  } finally {
    await sql.end();
  }
});

Deno.test("net.check_worker_is_up passes while the worker is connected", async () => {
  const sql = testSql();
  try {
    const rows = await sql`select net.check_worker_is_up()`;
    assertEquals(rows.length, 1);
  } finally {
    await sql.end();
  }
});
