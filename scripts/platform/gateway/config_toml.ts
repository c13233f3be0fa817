/**
 * A small TOML reader for `supabase/config.toml`: tables (`[a.b]`), `key = value` pairs with
 * bare or quoted keys (dotted keys too), strings (basic and literal), booleans, numbers, arrays
 * (nested, multi-line) and inline tables. Dates, multi-line strings and arrays of tables are not
 * needed by the gateway and are refused with the line number, so a config it cannot read fails
 * loudly instead of being half read.
 */

/** A parsed TOML document: nested plain objects. */
export type TomlTable = { [key: string]: TomlValue };
/** Any value the reader returns. */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;

/** Raised for text this reader does not accept; the message names the line. */
export class TomlError extends Error {
  constructor(message: string, line: number) {
    super(`${message} (config.toml line ${line})`);
    this.name = "TomlError";
  }
}

const BARE_KEY = /[A-Za-z0-9_-]/;
const ESCAPES: Record<string, string> = {
  b: "\b",
  t: "\t",
  n: "\n",
  f: "\f",
  r: "\r",
  '"': '"',
  "\\": "\\",
};

/** Character-level cursor over the whole document, tracking the line for error messages. */
class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  get line(): number {
    let n = 1;
    for (let i = 0; i < this.pos && i < this.text.length; i++) if (this.text[i] === "\n") n++;
    return n;
  }
  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? "";
  }
  done(): boolean {
    return this.pos >= this.text.length;
  }
  fail(message: string): never {
    throw new TomlError(message, this.line);
  }
  /** Skips spaces and tabs on the current line. */
  skipBlanks(): void {
    while (this.peek() === " " || this.peek() === "\t") this.pos++;
  }
  /** Skips a `#` comment up to (not including) the end of the line. */
  skipComment(): void {
    if (this.peek() !== "#") return;
    while (!this.done() && this.peek() !== "\n") this.pos++;
  }
  /** Skips blanks, comments and newlines (inside arrays). */
  skipAll(): void {
    while (!this.done()) {
      this.skipBlanks();
      this.skipComment();
      if (this.peek() === "\n" || this.peek() === "\r") this.pos++;
      else return;
    }
  }
  /** Requires the end of the line (after optional blanks and a comment). */
  endLine(): void {
    this.skipBlanks();
    this.skipComment();
    if (this.peek() === "\r") this.pos++;
    if (this.done()) return;
    if (this.peek() !== "\n") this.fail(`Unexpected text "${this.peek()}" after a value`);
    this.pos++;
  }
}

function parseBasicString(c: Cursor): string {
  if (c.text.startsWith('"""', c.pos)) c.fail("Multi-line strings are not supported");
  c.pos++; // opening quote
  let out = "";
  while (true) {
    const ch = c.peek();
    if (ch === "" || ch === "\n") c.fail("Unterminated string");
    c.pos++;
    if (ch === '"') return out;
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const esc = c.peek();
    c.pos++;
    if (esc in ESCAPES) out += ESCAPES[esc];
    else if (esc === "u" || esc === "U") {
      const len = esc === "u" ? 4 : 8;
      const hex = c.text.slice(c.pos, c.pos + len);
      if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== len) c.fail("Invalid unicode escape");
      out += String.fromCodePoint(parseInt(hex, 16));
      c.pos += len;
    } else c.fail(`Invalid escape "\\${esc}"`);
  }
}

function parseLiteralString(c: Cursor): string {
  if (c.text.startsWith("'''", c.pos)) c.fail("Multi-line strings are not supported");
  const end = c.text.indexOf("'", c.pos + 1);
  const newline = c.text.indexOf("\n", c.pos + 1);
  if (end === -1 || (newline !== -1 && newline < end)) c.fail("Unterminated string");
  const out = c.text.slice(c.pos + 1, end);
  c.pos = end + 1;
  return out;
}

/** Reads a key, possibly dotted (`a."b.c".d`), as its list of parts. */
function parseKey(c: Cursor): string[] {
  const parts: string[] = [];
  while (true) {
    c.skipBlanks();
    const ch = c.peek();
    if (ch === '"') parts.push(parseBasicString(c));
    else if (ch === "'") parts.push(parseLiteralString(c));
    else {
      const start = c.pos;
      while (BARE_KEY.test(c.peek())) c.pos++;
      if (c.pos === start) c.fail("Expected a key");
      parts.push(c.text.slice(start, c.pos));
    }
    c.skipBlanks();
    if (c.peek() !== ".") return parts;
    c.pos++;
  }
}

function parseNumberOrBoolean(c: Cursor): number | boolean {
  const start = c.pos;
  while (/[A-Za-z0-9_.+:-]/.test(c.peek())) c.pos++;
  const raw = c.text.slice(start, c.pos);
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (raw === "inf" || raw === "+inf") return Infinity;
  if (raw === "-inf") return -Infinity;
  if (raw === "nan" || raw === "+nan" || raw === "-nan") return NaN;
  const digits = raw.replaceAll("_", "");
  if (/^[+-]?(0x[0-9A-Fa-f]+|0o[0-7]+|0b[01]+)$/.test(digits)) {
    const sign = digits.startsWith("-") ? -1 : 1;
    const body = digits.replace(/^[+-]/, "");
    const radix = body[1] === "x" ? 16 : body[1] === "o" ? 8 : 2;
    return sign * parseInt(body.slice(2), radix);
  }
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(digits)) return Number(digits);
  return c.fail(raw ? `Unsupported value "${raw}"` : "Expected a value");
}

function parseArray(c: Cursor): TomlValue[] {
  c.pos++; // [
  const out: TomlValue[] = [];
  while (true) {
    c.skipAll();
    if (c.peek() === "]") {
      c.pos++;
      return out;
    }
    out.push(parseValue(c));
    c.skipAll();
    if (c.peek() === ",") c.pos++;
    else if (c.peek() !== "]") c.fail("Expected , or ] in an array");
  }
}

function parseInlineTable(c: Cursor): TomlTable {
  c.pos++; // {
  const out: TomlTable = {};
  c.skipBlanks();
  if (c.peek() === "}") {
    c.pos++;
    return out;
  }
  while (true) {
    const key = parseKey(c);
    if (c.peek() !== "=") c.fail("Expected = after a key");
    c.pos++;
    c.skipBlanks();
    assign(c, out, key, parseValue(c));
    c.skipBlanks();
    if (c.peek() === "}") {
      c.pos++;
      return out;
    }
    if (c.peek() !== ",") c.fail("Expected , or } in an inline table");
    c.pos++;
  }
}

function parseValue(c: Cursor): TomlValue {
  const ch = c.peek();
  if (ch === '"') return parseBasicString(c);
  if (ch === "'") return parseLiteralString(c);
  if (ch === "[") return parseArray(c);
  if (ch === "{") return parseInlineTable(c);
  return parseNumberOrBoolean(c);
}

function isTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Walks (creating as needed) the tables named by `path` under `root`. */
function descend(c: Cursor, root: TomlTable, path: string[]): TomlTable {
  let table = root;
  for (const part of path) {
    const next = table[part];
    if (next === undefined) table = table[part] = {};
    else if (isTable(next)) table = next;
    else c.fail(`Key "${part}" is already a value, not a table`);
  }
  return table;
}

function assign(c: Cursor, table: TomlTable, key: string[], value: TomlValue): void {
  const parent = descend(c, table, key.slice(0, -1));
  const last = key[key.length - 1];
  if (last in parent) c.fail(`Key "${key.join(".")}" is defined twice`);
  parent[last] = value;
}

/**
 * Parses TOML text into nested objects.
 *
 * @throws {TomlError} on syntax this reader does not support, naming the line.
 * @example parseToml('[functions.hello]\nverify_jwt = false').functions // { hello: { verify_jwt: false } }
 */
export function parseToml(text: string): TomlTable {
  const c = new Cursor(text);
  const root: TomlTable = {};
  let current = root;
  while (true) {
    c.skipAll();
    if (c.done()) return root;
    if (c.peek() === "[") {
      if (c.peek(1) === "[") c.fail("Arrays of tables are not supported");
      c.pos++;
      const path = parseKey(c);
      if (c.peek() !== "]") c.fail("Expected ] after a table name");
      c.pos++;
      current = descend(c, root, path);
      c.endLine();
      continue;
    }
    const key = parseKey(c);
    if (c.peek() !== "=") c.fail("Expected = after a key");
    c.pos++;
    c.skipBlanks();
    assign(c, current, key, parseValue(c));
    c.endLine();
  }
}
