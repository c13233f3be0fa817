import type { Locale } from "./types.ts";

/**
 * The language to speak to a patient: English for any `en` tag ("en", "en-GB", "EN"),
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
