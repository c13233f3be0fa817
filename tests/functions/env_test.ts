import { assertEquals, assertThrows } from "../_support/assert.ts";
import { parseEnv } from "../../supabase/functions/_shared/runtime/env.ts";

Deno.test("parseEnv() names every missing variable in one message", () => {
  const error = assertThrows(() => parseEnv({ SUPABASE_URL: "http://127.0.0.1:54321" }));
  assertEquals(
    error.message,
    "Function environment is incomplete: SUPABASE_SERVICE_ROLE_KEY is not set; CRON_SECRET is not set",
  );
});

Deno.test("parseEnv() says what is wrong with a malformed variable", () => {
  const error = assertThrows(() =>
    parseEnv({ SUPABASE_URL: "not a url", SUPABASE_SERVICE_ROLE_KEY: "k", CRON_SECRET: "short" })
  );
  assertEquals(
    error.message.startsWith("Function environment is incomplete: SUPABASE_URL: "),
    true,
  );
  assertEquals(error.message.includes("CRON_SECRET: "), true);
});

Deno.test("parseEnv() returns the typed variables when all are present", () => {
  const env = parseEnv({
    SUPABASE_URL: "http://127.0.0.1:54321",
    SUPABASE_SERVICE_ROLE_KEY: "key",
    CRON_SECRET: "0123456789abcdef",
    UNRELATED: "x",
  });
  assertEquals(env.CRON_SECRET, "0123456789abcdef");
  assertEquals("UNRELATED" in env, false);
});
