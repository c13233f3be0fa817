/**
 * The environment of a function, parsed with zod: the variables every function needs
 * (`functionEnv`), and `readEnv` for the settings of one part (a provider's key, its pace). A
 * missing or malformed variable fails with one message naming each of them, instead of an
 * `undefined` deep inside a handler. No other module reads `Deno.env` for settings.
 *
 * @example
 * const env = functionEnv();
 * const client = serviceClient(env);
 */
import { z } from "zod";

const schema = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  SUPABASE_ANON_KEY: z.string().min(1).optional(),
  /** Shared secret sent by pg_cron and pg_net wake-ups. */
  CRON_SECRET: z.string().min(16),
});

/** The variables every function needs. */
export type FunctionEnv = z.infer<typeof schema>;

let cached: FunctionEnv | undefined;

/**
 * Parses `source` with `shape`; throws an error that starts with `what` and names every
 * missing or invalid variable.
 *
 * @example
 * readEnv(z.object({ RESEND_API_KEY: z.string().min(1) }), "Email sending is not configured");
 */
export function readEnv<S extends z.ZodType<unknown, Record<string, unknown>>>(
  shape: S,
  what: string,
  source: Record<string, string | undefined> = Deno.env.toObject(),
): z.infer<S> {
  const result = shape.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join(".");
      return source[name] === undefined ? `${name} is not set` : `${name}: ${issue.message}`;
    });
    throw new Error(`${what}: ${problems.join("; ")}`);
  }
  return result.data;
}

/** Parses the environment; throws an error naming every missing or invalid variable. */
export function parseEnv(source: Record<string, string | undefined>): FunctionEnv {
  return readEnv(schema, "Function environment is incomplete", source);
}

/** The parsed environment of this function, read once per process. */
export function functionEnv(): FunctionEnv {
  cached ??= parseEnv(Deno.env.toObject());
  return cached;
}
