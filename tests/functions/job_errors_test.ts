import { assert, assertEquals, assertInstanceOf } from "../_support/assert.ts";
import {
  httpFailure,
  isPermanentFailure,
  PermanentJobError,
  retryAfterSeconds,
  RetryLaterError,
  ThrottledError,
} from "../../supabase/functions/_shared/jobs/errors.ts";
import {
  isPermanent,
  isTransient,
  RpcError,
} from "../../supabase/functions/_shared/runtime/rpc.ts";

Deno.test("retryAfterSeconds() reads seconds and HTTP dates, and ignores garbage", () => {
  const now = Date.parse("2026-11-21T10:00:00Z");
  assertEquals(retryAfterSeconds("30", now), 30);
  assertEquals(retryAfterSeconds("1.5", now), 1.5);
  assertEquals(retryAfterSeconds("Sat, 21 Nov 2026 10:01:00 GMT", now), 60);
  assertEquals(retryAfterSeconds("Sat, 21 Nov 2026 09:00:00 GMT", now), 0);
  assertEquals(retryAfterSeconds("soon", now), undefined);
  assertEquals(retryAfterSeconds(null, now), undefined);
});

Deno.test("httpFailure() retries 408, 429 and 5xx, and gives up on other 4xx", () => {
  const headers = new Headers({ "retry-after": "7" });
  for (const status of [408, 429, 500, 502, 503]) {
    const error = httpFailure("Provider", status, headers, "busy");
    assertInstanceOf(error, RetryLaterError);
    assertEquals(error.retryAfterSeconds, 7);
  }
  for (const status of [400, 401, 403, 404, 409, 422]) {
    assertInstanceOf(httpFailure("Provider", status, headers, "bad"), PermanentJobError);
  }
  assertEquals(
    httpFailure("Resend POST /emails", 422, new Headers(), '{"name":"validation_error"}').message,
    'Resend POST /emails answered 422: {"name":"validation_error"}',
  );
});

Deno.test("httpFailure() makes a 429 a throttled failure, and nothing else", () => {
  assertInstanceOf(httpFailure("Provider", 429, new Headers(), "slow down"), ThrottledError);
  for (const status of [408, 500, 503]) {
    assert(!(httpFailure("Provider", status, new Headers(), "x") instanceof ThrottledError));
  }
});

Deno.test("a missing row, an invalid argument or a constraint is permanent; the rest retries", () => {
  for (const code of ["P0002", "22023", "22P02", "23505", "23503"]) {
    assert(isPermanent(code), `${code} is permanent`);
    assert(isPermanentFailure(new RpcError("x", "fn", code, isPermanent(code))));
  }
  for (const code of ["40P01", "40001", "08006", "57P01", "P0001", undefined]) {
    assert(!isPermanent(code), `${code} retries`);
    assert(!isPermanentFailure(new RpcError("x", "fn", code, isPermanent(code))));
  }
  assert(isPermanentFailure(new PermanentJobError("gone")));
  assert(!isPermanentFailure(new Error("anything else")));
});

Deno.test("deadlocks, serialization failures, lost connections and a down API are transient", () => {
  for (const code of ["40001", "40P01", "08006", "08003", "57P01"]) {
    assert(isTransient(code, 500), `${code} is transient`);
  }
  assert(isTransient(undefined, 0), "a fetch that failed");
  assert(isTransient(undefined, 503), "the API answered 503");
  for (const code of ["P0002", "22023", "23505", "P0001", "42501"]) {
    assert(!isTransient(code, 400), `${code} is not transient`);
  }
});
