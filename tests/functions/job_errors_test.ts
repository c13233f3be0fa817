import { assert, assertEquals, assertInstanceOf } from "../_support/assert.ts";
import {
  httpFailure,
  PermanentJobError,
  retryAfterSeconds,
  RetryLaterError,
  rpcFailure,
} from "../../supabase/functions/_shared/job_errors.ts";

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

Deno.test("rpcFailure() makes a missing row or an invalid argument permanent, the rest retryable", () => {
  assert(rpcFailure("gone", "P0002") instanceof PermanentJobError);
  assert(rpcFailure("bad argument", "22023") instanceof PermanentJobError);
  for (const code of ["40P01", "08006", undefined]) {
    const error = rpcFailure("transient", code);
    assert(!(error instanceof PermanentJobError), `${code} retries`);
    assertEquals(error.message, "transient");
  }
});
