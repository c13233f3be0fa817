/**
 * The README's TypeScript examples compile: each ```ts block of README.md is written to a temp
 * file and type-checked with `deno check`. A block whose first line is a path comment
 * (`// supabase/functions/job-probe/index.ts`) is checked in that file's folder, so its relative
 * imports resolve as they would there; other blocks are checked at the repository root.
 */
import { assert, assertEquals } from "../_support/assert.ts";

const ROOT = new URL("../../", import.meta.url);

/** The ```ts blocks of a Markdown text, with the line each starts on. */
function tsBlocks(markdown: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end].startsWith("```")) end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join("\n") + "\n" });
    i = end;
  }
  return blocks;
}

Deno.test("every TypeScript example of README.md type-checks", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const blocks = tsBlocks(readme);
  assert(blocks.length > 0, "the README has TypeScript examples");
  const files: string[] = [];
  try {
    for (const [n, block] of blocks.entries()) {
      const at = /^\/\/ (\S+\.ts)\s*$/.exec(block.code.split("\n")[0])?.[1];
      const folder = at ? new URL(at.replace(/[^/]+$/, ""), ROOT) : ROOT;
      const file = new URL(`.readme_example_${n}_${crypto.randomUUID()}.ts`, folder);
      await Deno.writeTextFile(file, `// README.md line ${block.line}\n${block.code}`);
      files.push(file.pathname);
    }
    const checked = await new Deno.Command(Deno.execPath(), {
      args: ["check", ...files],
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const errors = new TextDecoder().decode(checked.stderr);
    assertEquals(checked.success, true, `README examples do not compile:\n${errors}`);
  } finally {
    for (const file of files) await Deno.remove(file).catch(() => {});
  }
});
