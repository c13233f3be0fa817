/**
 * How every page behind a link is answered (invitation answers, review ratings): the page's
 * status, its HTML and headers that keep it out of caches, indexes and referrers.
 */

/** A rendered page and the HTTP status that goes with it. */
export interface RenderedPage {
  status: number;
  html: string;
}

/**
 * The headers of every page: HTML, never cached or indexed, no referrer (the URL holds the
 * token), and a content security policy that allows only inline styles and posting the form
 * back to this origin.
 *
 * @example
 * new Response(page.html, { status: page.status, headers: responseHeaders });
 */
export const responseHeaders: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-robots-tag": "noindex",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
});

/**
 * A `Response` for a rendered page, with its status and `responseHeaders`; without a body when
 * it answers a HEAD request.
 *
 * @example
 * return pageResponse({ status: 404, html }, req.method);
 */
export function pageResponse(page: RenderedPage, method = "GET"): Response {
  return new Response(method === "HEAD" ? null : page.html, {
    status: page.status,
    headers: responseHeaders,
  });
}
