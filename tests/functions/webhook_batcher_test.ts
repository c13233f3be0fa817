/**
 * The delivery engine's micro-batcher: concurrent `add`s become one call, each caller gets its
 * own result; items that come while calls are under way go together in the next one; a batch
 * is never larger than `maxBatch`; a failed call, or an answer of the wrong length, rejects each
 * of its callers.
 */
import { assertEquals, assertMatch, assertRejects } from "../_support/assert.ts";
import { Batcher } from "../../supabase/functions/_shared/providers/webhooks/batcher.ts";

Deno.test("a hundred concurrent adds make one call, each with its own result", async () => {
  const calls: number[][] = [];
  const batcher = new Batcher<number, string>((items) => {
    calls.push(items);
    return Promise.resolve(items.map((i) => `#${i}`));
  });
  const ids = Array.from({ length: 100 }, (_, i) => i);
  const results = await Promise.all(ids.map((i) => batcher.add(i)));
  assertEquals(results, ids.map((i) => `#${i}`));
  assertEquals(calls, [ids]);
  assertEquals(batcher.calls, 1);
});

Deno.test("items added during a call wait for it (maxInFlight 1) and go together in the next", async () => {
  const calls: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  let entered!: () => void;
  const underWay = new Promise<void>((resolve) => entered = resolve);
  const batcher = new Batcher<number, number>(async (items) => {
    calls.push(items);
    entered();
    if (calls.length === 1) await gate;
    return items.map((i) => i * 10);
  }, { maxInFlight: 1 });
  const first = batcher.add(1);
  await underWay;
  const later = [batcher.add(2), batcher.add(3), batcher.add(4)];
  // A call would start on the next turn of the event loop: let two turns pass.
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(calls, [[1]], "no second call while the first is under way");
  release();
  assertEquals(await Promise.all([first, ...later]), [10, 20, 30, 40]);
  assertEquals(calls, [[1], [2, 3, 4]]);
});

Deno.test("batches are split at maxBatch", async () => {
  const sizes: number[] = [];
  const batcher = new Batcher<number, number>((items) => {
    sizes.push(items.length);
    return Promise.resolve(items);
  }, { maxBatch: 40, maxInFlight: 2 });
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => batcher.add(i)));
  assertEquals(results.length, 100);
  assertEquals(sizes, [40, 40, 20]);
});

Deno.test("a failed call rejects each of its callers; a wrong-length answer too", async () => {
  const failing = new Batcher<number, number>(() => Promise.reject(new Error("database is down")));
  const errors = await Promise.all([1, 2].map((i) => assertRejects(() => failing.add(i))));
  assertEquals(errors.map((e) => e.message), ["database is down", "database is down"]);

  const short = new Batcher<number, number>(() => Promise.resolve([1]));
  const [a, b] = await Promise.all([1, 2].map((i) => assertRejects(() => short.add(i))));
  assertMatch(a.message, /answered 1 results for 2 items/);
  assertEquals(a, b);
  // The batcher keeps working after a failure.
  let ok = 0;
  const recovering = new Batcher<number, number>((items) => {
    if (ok++ === 0) return Promise.reject(new Error("once"));
    return Promise.resolve(items);
  });
  await assertRejects(() => recovering.add(1));
  assertEquals(await recovering.add(2), 2);
});
