/**
 * Where each piece of the local platform lives, for the three profiles:
 * `dev` (the long-running demo stack), `test` (a fresh stack per test run) and `bench`
 * (a fresh, durable stack per benchmark run).
 *
 * Ports follow `supabase start`'s conventions (API 54321, database 54322, mail 54324);
 * the test profile adds 1000 and the bench profile 2000, so all can run at once.
 */
import { fromFileUrl, join } from "./path.ts";

export type Profile = "dev" | "test" | "bench";

/** The local JWT secret, as `supabase start` uses it. Local only: never a production value. */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

export const PROJECT_ROOT = fromFileUrl(new URL("../..", import.meta.url));

export interface PlatformConfig {
  profile: Profile;
  /** Folder holding this profile's cluster, logs and runtime files (git-ignored). */
  stateDir: string;
  dbPort: number;
  /** API gateway: `/functions/v1/<name>` and `/rest/v1/rpc/<fn>`. */
  apiPort: number;
  /** First port handed to the stand-ins for third-party services. */
  saasPortBase: number;
  dbUrl: string;
  /** URL the gateway uses: the `authenticator` role, as PostgREST connects. */
  authenticatorUrl: string;
  apiUrl: string;
  jwtSecret: string;
}

/** Returns the configuration of a profile; `PLATFORM_PORT_OFFSET` shifts every port. */
export function platformConfig(profile: Profile): PlatformConfig {
  const extra = Number(Deno.env.get("PLATFORM_PORT_OFFSET") ?? 0);
  const offset = extra + { dev: 0, test: 1000, bench: 2000 }[profile];
  const dbPort = 54322 + offset;
  const apiPort = 54321 + offset;
  return {
    profile,
    stateDir: join(PROJECT_ROOT, ".local", extra ? `${profile}-${extra}` : profile),
    dbPort,
    apiPort,
    saasPortBase: 54324 + offset,
    dbUrl: `postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres`,
    authenticatorUrl: `postgresql://authenticator:postgres@127.0.0.1:${dbPort}/postgres`,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    jwtSecret: Deno.env.get("JWT_SECRET") ?? LOCAL_JWT_SECRET,
  };
}
