/**
 * The languages people read our emails, pages and messages in, and how one is picked from what
 * a row says (a patient's or a customer's `language`).
 */

/** A language we write in. */
export type Locale = "fr" | "en";

/**
 * The language to speak to someone in: English for any `en` tag ("en", "en-GB", "EN"),
 * French for everything else, including missing or malformed values.
 *
 * @example
 * pickLocale("en-GB"); // "en"
 * pickLocale(null); // "fr"
 */
export function pickLocale(value: unknown): Locale {
  if (typeof value !== "string") return "fr";
  const tag = value.trim().toLowerCase();
  return tag === "en" || tag.startsWith("en-") || tag.startsWith("en_") ? "en" : "fr";
}
