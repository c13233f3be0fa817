/**
 * The base of the links people get in emails and messages (invitation answers, review ratings):
 * the flow's `public_base_url` setting when present, else this project's functions URL.
 */

/**
 * The base of the links: the setting when present, else `<SUPABASE_URL>/functions/v1`; without a
 * trailing slash either way.
 *
 * @example
 * linkBase(null, "https://abc.supabase.co/"); // "https://abc.supabase.co/functions/v1"
 */
export function linkBase(publicBaseUrl: string | null | undefined, supabaseUrl: string): string {
  return (publicBaseUrl ?? `${supabaseUrl.replace(/\/+$/, "")}/functions/v1`).replace(/\/+$/, "");
}
