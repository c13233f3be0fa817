/**
 * The stand-ins for what Supabase adds to Postgres behave like hosted Supabase: roles and their
 * default grants, the auth helpers reading `request.jwt.claims`, and Vault.
 */
import type postgres from "postgres";
import { assertEquals, assertNotEquals } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";

Deno.test("the API roles exist with Supabase's attributes", async () => {
  const sql = testSql();
  try {
    const roles = await sql`
      select rolname, rolcanlogin, rolinherit, rolbypassrls from pg_roles
      where rolname in ('anon', 'authenticated', 'service_role', 'authenticator') order by 1`;
    assertEquals(roles.map((r) => [r.rolname, r.rolcanlogin, r.rolinherit, r.rolbypassrls]), [
      ["anon", false, false, false],
      ["authenticated", false, false, false],
      ["authenticator", true, false, false],
      ["service_role", false, false, true],
    ]);
  } finally {
    await sql.end();
  }
});

Deno.test("a new function in public is executable by anon, as on hosted Supabase", async () => {
  const sql = testSql();
  try {
    await sql.begin(async (tx: postgres.TransactionSql) => {
      await tx`create function public.stand_in_default_grant() returns int language sql as 'select 1'`;
      const [row] = await tx`
        select has_function_privilege('anon', 'public.stand_in_default_grant()', 'execute') as anon,
               has_function_privilege('authenticated', 'public.stand_in_default_grant()', 'execute') as auth`;
      assertEquals([row.anon, row.auth], [true, true]);
      throw new Error("rolled back");
    }).catch((error: Error) => assertEquals(error.message, "rolled back"));
  } finally {
    await sql.end();
  }
});

Deno.test("auth.uid(), auth.role() and auth.jwt() read the request's JWT claims", async () => {
  const sql = testSql();
  try {
    const claims = {
      sub: "9f0c9a52-3f3c-4c57-9f59-2c4f3c1f0b11",
      role: "authenticated",
      email: "a@b.c",
    };
    const [row] = await sql.begin(async (tx: postgres.TransactionSql) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
      return await tx`select auth.uid()::text as uid, auth.role() as role, auth.jwt() as jwt, auth.email() as email`;
    });
    assertEquals([row.uid, row.role, row.email], [claims.sub, "authenticated", "a@b.c"]);
    assertEquals(row.jwt, claims);
    const [anon] = await sql`select auth.uid() as uid, auth.role() as role`;
    assertEquals([anon.uid, anon.role], [null, null]);
  } finally {
    await sql.end();
  }
});

Deno.test("Vault stores secrets encrypted and decrypts them in vault.decrypted_secrets", async () => {
  const sql = testSql();
  try {
    const name = `stand_in_${crypto.randomUUID()}`;
    const [{ id }] =
      await sql`select vault.create_secret('s3cret value', ${name}, 'for a test') as id`;
    const [stored] =
      await sql`select secret, description, key_id from vault.secrets where id = ${id}`;
    assertNotEquals(stored.secret, "s3cret value");
    assertEquals(stored.description, "for a test");
    const [plain] =
      await sql`select decrypted_secret from vault.decrypted_secrets where name = ${name}`;
    assertEquals(plain.decrypted_secret, "s3cret value");

    await sql`select vault.update_secret(${id}, 'new value')`;
    const [updated] = await sql`
      select decrypted_secret, updated_at > created_at as touched
      from vault.decrypted_secrets where id = ${id}`;
    assertEquals([updated.decrypted_secret, updated.touched], ["new value", true]);

    const columns = await sql`
      select column_name from information_schema.columns
      where table_schema = 'vault' and table_name = 'decrypted_secrets' order by ordinal_position`;
    assertEquals(columns.map((c) => c.column_name), [
      "id",
      "name",
      "description",
      "secret",
      "decrypted_secret",
      "key_id",
      "nonce",
      "created_at",
      "updated_at",
    ]);
    await sql`delete from vault.secrets where id = ${id}`;
  } finally {
    await sql.end();
  }
});

Deno.test("the API roles cannot read Vault", async () => {
  const sql = testSql();
  try {
    for (const role of ["anon", "authenticated"]) {
      const error = await sql.begin(async (tx: postgres.TransactionSql) => {
        await tx.unsafe(`set local role ${role}`);
        await tx`select * from vault.decrypted_secrets`;
      }).then(() => undefined, (e: { code?: string }) => e);
      assertEquals(error?.code, "42501", `${role} must get a permission error`);
    }
  } finally {
    await sql.end();
  }
});
