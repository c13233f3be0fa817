/**
 * The pages behind the invitation links: a confirmation page for a GET (which never changes
 * anything, since mail scanners open every link) and one page per outcome of the POST. Each
 * page is a complete HTML document with inline CSS, no script and no external asset.
 */
import { FONT_FAMILY, htmlDocument, PALETTE } from "../html/document.ts";
import { type HtmlValue, markup, SafeHtml } from "../html/markup.ts";
import { type Messages, messages, type PageText } from "./i18n.ts";
import type { RenderedPage } from "../html/page_response.ts";
import { singleLine } from "../i18n/format.ts";
import type { Locale } from "../i18n/locale.ts";
import { slotLines } from "./slot_lines.ts";
import type { PageInput, PageState, SlotDetails } from "./types.ts";

/** The entries of `messages(locale).pages` that a state shows whatever the action. */
type FixedPageText = Exclude<
  keyof Messages["pages"],
  "confirmAccept" | "confirmDecline" | "alreadyAnswered"
>;

/**
 * Each page state: its HTTP status and, unless it depends on the action (`confirm`,
 * `already_answered`), the entry of `messages(locale).pages` it shows.
 */
const PAGE_STATES: Readonly<Record<PageState, { status: number; text?: FixedPageText }>> = {
  confirm: { status: 200 },
  booked: { status: 200, text: "booked" },
  declined: { status: 200, text: "declined" },
  already_taken: { status: 409, text: "alreadyTaken" },
  time_conflict: { status: 409, text: "timeConflict" },
  expired: { status: 410, text: "expired" },
  withdrawn: { status: 410, text: "withdrawn" },
  already_answered: { status: 409 },
  unknown: { status: 404, text: "unknown" },
  invalid: { status: 400, text: "invalid" },
  unavailable: { status: 503, text: "unavailable" },
};

const CSS = new SafeHtml(
  [
    `body{margin:0;padding:24px 12px;background:${PALETTE.background};color:${PALETTE.text};` +
    `font:16px/1.5 ${FONT_FAMILY}}`,
    "main{max-width:560px;margin:0 auto;padding:24px 20px;" +
    `background:${PALETTE.card};border-radius:8px}`,
    "h1{font-size:1.5rem;line-height:1.25;margin:0 0 16px}",
    "p{margin:0 0 16px}",
    `dl{margin:0 0 16px;padding:12px 16px;border-left:4px solid ${PALETTE.accent};` +
    `background:${PALETTE.accentTint}}`,
    "dl div{display:flex;flex-wrap:wrap;column-gap:8px;margin:4px 0}",
    `dt{color:${PALETTE.muted};min-width:7.5em}`,
    "dd{margin:0;font-weight:600}",
    "form{margin:24px 0 0}",
    "button{display:block;width:100%;padding:14px 20px;border:0;border-radius:6px;" +
    `background:${PALETTE.accent};color:${PALETTE.card};font:inherit;font-weight:700;` +
    "cursor:pointer}",
    `button.decline{background:${PALETTE.secondary}}`,
    `button:focus-visible{outline:3px solid ${PALETTE.focus};outline-offset:2px}`,
  ].join("\n"),
);

/**
 * The page for one state, with its HTTP status (see `PAGE_STATES`). `confirm` shows the slot
 * and a form that POSTs `token` and `action` back to the current URL (it has no `action`
 * attribute); it throws a `TypeError` without a valid `action` and a `token`.
 * `already_answered` names the earlier answer when `action` is given. The slot is shown
 * whenever it is present.
 *
 * @example
 * const page = renderResponsePage({ state: "expired", locale: "en", slot });
 * page.status; // 410
 */
export function renderResponsePage(input: PageInput): RenderedPage {
  const { locale, slot } = input;
  const text = pageText(input);
  const firstName = singleLine(input.patient_first_name ?? "");
  const paragraphs = firstName
    ? [messages(locale).greeting(firstName), ...text.paragraphs]
    : text.paragraphs;

  const body: HtmlValue = [
    markup`<h1>${text.heading}</h1>\n`,
    paragraphs.map((paragraph) => markup`<p>${paragraph}</p>\n`),
    slot ? slotHtml(slot, locale) : false,
    input.state === "confirm" ? confirmForm(input, text.button ?? "") : false,
  ];

  const clinic = singleLine(slot?.clinic_name ?? "");
  const title = clinic ? `${text.heading} – ${clinic}` : text.heading;
  return { status: PAGE_STATES[input.state].status, html: pageDocument(locale, title, body) };
}

/** The heading and paragraphs of a page, and the button label of a confirm page. */
function pageText(input: PageInput): PageText & { button?: string } {
  const pages = messages(input.locale).pages;
  if (input.state === "confirm") {
    return input.action === "decline" ? pages.confirmDecline : pages.confirmAccept;
  }
  if (input.state === "already_answered") {
    const { heading, accepted, declined, paragraphs } = pages.alreadyAnswered;
    if (input.action === "accept") return { heading, paragraphs: [accepted] };
    if (input.action === "decline") return { heading, paragraphs: [declined] };
    return { heading, paragraphs };
  }
  const text = Object.hasOwn(PAGE_STATES, input.state) ? PAGE_STATES[input.state].text : undefined;
  if (!text) throw new TypeError(`Unknown page state: ${String(input.state)}`);
  return pages[text];
}

/** The form that sends the answer: no `action` attribute, so it posts to the current URL. */
function confirmForm(input: PageInput, button: string): SafeHtml {
  if ((input.action !== "accept" && input.action !== "decline") || !input.token) {
    throw new TypeError("A confirm page needs an action (accept or decline) and a token");
  }
  return markup`<form method="post">
<input type="hidden" name="token" value="${input.token}">
<input type="hidden" name="action" value="${input.action}">
<button type="submit" class="${input.action}">${button}</button>
</form>
`;
}

function slotHtml(slot: SlotDetails, locale: Locale): SafeHtml {
  const rows = slotLines(slot, locale).map((line) =>
    markup`<div><dt>${line.label}</dt><dd>${line.value}</dd></div>\n`
  );
  return markup`<dl>\n${rows}</dl>\n`;
}

function pageDocument(locale: Locale, title: string, body: HtmlValue): string {
  return htmlDocument({
    lang: locale,
    title,
    head: markup`<meta name="robots" content="noindex">\n`,
    style: markup`<style>\n${CSS}\n</style>\n`,
    body: markup`<main>\n${body}</main>\n`,
  });
}
