/**
 * The gateway's PostgREST RPC endpoint on the running test platform (`SUPABASE_URL`): response
 * shapes, error mapping, role switching from the JWT, RLS, and what supabase-js `.rpc()` sees.
 * Fixture functions live in `public` under the `gw_test_` prefix.
 */
import { createClient } from "@supabase/supabase-js";
import { platformConfig } from "../../scripts/platform/config.ts";
import { startGateway } from "../../scripts/platform/gateway/server.ts";
import { signLocalJwt } from "../../scripts/platform/keys.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.ts`);
  return value;
}

const API = env("SUPABASE_URL");
const ANON_KEY = env("SUPABASE_ANON_KEY");
const SERVICE_KEY = env("SUPABASE_SERVICE_ROLE_KEY");
const JWT_SECRET = env("JWT_SECRET");

const USER_A = "00000000-0000-4000-8000-00000000000a";
const USER_B = "00000000-0000-4000-8000-00000000000b";

const FIXTURES = `
create or replace function public.gw_test_add(a int, b int default 10) returns int
language sql immutable as $$ select a + b $$;

create or replace function public.gw_test_rows(n int) returns table (i int, label text)
language sql stable as $$ select g, 'row ' || g from generate_series(1, n) g $$;

create or replace function public.gw_test_numbers(n int) returns setof bigint
language sql stable as $$ select g::bigint * 10 from generate_series(1, n) g $$;

create or replace function public.gw_test_pair(x int) returns public.gw_test_pair_t
language sql stable as $$ select (x, 'pair ' || x)::public.gw_test_pair_t $$;

create or replace function public.gw_test_nothing() returns void
language sql as $$ select $$;

create or replace function public.gw_test_big() returns table (big bigint, money numeric, t timestamptz)
language sql immutable as $$ select 9007199254740993::bigint, 1.50::numeric, '2026-01-02T03:04:05Z'::timestamptz $$;

create or replace function public.gw_test_shapes(xs int[], tags text[], doc jsonb, flag boolean)
returns jsonb language sql immutable as $$
  select jsonb_build_object('sum', (select sum(x) from unnest(xs) x), 'tags', to_jsonb(tags),
    'doc', doc, 'doc_type', jsonb_typeof(doc), 'flag', flag)
$$;

create or replace function public.gw_test_whoami() returns jsonb language sql stable as $$
  select jsonb_build_object(
    'current_user', current_user, 'role', auth.role(), 'uid', auth.uid(),
    'claims_role', auth.jwt() ->> 'role', 'method', current_setting('request.method', true),
    'path', current_setting('request.path', true),
    'header', current_setting('request.headers', true)::json ->> 'x-test-header')
$$;

create or replace function public.gw_test_raise() returns int language plpgsql as $$
begin
  raise exception 'Slot is already taken' using detail = 'slot 42', hint = 'Pick another slot';
end $$;

create or replace function public.gw_test_status() returns int language plpgsql as $$
begin
  raise sqlstate 'PT418' using message = 'I am a teapot';
end $$;

create table if not exists public.gw_test_items (id int primary key, parent int references public.gw_test_items (id));
truncate public.gw_test_items;

create or replace function public.gw_test_insert(p_id int, p_parent int default null) returns int
language sql as $$ insert into public.gw_test_items (id, parent) values (p_id, p_parent) returning id $$;

create or replace function public.gw_test_insert_then_fail(p_id int) returns int
language plpgsql as $$
begin
  insert into public.gw_test_items (id) values (p_id);
  raise exception 'Failed after the insert';
end $$;

create or replace function public.gw_test_over(a int) returns text language sql as $$ select 'int ' || a $$;
create or replace function public.gw_test_over(b text) returns text language sql as $$ select 'text ' || b $$;
create or replace function public.gw_test_twin(a int) returns text language sql as $$ select 'int' $$;
create or replace function public.gw_test_twin(a text) returns text language sql as $$ select 'text' $$;

create or replace function public.gw_test_internal() returns int language sql as $$ select 1 $$;
revoke execute on function public.gw_test_internal() from public, anon, authenticated;

create table if not exists public.gw_test_notes (owner uuid not null, body text not null);
alter table public.gw_test_notes enable row level security;
drop policy if exists "Users see their own notes" on public.gw_test_notes;
create policy "Users see their own notes" on public.gw_test_notes
  for select using (owner = auth.uid());
truncate public.gw_test_notes;
insert into public.gw_test_notes values
  ('${USER_A}', 'note of A'), ('${USER_B}', 'note of B'), ('${USER_B}', 'another note of B');

create or replace function public.gw_test_my_notes() returns setof public.gw_test_notes
language sql stable security invoker as $$ select * from public.gw_test_notes order by body $$;
`;

let fixtures: Promise<void> | undefined;

/** Creates the fixture functions once per run (each test awaits it). */
function ensureFixtures(): Promise<void> {
  fixtures ??= (async () => {
    const sql = testSql();
    try {
      await sql.unsafe(`
        do $$ begin
          create type public.gw_test_pair_t as (x int, label text);
        exception when duplicate_object then null; end $$;`);
      await sql.unsafe(FIXTURES);
    } finally {
      await sql.end();
    }
  })();
  return fixtures;
}

function userJwt(sub: string, extra: Record<string, unknown> = {}): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return signLocalJwt(JWT_SECRET, { sub, role: "authenticated", exp, ...extra });
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** Calls `/rest/v1/rpc/<fn>` with fetch and reads the whole answer. */
async function rpc(
  fn: string,
  init: { method?: string; body?: string; query?: string; token?: string; headers?: HeadersInit } =
    {},
): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined && !headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  const res = await fetch(`${API}/rest/v1/rpc/${fn}${init.query ?? ""}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body,
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the test looks at text.
  }
  return { status: res.status, headers: res.headers, text, json };
}

function client(key: string, token?: string) {
  return createClient(API, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
  });
}

Deno.test("a scalar function answers its bare JSON value, with PostgREST's content type", async () => {
  await ensureFixtures();
  const res = await rpc("gw_test_add", { body: '{"a": 1, "b": 2}' });
  assertEquals(res.status, 200);
  assertEquals(res.text, "3");
  assertEquals(res.headers.get("content-type"), "application/json; charset=utf-8");
});

Deno.test("arguments that have a default may be omitted", async () => {
  await ensureFixtures();
  assertEquals((await rpc("gw_test_add", { body: '{"a": 1}' })).json, 11);
});

Deno.test("a function returning a table answers a JSON array of objects", async () => {
  await ensureFixtures();
  const res = await rpc("gw_test_rows", { body: '{"n": 2}' });
  assertEquals(res.status, 200);
  assertEquals(res.json, [{ i: 1, label: "row 1" }, { i: 2, label: "row 2" }]);
  assertEquals((await rpc("gw_test_rows", { body: '{"n": 0}' })).json, []);
});

Deno.test("a setof scalar function answers a JSON array of scalars", async () => {
  await ensureFixtures();
  assertEquals((await rpc("gw_test_numbers", { body: '{"n": 3}' })).json, [10, 20, 30]);
});

Deno.test("a function returning one composite answers a JSON object", async () => {
  await ensureFixtures();
  assertEquals((await rpc("gw_test_pair", { body: '{"x": 7}' })).json, { x: 7, label: "pair 7" });
});

Deno.test("a void function answers 204 without a body", async () => {
  await ensureFixtures();
  const res = await rpc("gw_test_nothing", { body: "{}" });
  assertEquals(res.status, 204);
  assertEquals(res.text, "");
});

Deno.test("bigint and numeric values are JSON numbers written as Postgres prints them", async () => {
  await ensureFixtures();
  const res = await rpc("gw_test_big", { body: "" });
  assertEquals(res.status, 200);
  assertMatch(res.text, /"big":9007199254740993/);
  assertMatch(res.text, /"money":1\.50/);
  assertMatch(res.text, /"t":"2026-01-02T03:04:05\+00:00"/);
});

Deno.test("JSON arrays become Postgres arrays and JSON objects become jsonb", async () => {
  await ensureFixtures();
  const res = await rpc("gw_test_shapes", {
    body: JSON.stringify({ xs: [1, 2, 3], tags: ["a", "b"], doc: { k: [1, null] }, flag: true }),
  });
  assertEquals(res.status, 200);
  assertEquals(res.json, {
    sum: 6,
    tags: ["a", "b"],
    doc: { k: [1, null] },
    doc_type: "object",
    flag: true,
  });
});

Deno.test("GET passes arguments in the query string, arrays as Postgres literals", async () => {
  await ensureFixtures();
  assertEquals((await rpc("gw_test_add", { query: "?a=5&b=6" })).json, 11);
  const res = await rpc("gw_test_shapes", {
    query: `?xs=${encodeURIComponent("{4,5}")}&tags=${encodeURIComponent("{x}")}` +
      `&doc=${encodeURIComponent('{"z":1}')}&flag=false`,
  });
  assertEquals(res.json, { sum: 9, tags: ["x"], doc: { z: 1 }, doc_type: "object", flag: false });
});

Deno.test("a volatile function that writes runs on POST but answers 405 on GET", async () => {
  await ensureFixtures();
  const get = await rpc("gw_test_insert", { query: "?p_id=901" });
  assertEquals(get.status, 405);
  assertEquals((get.json as { code: string }).code, "25006");
  const post = await rpc("gw_test_insert", { body: '{"p_id": 901}' });
  assertEquals(post.status, 200);
  assertEquals(post.json, 901);
});

Deno.test("the SQL role comes from the JWT's role claim, anon without a token", async () => {
  await ensureFixtures();
  const call = async (token?: string, headers?: HeadersInit) =>
    (await rpc("gw_test_whoami", { body: "{}", token, headers })).json as Record<string, unknown>;

  const anonymous = await call(undefined, { "x-test-header": "hello" });
  assertEquals(anonymous.current_user, "anon");
  assertEquals(anonymous.role, "anon");
  assertEquals(anonymous.uid, null);
  assertEquals(anonymous.method, "POST");
  assertEquals(anonymous.path, "/rpc/gw_test_whoami");
  assertEquals(anonymous.header, "hello");

  const user = await call(await userJwt(USER_A));
  assertEquals(user.current_user, "authenticated");
  assertEquals(user.role, "authenticated");
  assertEquals(user.uid, USER_A);

  const service = await call(SERVICE_KEY);
  assertEquals(service.current_user, "service_role");
  assertEquals(service.claims_role, "service_role");
});

Deno.test("the apikey header stands in for a missing Authorization header", async () => {
  await ensureFixtures();
  const res = await rpc("gw_test_whoami", { body: "{}", headers: { apikey: SERVICE_KEY } });
  assertEquals((res.json as Record<string, unknown>).current_user, "service_role");
});

Deno.test("a forged or expired JWT answers 401 with PostgREST's JWT errors", async () => {
  await ensureFixtures();
  const forged = await signLocalJwt("another-secret-that-is-at-least-32-characters", {
    role: "service_role",
  });
  const bad = await rpc("gw_test_add", { body: '{"a": 1}', token: forged });
  assertEquals(bad.status, 401);
  assertEquals((bad.json as { code: string }).code, "PGRST301");
  assertMatch(bad.headers.get("www-authenticate") ?? "", /^Bearer error="invalid_token"/);

  const expired = await signLocalJwt(JWT_SECRET, {
    role: "authenticated",
    sub: USER_A,
    exp: Math.floor(Date.now() / 1000) - 3600,
  });
  const old = await rpc("gw_test_add", { body: '{"a": 1}', token: expired });
  assertEquals(old.status, 401);
  assertEquals(old.json, { code: "PGRST303", message: "JWT expired", details: null, hint: null });
});

Deno.test("a role the authenticator cannot switch to is refused", async () => {
  await ensureFixtures();
  const superuser = await rpc("gw_test_add", {
    body: '{"a": 1}',
    token: await signLocalJwt(JWT_SECRET, { role: "postgres" }),
  });
  assertEquals(superuser.status, 403);
  assertEquals((superuser.json as { code: string }).code, "42501");
  const missing = await rpc("gw_test_add", {
    body: '{"a": 1}',
    token: await signLocalJwt(JWT_SECRET, { role: "no_such_role" }),
  });
  assertEquals(missing.status, 401);
  assertEquals((missing.json as { code: string }).code, "22023");
});

Deno.test("a function without EXECUTE for the caller answers 401 to anon and 403 to a user", async () => {
  await ensureFixtures();
  const anon = await rpc("gw_test_internal", { body: "{}", token: ANON_KEY });
  assertEquals(anon.status, 401);
  assertEquals((anon.json as { code: string }).code, "42501");
  const user = await rpc("gw_test_internal", { body: "{}", token: await userJwt(USER_A) });
  assertEquals(user.status, 403);
  assertEquals((user.json as { code: string }).code, "42501");
  // service_role keeps the EXECUTE that Supabase's default privileges gave it.
  assertEquals((await rpc("gw_test_internal", { body: "{}", token: SERVICE_KEY })).status, 200);
});

Deno.test("row level security filters rows for the user of the JWT", async () => {
  await ensureFixtures();
  const asA = await rpc("gw_test_my_notes", { body: "{}", token: await userJwt(USER_A) });
  assertEquals(asA.json, [{ owner: USER_A, body: "note of A" }]);
  const asB = await rpc("gw_test_my_notes", { body: "{}", token: await userJwt(USER_B) });
  assertEquals((asB.json as unknown[]).length, 2);
  assertEquals((await rpc("gw_test_my_notes", { body: "{}" })).json, []);
  const asService = await rpc("gw_test_my_notes", { body: "{}", token: SERVICE_KEY });
  assertEquals((asService.json as unknown[]).length, 3);
});

Deno.test("raise exception answers 400 with the message, detail and hint", async () => {
  await ensureFixtures();
  const res = await rpc("gw_test_raise", { body: "{}" });
  assertEquals(res.status, 400);
  assertEquals(res.json, {
    code: "P0001",
    message: "Slot is already taken",
    details: "slot 42",
    hint: "Pick another slot",
  });
});

Deno.test("unique and foreign key violations answer 409", async () => {
  await ensureFixtures();
  await rpc("gw_test_insert", { body: '{"p_id": 910}' });
  const duplicate = await rpc("gw_test_insert", { body: '{"p_id": 910}' });
  assertEquals(duplicate.status, 409);
  assertEquals((duplicate.json as { code: string }).code, "23505");
  const orphan = await rpc("gw_test_insert", { body: '{"p_id": 911, "p_parent": 999}' });
  assertEquals(orphan.status, 409);
  assertEquals((orphan.json as { code: string }).code, "23503");
});

Deno.test("an SQLSTATE PTxyz sets the HTTP status to xyz", async () => {
  await ensureFixtures();
  const res = await rpc("gw_test_status", { body: "{}" });
  assertEquals(res.status, 418);
  assertEquals((res.json as { code: string; message: string }).message, "I am a teapot");
});

Deno.test("a failing function leaves nothing behind", async () => {
  await ensureFixtures();
  const res = await rpc("gw_test_insert_then_fail", { body: '{"p_id": 920}' });
  assertEquals(res.status, 400);
  const sql = testSql();
  try {
    const rows = await sql`select 1 from public.gw_test_items where id = 920`;
    assertEquals(rows.length, 0);
  } finally {
    await sql.end();
  }
});

Deno.test("an unknown function or argument set answers 404 PGRST202 with a hint", async () => {
  await ensureFixtures();
  const typo = await rpc("gw_test_ad", { body: '{"a": 1}' });
  assertEquals(typo.status, 404);
  assertEquals(typo.json, {
    code: "PGRST202",
    message: "Could not find the function public.gw_test_ad(a) in the schema cache",
    details: "Searched for the function public.gw_test_ad with parameter a or with a single " +
      "unnamed json/jsonb parameter, but no matches were found in the schema cache.",
    hint: "Perhaps you meant to call the function public.gw_test_add",
  });
  const wrongArgs = await rpc("gw_test_add", { body: '{"c": 1}' });
  assertEquals(wrongArgs.status, 404);
  assertEquals(
    (wrongArgs.json as { hint: string }).hint,
    "Perhaps you meant to call the function public.gw_test_add(a, b)",
  );
});

Deno.test("overloaded functions are told apart by argument names", async () => {
  await ensureFixtures();
  assertEquals((await rpc("gw_test_over", { body: '{"a": 1}' })).json, "int 1");
  assertEquals((await rpc("gw_test_over", { body: '{"b": "x"}' })).json, "text x");
  const ambiguous = await rpc("gw_test_twin", { body: '{"a": 1}' });
  assertEquals(ambiguous.status, 300);
  assertEquals((ambiguous.json as { code: string }).code, "PGRST203");
});

Deno.test("a function replaced by another signature is callable at once", async () => {
  await ensureFixtures();
  const sql = testSql();
  try {
    await sql.unsafe(`drop function if exists public.gw_test_sig(int);
      drop function if exists public.gw_test_sig(text);
      create function public.gw_test_sig(v int) returns text language sql as $$ select 'int' $$`);
    assertEquals((await rpc("gw_test_sig", { body: '{"v": 1}' })).json, "int");
    await sql.unsafe(`drop function public.gw_test_sig(int);
      create function public.gw_test_sig(v text) returns text language sql as $$ select 'text' $$`);
    assertEquals((await rpc("gw_test_sig", { body: '{"v": "1"}' })).json, "text");
  } finally {
    await sql.end();
  }
});

Deno.test("a schema that is not exposed answers 406 PGRST106", async () => {
  await ensureFixtures();
  const post = await rpc("gw_test_add", {
    body: '{"a": 1}',
    headers: { "Content-Profile": "auth" },
  });
  assertEquals(post.status, 406);
  assertEquals((post.json as { code: string }).code, "PGRST106");
  const get = await rpc("gw_test_add", { query: "?a=1", headers: { "Accept-Profile": "vault" } });
  assertEquals(get.status, 406);
});

Deno.test("a malformed body, an unsupported content type and an oversized body are refused", async () => {
  await ensureFixtures();
  const malformed = await rpc("gw_test_add", { body: '{"a": 1' });
  assertEquals(malformed.status, 400);
  assertEquals(malformed.json, {
    code: "PGRST102",
    message: "Empty or invalid json",
    details: null,
    hint: null,
  });
  const csv = await rpc("gw_test_add", { body: "a\n1", headers: { "content-type": "text/csv" } });
  assertEquals(csv.status, 400);
  assertEquals((csv.json as { code: string }).code, "PGRST102");
  const huge = await rpc("gw_test_add", {
    body: JSON.stringify({ a: 1, pad: "x".repeat(1_100_000) }),
  });
  assertEquals(huge.status, 413);
});

Deno.test("supabase-js rpc() gets data and PostgREST errors through the gateway", async () => {
  await ensureFixtures();
  const anon = client(ANON_KEY);
  const sum = await anon.rpc("gw_test_add", { a: 2, b: 3 });
  assertEquals(sum.error, null);
  assertEquals(sum.data, 5);
  assertEquals(sum.status, 200);

  const rows = await anon.rpc("gw_test_rows", { n: 3 }, { get: true });
  assertEquals(rows.data?.length, 3);

  const one = await anon.rpc("gw_test_rows", { n: 1 }).single();
  assertEquals(one.data, { i: 1, label: "row 1" });
  const many = await anon.rpc("gw_test_rows", { n: 2 }).single();
  assertEquals(many.status, 406);
  assertEquals(many.error?.code, "PGRST116");

  const failed = await anon.rpc("gw_test_raise");
  assertEquals(failed.status, 400);
  assertEquals(failed.data, null);
  assertEquals(failed.error?.code, "P0001");
  assertEquals(failed.error?.message, "Slot is already taken");
  assertEquals(failed.error?.details, "slot 42");
  assertEquals(failed.error?.hint, "Pick another slot");

  const voided = await anon.rpc("gw_test_nothing");
  assertEquals(voided.status, 204);
  assertEquals(voided.error, null);

  const asUser = client(ANON_KEY, await userJwt(USER_A));
  const me = await asUser.rpc("gw_test_whoami");
  assertEquals((me.data as Record<string, unknown>).uid, USER_A);
  const notes = await asUser.rpc("gw_test_my_notes");
  assertEquals(notes.data, [{ owner: USER_A, body: "note of A" }]);

  const denied = await asUser.rpc("gw_test_internal");
  assertEquals(denied.status, 403);
  assertEquals(denied.error?.code, "42501");
  assert(denied.error?.message.includes("permission denied"));
});

Deno.test("an unreachable database answers 503 PGRST000", async () => {
  const cfg = platformConfig("test");
  const logs: string[] = [];
  const gateway = await startGateway({
    cfg: { ...cfg, authenticatorUrl: "postgresql://authenticator:postgres@127.0.0.1:9/postgres" },
    functionEnv: {},
    log: (line) => logs.push(line),
    port: 0,
  });
  try {
    const res = await fetch(`${gateway.url}/rest/v1/rpc/gw_test_add`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"a": 1}',
    });
    assertEquals(res.status, 503);
    const body = await res.json();
    assertEquals(body.code, "PGRST000");
    assertEquals(body.message, "Database connection error. Retrying the connection.");
  } finally {
    await gateway.stop();
  }
});
