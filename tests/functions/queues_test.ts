/**
 * The queue ↔ function pairing is declared once in TypeScript (`_shared/jobs/queues.ts`) and
 * created by the migrations with `jobs.create_queue(p_function_name => …)`: this test checks
 * that both say the same, so that SQL and TypeScript cannot drift apart.
 */
import { assertEquals } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import { QUEUES } from "../../supabase/functions/_shared/jobs/queues.ts";

const FUNCTIONS_DIR = new URL("../../supabase/functions/", import.meta.url);

/** The functions of this project: the folders of supabase/functions with an index.ts. */
async function projectFunctions(): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const entry of Deno.readDir(FUNCTIONS_DIR)) {
    if (!entry.isDirectory || entry.name.startsWith("_")) continue;
    try {
      await Deno.stat(new URL(`${entry.name}/index.ts`, FUNCTIONS_DIR));
      names.add(entry.name);
    } catch {
      // Not a function.
    }
  }
  return names;
}

Deno.test("jobs.queues pairs each queue with the function QUEUES declares, and only those", async () => {
  const sql = testSql();
  try {
    const functions = await projectFunctions();
    // Queues woken into a function of this project (tests create others of their own).
    const rows = await sql<{ name: string; function_name: string }[]>`
      select name, function_name from jobs.queues
      where function_name = any(${[...functions]}) order by name`;
    const declared = Object.values(QUEUES)
      .map((queue) => ({ name: queue.name, function_name: queue.functionName }))
      .sort((a, b) => a.name.localeCompare(b.name));
    assertEquals(rows.map((r) => ({ ...r })), declared);
    for (const queue of Object.values(QUEUES)) {
      assertEquals(functions.has(queue.functionName), true, `${queue.functionName} exists`);
    }
  } finally {
    await sql.end();
  }
});
