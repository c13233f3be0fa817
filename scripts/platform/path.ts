/** Minimal path helpers (Deno's std is not reachable from our machines). */

/** Converts a `file:` URL to an absolute path without a trailing slash. */
export function fromFileUrl(url: URL): string {
  return decodeURIComponent(url.pathname).replace(/\/+$/, "") || "/";
}

/** Joins path segments with single slashes. */
export function join(...parts: string[]): string {
  return parts.join("/").replace(/\/{2,}/g, "/");
}

/** True when something exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
