/**
 * `review-response`: what a customer meets after clicking one of the five rating links of a
 * review request email (`?token=<t>&rating=N`).
 *
 * - GET (and HEAD) only show: the rating and a button to confirm it, or why the link no longer
 *   works (`shop_review_link_view`). Mail scanners open every link, so nothing changes on a GET.
 * - POST (the confirmation form) records the rating once (`shop_review_link_use`) and answers a
 *   thank-you page, or why not (expired, used, unknown).
 * - A malformed link (no token, a rating outside 1..5) gets a 400 page and reaches no SQL.
 *
 * Pages speak the customer's language; pages that belong to no request, the browser's.
 */
import { z } from "zod";
import type { DbClient } from "../runtime/client.ts";
import type { PublicEndpointOptions } from "../runtime/endpoints.ts";
import { errorText, log } from "../runtime/log.ts";
import { readLinkFields } from "../runtime/responses.ts";
import { RpcError } from "../runtime/rpc.ts";
import { pageResponse } from "../html/page_response.ts";
import { type Locale, pickLocale } from "../i18n/locale.ts";
import { renderReviewPage, type ReviewPageInput } from "./review_page.ts";
import { useReviewLink, viewReviewLink } from "./rpc.ts";

/** A rating link: a token (32 bytes in base64url, 43 characters) and a rating 1..5. */
const linkSchema = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  rating: z.string().regex(/^[1-5]$/).transform(Number),
});

/** The browser's language, for pages that belong to no request. */
function browserLocale(req: Request): Locale {
  const first = (req.headers.get("accept-language") ?? "").split(",")[0]?.trim();
  return pickLocale(first);
}

function page(req: Request, input: ReviewPageInput): Response {
  return pageResponse(renderReviewPage(input), req.method);
}

/** Reads token and rating from the form body (POST) or the query string (GET, HEAD). */
async function readLink(req: Request): Promise<z.infer<typeof linkSchema> | undefined> {
  const fields = await readLinkFields(req);
  if (!fields) return undefined;
  const parsed = linkSchema.safeParse(fields);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The page a failed SQL call leads to: "unavailable" (503, try again later) when a retry may
 * help, "invalid" (400) when no retry can (see the error policy of `../runtime/rpc.ts`).
 */
function failurePage(req: Request, error: unknown): Response {
  const permanent = error instanceof RpcError && error.permanent;
  log.error("review link failed", { method: req.method, permanent, error: errorText(error) });
  return page(req, { state: permanent ? "invalid" : "unavailable", locale: browserLocale(req) });
}

/**
 * The public endpoint of the rating links, for `publicEndpoint`; `client` acts as the service
 * role.
 *
 * @example
 * Deno.serve(publicEndpoint(reviewResponses(serviceClient(functionEnv()))));
 */
export function reviewResponses(client: DbClient): PublicEndpointOptions {
  return {
    methods: ["GET", "HEAD", "POST"],
    fallback: failurePage,
    handle: async (req) => {
      const link = await readLink(req);
      if (!link) return page(req, { state: "invalid", locale: browserLocale(req) });
      const context = `${req.method} review-response, rating ${link.rating}`;
      if (req.method !== "POST") {
        const view = await viewReviewLink(client, link.token, context);
        return page(req, {
          state: view.state === "open" ? "confirm" : view.state,
          locale: view.language ? pickLocale(view.language) : browserLocale(req),
          shopName: view.shop_name,
          rating: link.rating,
          token: view.state === "open" ? link.token : undefined,
        });
      }
      const used = await useReviewLink(client, link.token, link.rating, context);
      log.info("review link used", { outcome: used.outcome, order_id: used.order_id });
      return page(req, {
        state: used.outcome === "review" ? "thanks" : used.outcome,
        locale: used.language ? pickLocale(used.language) : browserLocale(req),
        shopName: used.shop_name,
        rating: link.rating,
      });
    },
  };
}
