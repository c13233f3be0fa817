/**
 * The local API keys: HS256 JWTs signed with the local JWT secret, as `supabase start` prints
 * them (same issuer, roles and expiry, so they match the well-known local demo keys).
 */
import { SignJWT } from "jose";

export interface LocalKeys {
  anonKey: string;
  serviceRoleKey: string;
}

/** Signs a JWT with the local secret; tests use it to act as a given user. */
export function signLocalJwt(secret: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

/** Returns the anon and service-role keys for a JWT secret. */
export async function localKeys(secret: string): Promise<LocalKeys> {
  const exp = 1983812996;
  return {
    anonKey: await signLocalJwt(secret, { iss: "supabase-demo", role: "anon", exp }),
    serviceRoleKey: await signLocalJwt(secret, { iss: "supabase-demo", role: "service_role", exp }),
  };
}
