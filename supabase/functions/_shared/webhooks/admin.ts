/**
 * Who may call the `webhooks` management API: a signed-in user whose JWT says
 * `app_metadata.role = 'admin'`. The gateway (`verify_jwt = true`) has checked the signature and
 * the expiry, so the claims are only decoded here (jose's `decodeJwt`) to answer early: 401 for
 * no token or one that is not a user's (the anon and service keys), 403 for a user who is not
 * an admin. SQL's `webhooks_internal.require_admin()` checks again on every call, with the same
 * JWT: it is the real guard, this is the courtesy.
 */
import { decodeJwt } from "jose";
import { ApiError } from "./errors.ts";

/** The admin who calls. */
export interface Admin {
  /** `sub`: their auth user id. */
  userId: string;
  /** The `Authorization` header as received, for the client acting as them. */
  authorization: string;
}

/** The role an admin's JWT carries in `app_metadata.role`. */
export const ADMIN_ROLE = "admin";

/**
 * The admin behind an `Authorization` header; throws an {@link ApiError} 401 or 403 otherwise.
 *
 * @example
 * const admin = requireAdmin(req.headers.get("authorization"));
 */
export function requireAdmin(authorization: string | null | undefined): Admin {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  if (token === undefined) {
    throw new ApiError(
      401,
      "unauthorized",
      "This endpoint needs an admin's JWT: Authorization: Bearer <access token>.",
    );
  }
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new ApiError(401, "unauthorized", "The bearer token is not a JWT.");
  }
  if (claims.role !== "authenticated" || typeof claims.sub !== "string" || claims.sub === "") {
    throw new ApiError(
      401,
      "unauthorized",
      "Sign in: this endpoint needs a signed-in admin's JWT, not an API key.",
    );
  }
  const appMetadata = claims.app_metadata;
  const role = typeof appMetadata === "object" && appMetadata !== null
    ? (appMetadata as Record<string, unknown>).role
    : undefined;
  if (role !== ADMIN_ROLE) {
    throw new ApiError(
      403,
      "forbidden",
      `Only admins manage webhook endpoints (app_metadata.role = 'admin'); user ${claims.sub} ` +
        "is not one.",
    );
  }
  return { userId: claims.sub, authorization: authorization! };
}
