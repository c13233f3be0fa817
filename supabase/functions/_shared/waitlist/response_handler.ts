/**
 * `handle-invitation-response`: what a patient meets after clicking a link in an invitation.
 *
 * - GET (and HEAD) only show: the slot and a button to confirm, or why the link no longer works.
 *   Mail scanners open every link, so nothing changes on a GET.
 * - POST (the confirmation form) answers: `waitlist_respond` books atomically or records the
 *   decline, and the page says what happened.
 *
 * Pages are HTML for people, French unless the patient's locale (or, for links that lead to no
 * invitation, the browser's language) is English.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { z } from "zod";
import { errorText, log } from "../log.ts";
import { pickLocale } from "./locale.ts";
import { slotFor, slotSchema } from "./slot.ts";
import { pageResponse, renderResponsePage } from "./pages.ts";
import type { Locale, PageInput, PageState, ResponseAction } from "./types.ts";

/** A link token: 32 bytes in base64url, 43 characters. */
const answerSchema = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  action: z.enum(["accept", "decline"]),
});

const pageDataSchema = z.object({
  state: z.enum([
    "open",
    "booked",
    "declined",
    "already_answered",
    "already_taken",
    "time_conflict",
    "withdrawn",
    "expired",
    "unknown",
  ]),
  locale: z.string().optional(),
  patient_first_name: z.string().nullable().optional(),
  answer: z.enum(["accept", "decline"]).nullable().optional(),
  slot: slotSchema.nullable().optional(),
});

/** The browser's language, for pages that belong to no invitation. */
function browserLocale(req: Request): Locale {
  const first = (req.headers.get("accept-language") ?? "").split(",")[0]?.trim();
  return pickLocale(first);
}

function page(req: Request, input: PageInput): Response {
  return pageResponse(renderResponsePage(input), req.method);
}

/** Reads token and action from the form body (POST) or the query string (GET, HEAD). */
async function readAnswer(req: Request, url: URL) {
  const fields: Record<string, string> = Object.fromEntries(url.searchParams);
  if (req.method === "POST") {
    const type = req.headers.get("content-type") ?? "";
    if (
      type.includes("application/x-www-form-urlencoded") || type.includes("multipart/form-data")
    ) {
      try {
        for (const [name, value] of await req.formData()) {
          if (typeof value === "string") fields[name] = value;
        }
      } catch {
        return undefined;
      }
    }
  }
  const parsed = answerSchema.safeParse(fields);
  return parsed.success ? parsed.data : undefined;
}

/** Builds the request handler; `client` acts as the service role. */
export function invitationResponseHandler(client: SupabaseClient) {
  return async (req: Request): Promise<Response> => {
    if (!["GET", "HEAD", "POST"].includes(req.method)) {
      return new Response("Method not allowed", {
        status: 405,
        headers: { allow: "GET, HEAD, POST", "content-type": "text/plain; charset=utf-8" },
      });
    }
    const answer = await readAnswer(req, new URL(req.url));
    if (!answer) return page(req, { state: "invalid", locale: browserLocale(req) });

    const write = req.method === "POST";
    const { data, error } = write
      ? await client.rpc("waitlist_respond", { p_token: answer.token, p_action: answer.action })
      : await client.rpc("waitlist_invitation_view", { p_token: answer.token });
    const parsed = error ? undefined : pageDataSchema.safeParse(data);
    if (!parsed?.success) {
      log.error("invitation response failed", {
        method: req.method,
        action: answer.action,
        error: error ? `${error.code}: ${error.message}` : errorText(parsed?.error),
      });
      return page(req, { state: "unavailable", locale: browserLocale(req) });
    }
    const result = parsed.data;
    if (result.state === "unknown") {
      return page(req, { state: "unknown", locale: browserLocale(req) });
    }
    const locale = pickLocale(result.locale);
    const state: PageState = result.state === "open" ? "confirm" : result.state;
    if (write) {
      log.info("invitation answered", { action: answer.action, outcome: state });
    }
    return page(req, {
      state,
      locale,
      slot: result.slot ? slotFor(result.slot, locale) : undefined,
      patient_first_name: result.patient_first_name ?? undefined,
      action: state === "confirm"
        ? answer.action
        : (result.answer ?? undefined) as ResponseAction | undefined,
      token: state === "confirm" ? answer.token : undefined,
    });
  };
}
