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
import { z } from "zod";
import type { DbClient } from "../runtime/client.ts";
import { publicEndpoint, type PublicEndpointOptions } from "../runtime/endpoints.ts";
import { errorText, log } from "../runtime/log.ts";
import { readLinkFields } from "../runtime/responses.ts";
import { RpcError } from "../runtime/rpc.ts";
import { pageResponse } from "../html/page_response.ts";
import { type Locale, pickLocale } from "../i18n/locale.ts";
import { slotFor } from "./slot.ts";
import { renderResponsePage } from "./pages.ts";
import { respondToInvitation, viewInvitation } from "./rpc.ts";
import type { PageInput, PageState, ResponseAction } from "./types.ts";

/** A link token: 32 bytes in base64url, 43 characters. */
const answerSchema = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  action: z.enum(["accept", "decline"]),
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
async function readAnswer(req: Request) {
  const fields = await readLinkFields(req);
  if (!fields) return undefined;
  const parsed = answerSchema.safeParse(fields);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The page a failed SQL call leads to: "unavailable" (503, try again later) when a retry may
 * help, "invalid" (400) when no retry can (see the error policy of `../runtime/rpc.ts`).
 */
function failurePage(req: Request, error: unknown): Response {
  const permanent = error instanceof RpcError && error.permanent;
  log.error("invitation response failed", {
    method: req.method,
    permanent,
    error: errorText(error),
  });
  return page(req, { state: permanent ? "invalid" : "unavailable", locale: browserLocale(req) });
}

/** The public endpoint of the links, for `publicEndpoint`; `client` acts as the service role. */
export function invitationResponses(client: DbClient): PublicEndpointOptions {
  return {
    methods: ["GET", "HEAD", "POST"],
    fallback: failurePage,
    handle: async (req) => {
      const answer = await readAnswer(req);
      if (!answer) return page(req, { state: "invalid", locale: browserLocale(req) });
      const write = req.method === "POST";
      const context = `${req.method} ${answer.action}`;
      const result = write
        ? await respondToInvitation(client, answer.token, answer.action, context)
        : await viewInvitation(client, answer.token, context);
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
    },
  };
}

/** The request handler of `handle-invitation-response`; `client` acts as the service role. */
export function invitationResponseHandler(client: DbClient): (req: Request) => Promise<Response> {
  return publicEndpoint(invitationResponses(client));
}
