/**
 * The dev command starts the whole platform, proves the job pipeline with a probe, prints where
 * everything is, and Ctrl-C (SIGINT) stops every process it started.
 * It runs on ports of its own (PLATFORM_PORT_OFFSET), beside a developer's running stack.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { portInUse } from "../../scripts/platform/process.ts";

const OFFSET = 3000;
const API_PORT = 54321 + OFFSET;
const DB_PORT = 54322 + OFFSET;

/** Pids of the processes whose command line contains `text`. */
async function processesWith(text: string): Promise<Set<string>> {
  const pids = new Set<string>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(text)) pids.add(entry.name);
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

Deno.test("scripts/dev.ts starts everything, and SIGINT leaves nothing running", async () => {
  const functionsBefore = await processesWith("supabase/functions/job-probe/index.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "scripts/dev.ts", "--reset"],
    env: { PLATFORM_PORT_OFFSET: String(OFFSET), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const decoder = new TextDecoder();
  let output = "";
  const reader = child.stdout.getReader();
  while (!output.includes("Ctrl-C stops it")) {
    const { value, done } = await reader.read();
    if (done) break;
    output += decoder.decode(value, { stream: true });
  }
  assertMatch(output, /Job pipeline check: probe \d+ handled \d+ ms after its insert\./);
  assertMatch(
    output,
    new RegExp(`Functions +http://127\\.0\\.0\\.1:${API_PORT}/functions/v1/<name>`),
  );
  assertMatch(
    output,
    new RegExp(`postgresql://postgres:postgres@127\\.0\\.0\\.1:${DB_PORT}/postgres`),
  );
  assert(await portInUse(API_PORT), "the gateway listens");
  assert(await portInUse(DB_PORT), "Postgres listens");

  child.kill("SIGINT");
  // Drain the rest of stdout so the process can exit.
  while (!(await reader.read()).done) { /* discard */ }
  const status = await child.status;
  assertEquals(status.code, 0);
  assertEquals(await portInUse(API_PORT), false, "the gateway port is closed");
  assertEquals(await portInUse(DB_PORT), false, "the database port is closed");
  assertEquals((await processesWith(`.local/dev-${OFFSET}/pg`)).size, 0, "no postgres is left");
  const functionsAfter = await processesWith("supabase/functions/job-probe/index.ts");
  const leftover = [...functionsAfter].filter((pid) => !functionsBefore.has(pid));
  assertEquals(leftover, [], "no function process is left");
});
