/**
 * A slot's details as lines of a label and a value, shown the same way in emails and pages.
 */
import { formatDate, formatTimeRange, singleLine } from "../i18n/format.ts";
import type { Locale } from "../i18n/locale.ts";
import { messages } from "./i18n.ts";
import type { SlotDetails } from "./types.ts";

/** One line of a slot's details: a label and its value, both plain text. */
export interface SlotLine {
  label: string;
  value: string;
}

/**
 * What a person needs to know about a slot, in display order: date, time range, practitioner,
 * appointment type, clinic. Values are on one line; empty ones are left out.
 *
 * @example
 * slotLines(slot, "en")[1]; // { label: "Time", value: "2:30 pm – 3:00 pm" }
 */
export function slotLines(slot: SlotDetails, locale: Locale): SlotLine[] {
  const labels = messages(locale).slot;
  const lines: SlotLine[] = [
    { label: labels.date, value: formatDate(slot.starts_at, slot.time_zone, locale) },
    {
      label: labels.time,
      value: formatTimeRange(slot.starts_at, slot.ends_at, slot.time_zone, locale),
    },
    { label: labels.practitioner, value: singleLine(slot.practitioner_name ?? "") },
    { label: labels.appointmentType, value: singleLine(slot.appointment_type ?? "") },
    { label: labels.clinic, value: singleLine(slot.clinic_name ?? "") },
  ];
  return lines.filter((line) => line.value !== "");
}
