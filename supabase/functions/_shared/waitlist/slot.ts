/** The slot as the waitlist's SQL functions return it, and as emails and pages show it. */
import { z } from "zod";
import type { Locale, SlotDetails } from "./types.ts";

/** `waitlist_internal.slot_json()`: both names of the appointment type. */
export const slotSchema = z.object({
  starts_at: z.string(),
  ends_at: z.string(),
  time_zone: z.string(),
  clinic_name: z.string(),
  practitioner_name: z.string(),
  appointment_type: z.string(),
  appointment_type_en: z.string(),
});

export type SqlSlot = z.infer<typeof slotSchema>;

/** The slot in the recipient's language. */
export function slotFor(slot: SqlSlot, locale: Locale): SlotDetails {
  const { appointment_type_en, ...rest } = slot;
  return {
    ...rest,
    appointment_type: locale === "en" ? appointment_type_en : slot.appointment_type,
  };
}
