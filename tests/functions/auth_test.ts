import { assert, assertEquals } from "../_support/assert.ts";
import {
  requireInternalCaller,
  secretsEqual,
} from "../../supabase/functions/_shared/runtime/auth.ts";

const env = {
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key-for-tests",
  CRON_SECRET: "cron-secret-for-tests-0123456789",
};

function request(authorization?: string): Request {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return new Request("http://localhost/fn", { method: "POST", headers });
}

Deno.test("secretsEqual() accepts the same secret and refuses any other", async () => {
  assert(await secretsEqual("abc-123", "abc-123"));
  assert(!(await secretsEqual("abc-124", "abc-123")));
  assert(!(await secretsEqual("abc-123-and-more", "abc-123")));
  assert(!(await secretsEqual("", "")), "an empty expected secret must never match");
});

Deno.test("the internal guard lets the service role key and the cron secret through", async () => {
  assertEquals(
    await requireInternalCaller(request(`Bearer ${env.SUPABASE_SERVICE_ROLE_KEY}`), env),
    null,
  );
  assertEquals(await requireInternalCaller(request(`bearer ${env.CRON_SECRET}`), env), null);
});

Deno.test("the internal guard answers 401 JSON without the right bearer token", async () => {
  for (
    const header of [
      undefined,
      "",
      "Bearer",
      "Bearer wrong",
      `Basic ${env.CRON_SECRET}`,
      env.CRON_SECRET,
    ]
  ) {
    const denied = await requireInternalCaller(request(header), env);
    assert(denied, `expected a refusal for ${JSON.stringify(header)}`);
    assertEquals(denied.status, 401);
    assertEquals(denied.headers.get("content-type"), "application/json; charset=utf-8");
    const body = await denied.json();
    assertEquals(body.error.code, "unauthorized");
  }
});
