/**
 * `callRpc`, the one seam to SQL, against the real gateway: transient failures (a deadlock, a
 * lost connection, an API that is down) are called again and end in the real answer; permanent
 * ones are not; retries are bounded. The failures are injected in supabase-js's `fetch`, in
 * front of the real gateway, so every successful answer is the database's.
 */
import { createClient } from "@supabase/supabase-js";
import { z } from "zod";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";
import { callRpc, RpcError } from "../../supabase/functions/_shared/runtime/rpc.ts";

const TOKEN = "A".repeat(43);
const viewSchema = z.object({ state: z.string() });

/**
 * A service client whose first `failures` calls answer `failure` instead of reaching the
 * gateway; `calls()` counts every call made.
 */
function flakyClient(failures: number, failure: () => Response) {
  let calls = 0;
  const client = createClient<Database>(
    Deno.env.get("SUPABASE_URL")!,
    Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!,
    {
      auth: { persistSession: false, autoRefreshToken: false },
      global: {
        fetch: (input, init) =>
          ++calls <= failures ? Promise.resolve(failure()) : fetch(input, init),
      },
    },
  );
  return { client, calls: () => calls };
}

const deadlock = () =>
  Response.json({ code: "40P01", message: "deadlock detected" }, { status: 500 });
const apiDown = () =>
  Response.json({ code: "PGRST001", message: "Database client error" }, { status: 503 });

Deno.test("callRpc() calls again after a deadlock and returns the database's answer", async () => {
  const { client, calls } = flakyClient(2, deadlock);
  const view = await callRpc(client, "waitlist_invitation_view", { p_token: TOKEN }, viewSchema, {
    context: "rpc test",
  });
  assertEquals([view.state, calls()], ["unknown", 3]);
});

Deno.test("callRpc() rides out an API that answers 503 for a while", async () => {
  const { client, calls } = flakyClient(4, apiDown);
  const view = await callRpc(client, "waitlist_invitation_view", { p_token: TOKEN }, viewSchema, {
    context: "rpc test",
  });
  assertEquals([view.state, calls()], ["unknown", 5]);
});

Deno.test("callRpc() gives up after its retries with a retryable RpcError naming the tries", async () => {
  const { client, calls } = flakyClient(100, deadlock);
  let error: unknown;
  try {
    await callRpc(client, "waitlist_invitation_view", { p_token: TOKEN }, viewSchema, {
      context: "rpc test",
      retry: { retries: 2, backoffMs: 1 },
    });
  } catch (e) {
    error = e;
  }
  assert(error instanceof RpcError, `expected an RpcError, got ${error}`);
  assertEquals([error.code, error.permanent, calls()], ["40P01", false, 3]);
  assertMatch(error.message, /rpc test, after 3 tries/);
});

Deno.test("callRpc() does not call again when no retry can help", async () => {
  const { client, calls } = flakyClient(
    1,
    () => Response.json({ code: "23505", message: "duplicate key" }, { status: 409 }),
  );
  let error: unknown;
  try {
    await callRpc(client, "waitlist_invitation_view", { p_token: TOKEN }, viewSchema, {
      context: "rpc test",
    });
  } catch (e) {
    error = e;
  }
  assert(error instanceof RpcError, `expected an RpcError, got ${error}`);
  assertEquals([error.permanent, calls()], [true, 1]);
});
