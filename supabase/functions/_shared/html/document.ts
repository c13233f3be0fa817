/**
 * What every HTML document we send looks like, emails and pages alike: one palette and one
 * document base (doctype, language, charset, viewport, title), each kind adding its own head
 * and body wrapper. Values are escaped by `markup` (see `./markup.ts`).
 *
 * @example
 * htmlDocument({ lang: "fr", title: "Créneau", body: markup`<p>${text}</p>\n` });
 */
import { type HtmlValue, markup } from "./markup.ts";

/** The colours of emails and pages. */
export const PALETTE = Object.freeze({
  /** Body text. */
  text: "#1d2433",
  /** Labels and small print. */
  muted: "#5b6472",
  /** Buttons and the bar beside a slot's details. */
  accent: "#1f6f43",
  /** The background of a slot's details. */
  accentTint: "#f3f8f5",
  /** Around the card. */
  background: "#f4f5f7",
  /** The card that holds the content. */
  card: "#ffffff",
  /** The secondary (decline) button of pages. */
  secondary: "#4a5261",
  /** The keyboard focus ring of pages. */
  focus: "#f2b705",
});

/** The font stack of emails and pages. */
export const FONT_FAMILY = "-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif";

/** The parts of a document; `head` goes before the title, `style` after it. */
export interface DocumentParts {
  lang: string;
  title: string;
  /** Head elements before the title (e.g. a robots meta). */
  head?: HtmlValue;
  /** Head elements after the title (e.g. a style sheet). */
  style?: HtmlValue;
  /** Inline style of `<body>`. */
  bodyStyle?: string;
  /** The content of `<body>`, ending with a line break. */
  body: HtmlValue;
}

/** A complete HTML document. */
export function htmlDocument(parts: DocumentParts): string {
  const bodyTag = parts.bodyStyle ? markup`<body style="${parts.bodyStyle}">` : markup`<body>`;
  return markup`<!doctype html>
<html lang="${parts.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${parts.head}<title>${parts.title}</title>
${parts.style}</head>
${bodyTag}
${parts.body}</body>
</html>
`.value;
}
