/**
 * SHA-256 of a text (UTF-8), as bytes or as lowercase hex.
 *
 * @example
 * await sha256Hex("abc"); // "ba7816bf…"
 */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

export async function sha256Hex(text: string): Promise<string> {
  return Array.from(await sha256(text), (b) => b.toString(16).padStart(2, "0")).join("");
}
