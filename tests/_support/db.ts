/**
 * A database client for tests, connected as the superuser to the test platform's database
 * (`TEST_DB_URL`, set by scripts/test.ts). Each test ends the client it opened.
 */
import postgres from "postgres";

/** A `postgres` client for `TEST_DB_URL`: at most 5 connections, notices ignored. */
export function testSql(): postgres.Sql {
  const url = Deno.env.get("TEST_DB_URL");
  if (!url) throw new Error("TEST_DB_URL is not set: run the tests with scripts/test.ts");
  return postgres(url, { max: 5, onnotice: () => {} });
}
