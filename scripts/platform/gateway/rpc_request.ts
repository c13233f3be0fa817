/**
 * Reading an RPC request the way PostgREST does: the arguments (query string for GET/HEAD,
 * JSON or form body for POST, a raw body for a single unnamed parameter), the requested
 * representation (`Accept`), and the request facts SQL sees (`request.headers`,
 * `request.cookies`). Failures are {@link ApiRejection}s carrying PostgREST's error.
 */
import type { RawBodyType } from "./rpc_catalog.ts";
import { apiError, ApiRejection } from "./rpc_errors.ts";
import type { OutputShape } from "./rpc_sql.ts";

/** Arguments as read from the request, before a function is chosen. */
export interface RequestArgs {
  /** Argument names given. */
  keys: Set<string>;
  /** Set for POST bodies that may go whole to a single unnamed parameter. */
  rawBody?: RawBodyType;
  /** The JSON body (text), when it is an object. */
  jsonObject?: string;
  /** The JSON body is not an object: only a single-unnamed-parameter function takes it. */
  jsonOther?: boolean;
  /** The whole body, for a single unnamed parameter. */
  whole?: string | Uint8Array;
  /** Text values (query string or form body); the last of repeated keys wins. */
  values?: Map<string, string>;
}

/** The negotiated output: shape plus the Content-Type to answer with. */
export interface Negotiated extends OutputShape {
  contentType: string;
}

/** Query parameters PostgREST reserves for itself (never function arguments). */
const RESERVED_PARAMS = new Set(["select", "columns", "order", "limit", "offset", "on_conflict"]);
const RAW_BODY_TYPES: Record<string, RawBodyType> = {
  "text/plain": "text",
  "text/xml": "xml",
  "application/octet-stream": "bytea",
};

function mediaType(value: string | null): string | undefined {
  return value?.split(";")[0].trim().toLowerCase() || undefined;
}

/**
 * PostgREST's content negotiation for function results (JSON representations only).
 *
 * @throws {ApiRejection} 406 PGRST107 when no offered type is available.
 */
export function negotiate(accept: string | null): Negotiated {
  if (!accept) return { singular: false, stripNulls: false, contentType: "application/json" };
  const ranges = accept.split(",").map((r) => r.trim()).filter(Boolean);
  for (const range of ranges) {
    const [type, ...params] = range.split(";").map((p) => p.trim().toLowerCase());
    const stripNulls = params.includes("nulls=stripped");
    if (type === "*/*" || type === "application/*" || type === "application/json") {
      return { singular: false, stripNulls: false, contentType: "application/json" };
    }
    if (type === "application/vnd.pgrst.array+json") {
      return { singular: false, stripNulls, contentType: "application/vnd.pgrst.array+json" };
    }
    if (type === "application/vnd.pgrst.object+json") {
      return { singular: true, stripNulls, contentType: "application/vnd.pgrst.object+json" };
    }
  }
  throw new ApiRejection(apiError(
    406,
    "PGRST107",
    `None of these media types are available: ${ranges.map((r) => r.split(";")[0]).join(", ")}`,
  ));
}

/** `request.cookies` as PostgREST sets it: a JSON object of the Cookie header's pairs. */
export function cookiesJson(header: string | null): string {
  const out: Record<string, string> = {};
  if (header) {
    for (const part of header.split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
  }
  return JSON.stringify(out);
}

/** `request.headers` as PostgREST sets it: lower-case names, Cookie left out. */
export function headersJson(headers: Headers): string {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) if (name !== "cookie") out[name] = value;
  return JSON.stringify(out);
}

/** Reads a body up to `limit` bytes; undefined when it is larger. */
async function readBody(req: Request, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await req.body?.cancel();
    return undefined;
  }
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** GET/HEAD arguments: every query parameter PostgREST does not reserve. */
export function queryArgs(url: URL): RequestArgs {
  const values = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!RESERVED_PARAMS.has(key)) values.set(key, value);
  }
  return { keys: new Set(values.keys()), values };
}

/**
 * POST arguments from the body, by Content-Type (JSON when absent).
 *
 * @throws {ApiRejection} 400 PGRST102 for an unsupported type or malformed JSON, 413 for a
 * body over `limit` bytes.
 */
export async function postArgs(req: Request, limit: number): Promise<RequestArgs> {
  const type = mediaType(req.headers.get("content-type")) ?? "application/json";
  const isJson = type === "application/json";
  const isForm = type === "application/x-www-form-urlencoded";
  const raw = RAW_BODY_TYPES[type];
  if (!isJson && !isForm && !raw) {
    await req.body?.cancel();
    throw new ApiRejection(apiError(400, "PGRST102", `Content-Type not acceptable: ${type}`));
  }
  const bytes = await readBody(req, limit);
  if (bytes === undefined) {
    // The hosted gateway (Kong), not PostgREST, enforces the size limit: its body shape.
    throw new ApiRejection({
      status: 413,
      body: { message: "Request size limit exceeded" } as ApiRejection["error"]["body"],
    });
  }
  if (raw === "bytea") return { keys: new Set(), rawBody: raw, whole: bytes };
  const text = new TextDecoder().decode(bytes);
  if (raw) return { keys: new Set(), rawBody: raw, whole: text };
  if (isForm) {
    const values = new Map(new URLSearchParams(text));
    return { keys: new Set(values.keys()), values };
  }
  const trimmed = text.trim();
  if (trimmed === "") return { keys: new Set(), rawBody: "json", jsonObject: "{}", whole: "{}" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new ApiRejection(apiError(400, "PGRST102", "Empty or invalid json"));
  }
  if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
    return { keys: new Set(Object.keys(parsed)), rawBody: "json", jsonObject: text, whole: text };
  }
  return { keys: new Set(), rawBody: "json", jsonOther: true, whole: text };
}
