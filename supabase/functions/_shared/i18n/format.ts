/**
 * Dates and times as people read them: in the zone of the place they deal with (a clinic, a
 * shop; never the server's) and in their language. Built on date-fns with `TZDate`, so
 * daylight-saving changes and slots that cross midnight show local wall-clock times.
 */
import { format } from "date-fns";
import { enGB, fr } from "date-fns/locale";
import { TZDate } from "@date-fns/tz";
import type { Locale } from "./locale.ts";

/** An instant: an ISO 8601 string with a UTC offset (or `Z`), or a `Date`. */
export type Instant = string | Date;

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

/**
 * Reads an ISO 8601 instant, including Postgres' text form ("2026-11-24 13:30:00+00"), whose
 * space and short offset JavaScript's parser does not always accept.
 */
function parseInstant(value: string): Date {
  const text = value.trim();
  if (!ISO_INSTANT.test(text)) {
    throw new RangeError(`Expected an ISO 8601 instant with a UTC offset, got ${value}`);
  }
  const normalized = text.replace(" ", "T").replace(
    /([+-]\d{2}):?(\d{2})?$/,
    (_, hours: string, minutes?: string) => `${hours}:${minutes ?? "00"}`,
  );
  return new Date(normalized);
}

/**
 * The instant in the given zone. Throws a `RangeError` for a string without a UTC offset
 * (it would be read in the server's zone), an unparsable value or an unknown time zone.
 */
function inZone(value: Instant, timeZone: string): TZDate {
  const date = typeof value === "string" ? parseInstant(value) : value;
  if (Number.isNaN(date.getTime())) throw new RangeError(`Expected a valid instant, got ${value}`);
  try {
    new Intl.DateTimeFormat("en", { timeZone });
  } catch {
    throw new RangeError(`Unknown time zone: ${timeZone}`);
  }
  return new TZDate(date.getTime(), timeZone);
}

/** "mardi 24 novembre" / "Tuesday 24 November"; French writes the first of the month "1er". */
function dayAndMonth(date: TZDate, locale: Locale): string {
  if (locale === "en") return format(date, "EEEE d MMMM", { locale: enGB });
  const day = date.getDate() === 1 ? "1er" : String(date.getDate());
  return `${format(date, "EEEE", { locale: fr })} ${day} ${format(date, "MMMM", { locale: fr })}`;
}

function fullDate(date: TZDate, locale: Locale): string {
  return `${dayAndMonth(date, locale)} ${format(date, "yyyy")}`;
}

function time(date: TZDate, locale: Locale): string {
  return locale === "en"
    ? format(date, "h:mm aaa", { locale: enGB })
    : format(date, "H 'h' mm", { locale: fr });
}

function joinAt(day: string, clock: string, locale: Locale): string {
  return locale === "en" ? `${day} at ${clock}` : `${day} à ${clock}`;
}

/** Appended to a time range that ends on the following day. */
function nextDay(locale: Locale): string {
  return locale === "en" ? "next day" : "le lendemain";
}

/** The calendar day of a zoned date, for comparisons. */
function dayNumber(date: TZDate): number {
  return Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()) / 86_400_000;
}

/**
 * The local date with the weekday and year.
 *
 * @example
 * formatDate("2026-11-24T13:30:00Z", "Europe/Paris", "fr"); // "mardi 24 novembre 2026"
 */
export function formatDate(value: Instant, timeZone: string, locale: Locale): string {
  return fullDate(inZone(value, timeZone), locale);
}

/**
 * The local time of day: 24-hour French, 12-hour English.
 *
 * @example
 * formatTime("2026-11-24T13:30:00Z", "Europe/Paris", "fr"); // "14 h 30"
 * formatTime("2026-11-24T13:30:00Z", "Europe/Paris", "en"); // "2:30 pm"
 */
export function formatTime(value: Instant, timeZone: string, locale: Locale): string {
  return time(inZone(value, timeZone), locale);
}

/**
 * The local date and time.
 *
 * @example
 * formatDateTime("2026-11-24T13:30:00Z", "Europe/Paris", "fr");
 * // "mardi 24 novembre 2026 à 14 h 30"
 * formatDateTime("2026-11-24T13:30:00Z", "Europe/Paris", "en");
 * // "Tuesday 24 November 2026 at 2:30 pm"
 */
export function formatDateTime(value: Instant, timeZone: string, locale: Locale): string {
  const date = inZone(value, timeZone);
  return joinAt(fullDate(date, locale), time(date, locale), locale);
}

/**
 * The local date and time without the year, for email subjects.
 *
 * @example
 * formatShortDateTime("2026-11-24T13:30:00Z", "Europe/Paris", "fr"); // "mardi 24 novembre à 14 h 30"
 */
export function formatShortDateTime(value: Instant, timeZone: string, locale: Locale): string {
  const date = inZone(value, timeZone);
  return joinAt(dayAndMonth(date, locale), time(date, locale), locale);
}

/**
 * From one local time to another. A range that ends the next day says so; a longer one shows
 * both dates in full.
 *
 * @example
 * formatTimeRange("2026-11-24T13:30:00Z", "2026-11-24T14:00:00Z", "Europe/Paris", "fr");
 * // "14 h 30 – 15 h 00"
 * formatTimeRange("2026-11-24T22:30:00Z", "2026-11-24T23:30:00Z", "Europe/Paris", "en");
 * // "11:30 pm – 12:30 am (next day)"
 */
export function formatTimeRange(
  start: Instant,
  end: Instant,
  timeZone: string,
  locale: Locale,
): string {
  const from = inZone(start, timeZone);
  const to = inZone(end, timeZone);
  const days = dayNumber(to) - dayNumber(from);
  if (days === 0) return `${time(from, locale)} – ${time(to, locale)}`;
  if (days === 1) {
    return `${time(from, locale)} – ${time(to, locale)} (${nextDay(locale)})`;
  }
  const fromText = joinAt(fullDate(from, locale), time(from, locale), locale);
  return `${fromText} – ${joinAt(fullDate(to, locale), time(to, locale), locale)}`;
}

/**
 * A value on one line: line breaks, tabs and other control characters become single spaces.
 * Used for names shown in emails and pages, so that a value cannot fake a line of its own
 * (a URL in the text part, for instance).
 */
export function singleLine(value: string): string {
  // deno-lint-ignore no-control-regex
  return value.replace(/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim();
}
