/**
 * The links in invitation emails: `<base>/handle-invitation-response?token=…&action=…`, where the
 * base is `linkBase` (`../runtime/links.ts`).
 */
import type { ResponseAction } from "./types.ts";

/** The link that answers an invitation (a GET only shows a confirmation page). */
export function responseUrl(base: string, token: string, action: ResponseAction): string {
  const url = new URL(`${base}/handle-invitation-response`);
  url.searchParams.set("token", token);
  url.searchParams.set("action", action);
  return url.toString();
}
