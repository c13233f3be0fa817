/**
 * Builds the SQL that calls a function the way PostgREST does (`callPlanToQuery` and
 * `mainCall` in PostgREST's QueryBuilder/Statements): named arguments read from the JSON body
 * with `json_to_record` (so arrays become Postgres arrays, objects jsonb, and so on), or given
 * as text parameters cast to the parameter type (GET query string, form bodies), and the result
 * aggregated to JSON text in the database. Statements are cached on the routine per call shape.
 */
import type { Routine } from "./rpc_catalog.ts";

/** Where the arguments come from. */
export type ArgSource =
  /** `$1` is the JSON object body; `keys` are the argument names present. */
  | { kind: "json"; keys: string[] }
  /** `$1..$n` are text values for `keys`, in that order. */
  | { kind: "direct"; keys: string[] }
  /** `$1` is the whole body, for the function's single unnamed parameter. */
  | { kind: "single" };

/** How the result is shaped. */
export interface OutputShape {
  /** `Accept: application/vnd.pgrst.object+json`: the first row as an object. */
  singular: boolean;
  /** `nulls=stripped`: drop null-valued keys. */
  stripNulls: boolean;
}

/** Quotes an identifier for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function paramOf(routine: Routine, name: string) {
  const param = routine.params.find((p) => p.name === name);
  if (!param) {
    throw new Error(`Function ${routine.schema}.${routine.name} has no parameter ${name}`);
  }
  return param;
}

function argumentList(routine: Routine, source: ArgSource): string {
  if (source.kind === "single") {
    const type = routine.params[0].type;
    return type === "bytea" ? "$1::bytea" : `$1::text::${type}`;
  }
  return source.keys.map((key, i) => {
    const param = paramOf(routine, key);
    const value = source.kind === "json"
      ? `pgrst_body.${quoteIdent(key)}`
      : `$${i + 1}::text::${param.type}`;
    return `${param.variadic ? "VARIADIC " : ""}${quoteIdent(key)} := ${value}`;
  }).join(", ");
}

function build(routine: Routine, source: ArgSource, out: OutputShape): string {
  const call = `${quoteIdent(routine.schema)}.${quoteIdent(routine.name)}(${
    argumentList(routine, source)
  })`;
  const scalar = routine.returns === "void" || routine.returns === "scalar" ||
    routine.returns === "setof_scalar";
  const callItem = scalar ? `(select ${call} pgrst_scalar) pgrst_call` : `${call} pgrst_call`;
  const from = source.kind === "json" && source.keys.length > 0
    ? `pg_catalog.json_to_record($1::text::json) as pgrst_body(${
      source.keys.map((k) => `${quoteIdent(k)} ${paramOf(routine, k).type}`).join(", ")
    }), lateral ${callItem}`
    : callItem;
  const element = scalar ? "_postgrest_t.pgrst_scalar" : "_postgrest_t";
  const agg = out.stripNulls
    ? `pg_catalog.json_strip_nulls(pg_catalog.json_agg(${element}))`
    : `pg_catalog.json_agg(${element})`;
  const many = routine.returns === "setof_scalar" || routine.returns === "setof_composite";
  const body = many && !out.singular
    ? `coalesce(${agg}::text, '[]')`
    : `coalesce((${agg}->0)::text, 'null')`;
  return `select ${body} as body, pg_catalog.count(*)::int4 as n ` +
    `from (select ${
      scalar ? "pgrst_call.pgrst_scalar" : "pgrst_call.*"
    } from ${from}) _postgrest_t`;
}

/**
 * The statement calling `routine` for this argument source and output shape. Its parameters:
 * `[body]` for json (with keys) and single, the values in key order for direct, none for json
 * without keys.
 */
export function callStatement(routine: Routine, source: ArgSource, out: OutputShape): string {
  const key = `${source.kind}\u0001${out.singular ? 1 : 0}${out.stripNulls ? 1 : 0}\u0001${
    source.kind === "single" ? "" : source.keys.join("\u0000")
  }`;
  let text = routine.statements.get(key);
  if (text === undefined) {
    text = build(routine, source, out);
    routine.statements.set(key, text);
  }
  return text;
}
