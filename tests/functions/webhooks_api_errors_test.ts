/**
 * How the `webhooks` management API answers failures it cannot provoke on a healthy platform:
 * each SQLSTATE of an `RpcError` becomes its status with SQL's own sentence (22023 → 400, 42501
 * → 403, P0002 → 404, class 23 → 409), a database that cannot be reached becomes 503 and
 * anything else 500, always as `{error: {code, message}}`. Also the early admin check on the
 * JWT's claims. The 503 goes through the real app with a client whose network fails, in front
 * of the real gateway.
 */
import { createClient } from "@supabase/supabase-js";
import { assertEquals, assertMatch } from "../_support/assert.ts";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";
import { RpcError } from "../../supabase/functions/_shared/runtime/rpc.ts";
import { requireAdmin } from "../../supabase/functions/_shared/webhooks/admin.ts";
import { webhooksApi } from "../../supabase/functions/_shared/webhooks/api.ts";
import { ApiError, failureResponse } from "../../supabase/functions/_shared/webhooks/errors.ts";
import { signLocalJwt } from "../../scripts/platform/keys.ts";

/** An `RpcError` as `callRpc` writes them. */
function rpcError(code: string | undefined, sentence: string, permanent: boolean): RpcError {
  return new RpcError(
    `webhook_endpoint_get failed (admin a, endpoint b): ${sentence} [${code ?? "status 0"}]`,
    "webhook_endpoint_get",
    code,
    permanent,
  );
}

Deno.test("each SQLSTATE of a management RPC becomes its status, with SQL's own sentence", async () => {
  const cases: [RpcError, number, string, RegExp][] = [
    [rpcError("22023", "url must be http or https", true), 400, "invalid_request", /^url must/],
    [rpcError("42501", "Only admins manage webhook endpoints", false), 403, "forbidden", /^Only/],
    [rpcError("P0002", "Webhook endpoint b not found", true), 404, "not_found", /^Webhook/],
    [rpcError("23505", "duplicate key value", true), 409, "conflict", /^duplicate/],
    [rpcError("PGRST301", "JWT expired", false), 401, "unauthorized", /sign in again/],
    [rpcError(undefined, "fetch failed", false), 503, "unavailable", /try again/],
    [rpcError("XX000", "internal error", true), 500, "internal_error", /logs say why/],
  ];
  for (const [error, status, code, message] of cases) {
    const res = failureResponse(error, "GET /webhooks/endpoints/b");
    const body = await res.json();
    assertEquals([res.status, body.error.code], [status, code], error.message);
    assertMatch(body.error.message, message);
    assertEquals(res.headers.get("content-type"), "application/json; charset=utf-8");
  }
  const plain = failureResponse(new TypeError("boom"), "GET /webhooks/endpoints");
  assertEquals(plain.status, 500);
});

Deno.test("the early admin check reads the JWT's claims: 401 for no user, 403 for a non-admin", async () => {
  const secret = "a-local-secret-for-this-test-only-32-chars";
  const sign = (claims: Record<string, unknown>) => signLocalJwt(secret, claims);
  const sub = crypto.randomUUID();
  const refused: [string | null, number][] = [
    [null, 401],
    ["Basic abc", 401],
    ["Bearer not-a-jwt", 401],
    [`Bearer ${await sign({ role: "anon" })}`, 401],
    [`Bearer ${await sign({ role: "service_role" })}`, 401],
    [`Bearer ${await sign({ sub, role: "authenticated" })}`, 403],
    [`Bearer ${await sign({ sub, role: "authenticated", app_metadata: { role: "tech" } })}`, 403],
    // A role in user_metadata is the user's to write: it does not count.
    [`Bearer ${await sign({ sub, role: "authenticated", user_metadata: { role: "admin" } })}`, 403],
  ];
  for (const [header, status] of refused) {
    try {
      requireAdmin(header);
      throw new Error(`${header} was let through`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      assertEquals(error.status, status, `${header}: ${error.message}`);
    }
  }
  const header = `Bearer ${await sign({
    sub,
    role: "authenticated",
    app_metadata: { role: "admin" },
  })}`;
  assertEquals(requireAdmin(header), { userId: sub, authorization: header });
});

Deno.test("the API answers 503 when the database cannot be reached, after callRpc's retries", async () => {
  let calls = 0;
  const app = webhooksApi({
    asUser: (authorization) =>
      createClient<Database>(Deno.env.get("SUPABASE_URL")!, Deno.env.get("SUPABASE_ANON_KEY")!, {
        auth: { persistSession: false, autoRefreshToken: false },
        global: {
          headers: { Authorization: authorization },
          fetch: () => {
            calls++;
            return Promise.resolve(new Response("down", { status: 503 }));
          },
        },
      }),
  });
  const token = await signLocalJwt(Deno.env.get("JWT_SECRET")!, {
    sub: crypto.randomUUID(),
    role: "authenticated",
    app_metadata: { role: "admin" },
    exp: Math.floor(Date.now() / 1000) + 600,
  });
  const res = await app.request("/webhooks/endpoints", {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await res.json();
  assertEquals([res.status, body.error.code], [503, "unavailable"], JSON.stringify(body));
  assertEquals(calls, 5, "the first call and 4 retries");
});
