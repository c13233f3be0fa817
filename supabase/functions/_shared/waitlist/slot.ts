/** The slot as the waitlist's SQL functions return it, made into what emails and pages show. */
import type { SqlSlot } from "./rpc.ts";
import type { Locale } from "../i18n/locale.ts";
import type { SlotDetails } from "./types.ts";

/** The slot in the recipient's language. */
export function slotFor(slot: SqlSlot, locale: Locale): SlotDetails {
  const { appointment_type_en, ...rest } = slot;
  return {
    ...rest,
    appointment_type: locale === "en" ? appointment_type_en : slot.appointment_type,
  };
}
