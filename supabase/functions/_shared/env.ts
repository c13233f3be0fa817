/**
 * The environment every function needs, parsed once with zod. A missing or malformed variable
 * fails with one message naming each of them, instead of an `undefined` deep inside a handler.
 *
 * @example
 * const env = functionEnv();
 * const client = createClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY);
 */
import { z } from "zod";

const schema = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  SUPABASE_ANON_KEY: z.string().min(1).optional(),
  /** Shared secret sent by pg_cron and pg_net wake-ups. */
  CRON_SECRET: z.string().min(16),
});

export type FunctionEnv = z.infer<typeof schema>;

let cached: FunctionEnv | undefined;

/** Parses the environment; throws an error naming every missing or invalid variable. */
export function parseEnv(source: Record<string, string | undefined>): FunctionEnv {
  const result = schema.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join(".");
      return source[name] === undefined ? `${name} is not set` : `${name}: ${issue.message}`;
    });
    throw new Error(`Function environment is incomplete: ${problems.join("; ")}`);
  }
  return result.data;
}

/** The parsed environment of this function, read once per process. */
export function functionEnv(): FunctionEnv {
  cached ??= parseEnv(Deno.env.toObject());
  return cached;
}
