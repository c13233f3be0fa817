/**
 * The small page framework of the stand-ins' pages, for people (Resend's inbox, the WhatsApp
 * server's QR codes and conversations, the webhook receiver's deliveries): a self-contained
 * document (no external assets, readable on a phone), HTML escaping, and a list of stored items,
 * newest first, that refreshes itself, with one page per item.
 *
 * A list page at `/<name>` (and at `/` for the stand-in's home) answers the whole document, or
 * with `?partial=1` only its `<li>` entries, carrying the store's revision in `x-<name>-version`:
 * the page's script polls the fragment every 2 seconds and swaps it in when the version changed.
 * `/<name>/{id}` shows one item. Only GET is allowed; other methods answer 405.
 */
import type { StoredItem } from "./item_store.ts";
import type { Route } from "./router.ts";
import type { StandInState } from "./state.ts";

/** How often a list page checks for new items. */
export const PAGE_REFRESH_MS = 2000;

/** Headers of every page. */
export const HTML_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** `2026-11-21 14:03:12 UTC` from an ISO timestamp. */
export function displayTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** A `<time>` element showing an ISO timestamp as {@link displayTime} does. */
export function timeElement(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(displayTime(iso))}</time>`;
}

const BASE_STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
  body { margin: 0; }
  main { max-width: 48rem; margin: 0 auto; padding: 1rem; }
  h1 { font-size: 1.3rem; margin: 0.5rem 0 1rem; overflow-wrap: anywhere; }
  ul.items { list-style: none; margin: 0; padding: 0; }
  ul.items li { padding: 0.7rem 0; border-bottom: 1px solid #8884; }
  ul.items a { font-weight: 600; overflow-wrap: anywhere; }
  .meta { font-size: 0.85rem; opacity: 0.75; overflow-wrap: anywhere; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 0.8rem; margin: 0 0 1rem; }
  dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0.8rem; border: 1px solid #8886; border-radius: 4px; }
  .empty { opacity: 0.75; }
`;

/** A page's title and the content of its `<main>`. */
export interface PageContent {
  /** Escaped by {@link renderDocument}. */
  title: string;
  /** Markup: every value in it must already be escaped. */
  body: string;
}

/**
 * A whole document: the base style plus `style`, then `script` after `<main>`.
 *
 * @example
 * renderDocument({ title: "Local inbox", body: "<h1>Local inbox</h1>" }, { style: "iframe { width: 100% }" });
 */
export function renderDocument(
  page: PageContent,
  opts: { style?: string; script?: string } = {},
): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(page.title)}</title>
<style>${BASE_STYLE}${opts.style ?? ""}</style>
</head>
<body>
<main>
${page.body}
</main>${opts.script ?? ""}
</body>
</html>
`;
}

/** An HTML answer with the pages' headers. */
export function htmlResponse(
  body: string,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(body, { status, headers: { ...HTML_HEADERS, ...headers } });
}

/** What a stand-in declares of its list of items and their pages. */
export interface ListPage<Item extends StoredItem> {
  /** `inbox`: the list at `/inbox`, an item at `/inbox/{id}`, the header `x-inbox-version`. */
  name: string;
  /** Also serve the list at `/` (the stand-in's home). */
  home: boolean;
  /** Heading and title of the list. */
  title: string;
  /** The line under the heading (escaped). */
  intro: string;
  /** The entry shown when there are no items (escaped). */
  empty: string;
  /** How many items the list shows. */
  limit: number;
  /** The content of one item's `<li>`; `href` is its page. */
  renderEntry(item: Item, href: string): string;
  /** One item's page. */
  renderItem(item: Item): PageContent;
  /** The page of an unknown id. */
  notFound: PageContent;
  /** CSS added to the base style. */
  style?: string;
}

/** A page route: it gets the request, its URL and the stand-in's state. */
export type PageRoute<Item extends StoredItem> = Route<
  [{ req: Request; url: URL; state: StandInState<Item> }]
>;

/** The `<li>` entries of a list (also what the refresh script fetches). */
export function renderEntries<Item extends StoredItem>(def: ListPage<Item>, items: Item[]): string {
  if (items.length === 0) return `<li class="empty">${escapeHtml(def.empty)}</li>`;
  return items
    .map((item) =>
      `<li>${def.renderEntry(item, `/${def.name}/${encodeURIComponent(item.id)}`)}</li>`
    )
    .join("\n");
}

/** The whole list page; `version` is the store revision the refresh script compares against. */
export function renderList<Item extends StoredItem>(
  def: ListPage<Item>,
  items: Item[],
  version: number,
): string {
  const script = `
<script>
  (() => {
    const list = document.getElementById("${def.name}");
    setInterval(async () => {
      try {
        const res = await fetch("/${def.name}?partial=1", { cache: "no-store" });
        const version = res.headers.get("x-${def.name}-version");
        if (!res.ok || version === list.dataset.version) return;
        list.innerHTML = await res.text();
        list.dataset.version = version;
      } catch {}
    }, ${PAGE_REFRESH_MS});
  })();
</script>`;
  return renderDocument({
    title: def.title,
    body: `<h1>${escapeHtml(def.title)}</h1>
<p class="meta">${escapeHtml(def.intro)}</p>
<ul class="items" id="${def.name}" data-version="${version}">
${renderEntries(def, items)}
</ul>`,
  }, { style: def.style, script });
}

/** The GET routes of a list page: `/` (when `home`), `/<name>` and `/<name>/{id}`. */
export function listPageRoutes<Item extends StoredItem>(def: ListPage<Item>): PageRoute<Item>[] {
  const list: PageRoute<Item>["handle"] = (_, { url, state }) => {
    const items = state.store.list({ limit: def.limit });
    const version = String(state.store.revision);
    const body = url.searchParams.has("partial")
      ? renderEntries(def, items)
      : renderList(def, items, state.store.revision);
    return htmlResponse(body, 200, { [`x-${def.name}-version`]: version });
  };
  return [
    ...(def.home ? [{ method: "GET", path: "/", handle: list }] : []),
    { method: "GET", path: `/${def.name}`, handle: list },
    {
      method: "GET",
      path: `/${def.name}/:id`,
      handle: ({ id }, { state }) => {
        const item = state.store.get(id);
        return item
          ? htmlResponse(renderDocument(def.renderItem(item), { style: def.style }))
          : htmlResponse(renderDocument(def.notFound, { style: def.style }), 404);
      },
    },
  ];
}
