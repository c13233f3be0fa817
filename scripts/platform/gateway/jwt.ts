/**
 * Verifies the HS256 JWTs the local platform issues (API keys, user tokens) and classifies
 * failures the way PostgREST reports them, so both the functions gate and the RPC endpoint can
 * answer with the right body. Verified tokens are cached (by token text) until they expire: the
 * same anon or service key arrives on nearly every call.
 */
import { errors, jwtVerify } from "jose";

/** The claims of a verified token. */
export type JwtClaims = Record<string, unknown>;

/** Why a token was refused, with PostgREST's error code and message for it. */
export interface JwtFailure {
  /** `PGRST301` (token cannot be decoded or verified) or `PGRST303` (claims rejected). */
  code: "PGRST301" | "PGRST303";
  message: string;
  details: string | null;
}

/** The outcome of {@link JwtVerifier.verify}. */
export type JwtResult = { ok: true; claims: JwtClaims } | { ok: false; failure: JwtFailure };

interface CacheEntry {
  claims: JwtClaims;
  exp: number | undefined;
}

/** Options of {@link JwtVerifier}. */
export interface JwtVerifierOptions {
  /** Seconds of clock skew accepted on `exp`/`nbf` (PostgREST allows 30). Default 0. */
  clockToleranceSec?: number;
  /** Verified tokens kept in memory. Default 1000. */
  cacheSize?: number;
}

function decodeFailure(message: string, details: string | null = null): JwtResult {
  return { ok: false, failure: { code: "PGRST301", message, details } };
}

function claimsFailure(message: string): JwtResult {
  return { ok: false, failure: { code: "PGRST303", message, details: null } };
}

/** Maps a jose error to PostgREST's wording. */
function classify(error: unknown): JwtResult {
  if (error instanceof errors.JWTExpired) return claimsFailure("JWT expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "invalid") {
      return claimsFailure(`The JWT '${error.claim}' claim must be a number`);
    }
    if (error.claim === "nbf") return claimsFailure("JWT not yet valid");
    return claimsFailure("Parsing claims failed");
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return decodeFailure("Wrong or unsupported encoding algorithm");
  }
  if (error instanceof errors.JWTInvalid) return claimsFailure("Parsing claims failed");
  return decodeFailure("JWT cryptographic operation failed");
}

/**
 * Verifies HS256 tokens signed with one secret.
 *
 * @example
 * const verifier = new JwtVerifier(cfg.jwtSecret, { clockToleranceSec: 30 });
 * const result = await verifier.verify(token);
 * if (result.ok) console.log(result.claims.role);
 */
export class JwtVerifier {
  #key: Promise<CryptoKey>;
  #tolerance: number;
  #cacheSize: number;
  #cache = new Map<string, CacheEntry>();

  constructor(secret: string, opts: JwtVerifierOptions = {}) {
    this.#key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    this.#tolerance = opts.clockToleranceSec ?? 0;
    this.#cacheSize = opts.cacheSize ?? 1000;
  }

  /** Checks signature, algorithm, `exp` and `nbf`; never throws. */
  async verify(token: string): Promise<JwtResult> {
    if (token === "") return decodeFailure("Empty JWT is sent in Authorization header");
    const cached = this.#cache.get(token);
    if (cached) {
      if (cached.exp === undefined || cached.exp + this.#tolerance >= Date.now() / 1000) {
        return { ok: true, claims: cached.claims };
      }
      this.#cache.delete(token);
      return claimsFailure("JWT expired");
    }
    const parts = token.split(".").length;
    if (parts !== 3) return decodeFailure(`Expected 3 parts in JWT; got ${parts}`);
    try {
      const { payload } = await jwtVerify(token, await this.#key, {
        algorithms: ["HS256"],
        clockTolerance: this.#tolerance,
      });
      const claims = payload as JwtClaims;
      if (this.#cache.size >= this.#cacheSize) {
        // Drop the oldest entry (Map keeps insertion order).
        this.#cache.delete(this.#cache.keys().next().value as string);
      }
      this.#cache.set(token, {
        claims,
        exp: typeof payload.exp === "number" ? payload.exp : undefined,
      });
      return { ok: true, claims };
    } catch (error) {
      return classify(error);
    }
  }
}

/**
 * Extracts the token from an `Authorization: Bearer <token>` header value
 * (scheme case-insensitive); undefined when the header is absent or uses another scheme.
 */
export function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^bearer(?:\s+(.*))?$/i.exec(header.trim());
  return match ? (match[1] ?? "").trim() : undefined;
}
