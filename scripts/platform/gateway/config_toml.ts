/**
 * Reads `supabase/config.toml` with `smol-toml` (a complete TOML 1.0 parser), and words its
 * errors with the file and line, so a config the gateway cannot read fails loudly.
 */
import { parse, TomlError as SmolTomlError, type TomlPrimitive } from "smol-toml";

/** A parsed TOML document: nested plain objects. */
export type TomlTable = { [key: string]: TomlValue };
/** Any value the reader returns (dates are `TomlDate`, a `Date`). */
export type TomlValue = TomlPrimitive | TomlValue[] | TomlTable;

/** Raised for text that is not valid TOML; the message names the file and the line. */
export class TomlError extends Error {
  constructor(message: string, file: string, line: number) {
    super(`${message} (${file} line ${line})`);
    this.name = "TomlError";
  }
}

/** Copies smol-toml's null-prototype tables into ordinary objects (what callers compare with). */
function plain(value: TomlValue): TomlValue {
  if (Array.isArray(value)) return value.map(plain);
  if (!isTomlTable(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]));
}

/**
 * Parses TOML text into nested plain objects.
 *
 * @param file the name errors give the text, `config.toml` unless told.
 * @throws {TomlError} on invalid TOML (a key defined twice, say), naming the line.
 * @example parseToml('[functions.hello]\nverify_jwt = false').functions // { hello: { verify_jwt: false } }
 */
export function parseToml(text: string, file = "config.toml"): TomlTable {
  try {
    return plain(parse(text)) as TomlTable;
  } catch (error) {
    if (!(error instanceof SmolTomlError)) throw error;
    // smol-toml's message: "Invalid TOML document: <what>\n\n<the lines around it>".
    const what = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    throw new TomlError(`Invalid TOML: ${what}`, file, error.line);
  }
}

/** True for a TOML table (not an array, not a date). */
export function isTomlTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);
}
