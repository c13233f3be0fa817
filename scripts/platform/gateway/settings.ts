/**
 * The parts of `supabase/config.toml` the gateway honours: which schemas the API exposes
 * (`[api] schemas`, `extra_search_path`) and each function's `verify_jwt`
 * (`[functions.<name>]`, true unless set to false), as the Supabase CLI reads them.
 */
import { isTomlTable, parseToml, type TomlTable, type TomlValue } from "./config_toml.ts";

/** What the gateway takes from config.toml. */
export interface GatewaySettings {
  /** Schemas reachable through `/rest/v1`; the first one is the default. */
  schemas: string[];
  /** Schemas appended to `search_path` for every API call (PostgREST `db-extra-search-path`). */
  extraSearchPath: string[];
  /** Whether the gateway checks the JWT before a function runs. */
  verifyJwt(functionName: string): boolean;
}

/** Supabase CLI defaults, used when config.toml is absent or silent. */
const DEFAULT_SCHEMAS = ["public", "graphql_public"];
const DEFAULT_EXTRA_SEARCH_PATH = ["public", "extensions"];

function table(value: TomlValue | undefined): TomlTable {
  return isTomlTable(value) ? value : {};
}

function stringList(value: TomlValue | undefined, fallback: string[], what: string): string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new Error(`config.toml: ${what} must be an array of strings`);
  }
  return value as string[];
}

/** Builds the settings from parsed config.toml content. */
export function settingsFromToml(doc: TomlTable): GatewaySettings {
  const api = table(doc.api);
  const functions = table(doc.functions);
  const schemas = stringList(api.schemas, DEFAULT_SCHEMAS, "[api] schemas");
  if (schemas.length === 0) throw new Error("config.toml: [api] schemas must not be empty");
  const verify = new Map<string, boolean>();
  for (const [name, section] of Object.entries(functions)) {
    const value = table(section).verify_jwt;
    if (value === undefined) continue;
    if (typeof value !== "boolean") {
      throw new Error(`config.toml: [functions.${name}] verify_jwt must be true or false`);
    }
    verify.set(name, value);
  }
  return {
    schemas,
    extraSearchPath: stringList(
      api.extra_search_path,
      DEFAULT_EXTRA_SEARCH_PATH,
      "[api] extra_search_path",
    ),
    verifyJwt: (name) => verify.get(name) ?? true,
  };
}

/**
 * Reads the gateway settings from a config.toml path; a missing file gives the defaults.
 *
 * @throws {Error} when the file exists but cannot be read as TOML.
 */
export async function loadSettings(path: string): Promise<GatewaySettings> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return settingsFromToml(parseToml(text));
}
