/**
 * The email sender's pace (`RateWindow`): what Resend's rate limit headers change, read through
 * `waitMs()` (how long the next request would wait) rather than by waiting.
 */
import { assert, assertEquals } from "../_support/assert.ts";
import { RateWindow } from "../../supabase/functions/_shared/providers/rate_window.ts";

/** Headers as the SDK hands them over: a lower-case record. */
function limits(limit: number, remaining: number, reset = 1): Record<string, string> {
  return {
    "ratelimit-limit": String(limit),
    "ratelimit-remaining": String(remaining),
    "ratelimit-reset": String(reset),
  };
}

/** Makes `n` requests through the window, answered with the headers `answer(i)` gives. */
async function requests(window: RateWindow, n: number, answer: (i: number) => object) {
  for (let i = 0; i < n; i++) (await window.acquire())(answer(i) as Record<string, string>);
}

Deno.test("a lower announced limit replaces the configured one", async () => {
  const window = new RateWindow(5, () => 1_000_000);
  await requests(window, 1, () => limits(2, 1));
  assertEquals(window.limit, 2);
  assertEquals(window.waitMs(), 0, "one request of two: room for another");
  await requests(window, 1, () => limits(2, 0));
  assert(window.waitMs() > 0, "two of two in the last second: the next one waits");
});

Deno.test("nothing remaining because of our own requests costs no pause beyond our window", async () => {
  let now = 1_000_000;
  const window = new RateWindow(5, () => now);
  // Five requests, 100 ms apart: Resend's last answer says none remain, reset in 1 s.
  await requests(window, 5, (i) => {
    now += 100;
    return limits(5, 4 - i, 1);
  });
  // The window is full; the next request waits for the oldest answer to be a second old
  // (600 ms from now), not a whole `ratelimit-reset` second from the last answer.
  assertEquals(window.waitMs(), 600);
});

Deno.test("nothing remaining while our window has room means the key is shared: wait for the reset", async () => {
  const now = 1_000_000;
  const window = new RateWindow(5, () => now);
  await requests(window, 1, () => limits(5, 0, 1));
  assertEquals(window.waitMs(), 1000, "the announced reset");
});

Deno.test("a 429's retry-after holds every request back", () => {
  const window = new RateWindow(5, () => 1_000_000);
  window.observe({ "retry-after": "3" });
  assertEquals(window.waitMs(), 3000);
});
