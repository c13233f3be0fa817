/** Minimal path helpers (Deno's std is not reachable from our machines). */

/** Converts a `file:` URL to an absolute path without a trailing slash. */
export function fromFileUrl(url: URL): string {
  return decodeURIComponent(url.pathname).replace(/\/+$/, "") || "/";
}

/** Joins path segments with single slashes. */
export function join(...parts: string[]): string {
  return parts.join("/").replace(/\/{2,}/g, "/");
}
