/**
 * What the RPC endpoint knows about database functions: their input parameters, return shape
 * and volatility, read from pg_catalog per schema and name (all overloads at once) and cached
 * for a short time, like PostgREST's schema cache. Also chooses among overloads by the set of
 * argument names, as PostgREST does (`findProc` in `src/PostgREST/Plan.hs`).
 */
import type { Sql } from "postgres";

/** An input parameter of a function. */
export interface RoutineParam {
  /** Empty for an unnamed parameter. */
  name: string;
  /** Type as SQL text (`integer`, `text[]`, `public.status`), safe to splice into a statement. */
  type: string;
  /** False when the parameter has a default. */
  required: boolean;
  variadic: boolean;
}

/** How the function's result becomes JSON. */
export type ReturnShape = "void" | "scalar" | "setof_scalar" | "composite" | "setof_composite";

/** A callable function (one overload). */
export interface Routine {
  schema: string;
  name: string;
  params: RoutineParam[];
  returns: ReturnShape;
  /** `i`mmutable, `s`table or `v`olatile. */
  volatility: "i" | "s" | "v";
  /** Statements already built for this routine, by call shape (see rpc_sql.ts). */
  statements: Map<string, string>;
}

/** The media types a function with a single unnamed parameter can take its body as. */
export type RawBodyType = "json" | "text" | "xml" | "bytea";

const SINGLE_PARAM_TYPES: Record<RawBodyType, string[]> = {
  json: ["json", "jsonb"],
  text: ["text"],
  xml: ["xml"],
  bytea: ["bytea"],
};

const OVERLOADS_SQL = `
select p.provolatile::text as volatility,
       p.proretset as retset,
       p.prorettype = 'pg_catalog.void'::pg_catalog.regtype as returns_void,
       (coalesce(bt.typtype, t.typtype) = 'c'
         or coalesce(p.proargmodes::text[] && '{t,b,o}', false)) as returns_composite,
       (p.pronargs - p.pronargdefaults)::int4 as required_count,
       coalesce(args.list, '[]') as args
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
join pg_catalog.pg_type t on t.oid = p.prorettype
left join pg_catalog.pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
left join lateral (
  select pg_catalog.json_agg(pg_catalog.json_build_object(
           'name', coalesce(a.name, ''),
           'type', case a.type
             when 'bit'::pg_catalog.regtype then 'bit varying'
             when 'bit[]'::pg_catalog.regtype then 'bit varying[]'
             when 'character'::pg_catalog.regtype then 'character varying'
             when 'character[]'::pg_catalog.regtype then 'character varying[]'
             else a.type::pg_catalog.regtype::text end,
           'variadic', coalesce(a.mode = 'v', false)) order by a.idx)::text as list
  from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
              coalesce(p.proargnames, '{}'::text[]),
              coalesce(p.proargmodes, '{}'::"char"[]))
         with ordinality as a(type, name, mode, idx)
  where a.type is not null and coalesce(a.mode, 'i') in ('i', 'b', 'v')
) args on true
where n.nspname = $1 and p.proname = $2 and p.prokind = 'f'
  and p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype`;

const NAMES_SQL = `
select distinct p.proname as name
from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname = $1 and p.prokind = 'f'`;

interface OverloadRow {
  volatility: "i" | "s" | "v";
  retset: boolean;
  returns_void: boolean;
  returns_composite: boolean;
  required_count: number;
  args: string;
}

function toRoutine(schema: string, name: string, row: OverloadRow): Routine {
  const raw = JSON.parse(row.args) as Array<{ name: string; type: string; variadic: boolean }>;
  const params = raw.map((p, i) => ({ ...p, required: i < row.required_count }));
  const returns: ReturnShape = row.returns_void && !row.retset
    ? "void"
    : row.returns_composite
    ? row.retset ? "setof_composite" : "composite"
    : row.retset
    ? "setof_scalar"
    : "scalar";
  return { schema, name, params, returns, volatility: row.volatility, statements: new Map() };
}

/** A function whose only parameter is unnamed, taking the whole body (PostgREST's fallback). */
export function singleUnnamedParam(routine: Routine): RoutineParam | undefined {
  const [only, ...rest] = routine.params;
  return only && rest.length === 0 && only.name === "" ? only : undefined;
}

/** PostgREST's rule: required parameters all given, optional ones given or not, nothing else. */
function matchesArgs(
  routine: Routine,
  keys: ReadonlySet<string>,
  rawBody: RawBodyType | undefined,
): boolean {
  if (routine.params.length === 0) {
    return keys.size === 0 && (rawBody === undefined || rawBody === "json");
  }
  if (routine.params.some((p) => p.name === "")) return false;
  const names = new Set(routine.params.map((p) => p.name));
  for (const key of keys) if (!names.has(key)) return false;
  return routine.params.every((p) => !p.required || keys.has(p.name));
}

/** The outcome of choosing an overload. */
export type Match =
  | { kind: "found"; routine: Routine }
  | { kind: "none" }
  | { kind: "ambiguous"; candidates: Routine[] };

/**
 * Picks the overload called with these argument names. `rawBody` is set for a POST whose body
 * can go whole to a function with a single unnamed parameter of a matching type.
 */
export function matchRoutine(
  overloads: Routine[],
  keys: ReadonlySet<string>,
  rawBody?: RawBodyType,
): Match {
  const named = overloads.filter((r) => matchesArgs(r, keys, rawBody));
  if (named.length === 1) return { kind: "found", routine: named[0] };
  if (named.length > 1) return { kind: "ambiguous", candidates: named };
  if (!rawBody) return { kind: "none" };
  const single = overloads.filter((r) => {
    const p = singleUnnamedParam(r);
    return p !== undefined && SINGLE_PARAM_TYPES[rawBody].includes(p.type);
  });
  if (single.length === 1) return { kind: "found", routine: single[0] };
  if (single.length > 1) return { kind: "ambiguous", candidates: single };
  return { kind: "none" };
}

/** Options of {@link RoutineCatalog}. */
export interface RoutineCatalogOptions {
  /** How long a schema/name lookup is trusted. Default 5000 ms. */
  ttlMs?: number;
}

interface Entry {
  at: number;
  routines: Promise<Routine[]>;
}

/**
 * Loads and caches function metadata. Lookups that run at the same time share one query.
 *
 * @example
 * const catalog = new RoutineCatalog(sql);
 * const { routines } = await catalog.overloads("public", "claim_jobs");
 */
export class RoutineCatalog {
  #sql: Sql;
  #ttlMs: number;
  #entries = new Map<string, Entry>();

  constructor(sql: Sql, opts: RoutineCatalogOptions = {}) {
    this.#sql = sql;
    this.#ttlMs = opts.ttlMs ?? 5000;
  }

  /**
   * Every callable overload of `schema.name`; `cached` tells whether they came from the cache
   * (so a "function does not exist" error may mean they are stale).
   */
  async overloads(schema: string, name: string): Promise<{ routines: Routine[]; cached: boolean }> {
    const key = `${schema}\u0000${name}`;
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < this.#ttlMs) return { routines: await hit.routines, cached: true };
    const routines = this.#load(schema, name);
    this.#entries.set(key, { at: now, routines });
    try {
      const found = await routines;
      // Unknown names are not remembered: a function created a moment later must be callable.
      if (found.length === 0) this.#forget(key, routines);
      return { routines: found, cached: false };
    } catch (error) {
      this.#forget(key, routines);
      throw error;
    }
  }

  #forget(key: string, routines: Promise<Routine[]>): void {
    if (this.#entries.get(key)?.routines === routines) this.#entries.delete(key);
  }

  /** Forgets one function (after it turned out stale) or everything (schema reload). */
  invalidate(schema?: string, name?: string): void {
    if (schema === undefined || name === undefined) this.#entries.clear();
    else this.#entries.delete(`${schema}\u0000${name}`);
  }

  /** Names of the functions in a schema, for "perhaps you meant" hints. Not cached. */
  async functionNames(schema: string): Promise<string[]> {
    const rows = await this.#sql.unsafe<{ name: string }[]>(NAMES_SQL, [schema], {
      prepare: true,
    });
    return rows.map((r) => r.name);
  }

  async #load(schema: string, name: string): Promise<Routine[]> {
    const rows = await this.#sql.unsafe<OverloadRow[]>(OVERLOADS_SQL, [schema, name], {
      prepare: true,
    });
    return rows.map((row) => toRoutine(schema, name, row));
  }
}
