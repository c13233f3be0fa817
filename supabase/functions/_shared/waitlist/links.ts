/**
 * The links in invitation emails: `<base>/handle-invitation-response?token=…&action=…`, where the
 * base is the `public_base_url` setting or, by default, this project's functions URL.
 */
import type { ResponseAction } from "./types.ts";

/** The base of the links: the setting when present, else `<SUPABASE_URL>/functions/v1`. */
export function linkBase(publicBaseUrl: string | null | undefined, supabaseUrl: string): string {
  return (publicBaseUrl ?? `${supabaseUrl.replace(/\/+$/, "")}/functions/v1`).replace(/\/+$/, "");
}

/** The link that answers an invitation (a GET only shows a confirmation page). */
export function responseUrl(base: string, token: string, action: ResponseAction): string {
  const url = new URL(`${base}/handle-invitation-response`);
  url.searchParams.set("token", token);
  url.searchParams.set("action", action);
  return url.toString();
}
