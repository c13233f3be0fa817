/**
 * The frame every HTML email we send shares (one centred column holding a white card, on the
 * palette of `./document.ts`) and the text part that goes with it. The flows' templates fill
 * the card; values are escaped by `markup` (see `./markup.ts`).
 *
 * @example
 * const html = emailDocument("fr", "Votre commande", markup`<p>${greeting}</p>\n`);
 * const text = textPart(["Bonjour Camille,", "", "Votre commande est prête."]);
 */
import { FONT_FAMILY, htmlDocument, PALETTE } from "./document.ts";
import { markup, type SafeHtml } from "./markup.ts";

/** The column that holds the card: narrows on a phone. */
const COLUMN = "max-width:560px;margin:0 auto;padding:24px 12px;font-size:16px;line-height:1.5;" +
  `font-family:${FONT_FAMILY};color:${PALETTE.text}`;
/** The card that holds an email's content. */
const CARD = `background:${PALETTE.card};border-radius:8px;padding:24px 20px`;

/** A complete HTML email around `body` (which ends with a line break): one centred card. */
export function emailDocument(lang: string, title: string, body: SafeHtml): string {
  return htmlDocument({
    lang,
    title,
    bodyStyle: `margin:0;padding:0;background:${PALETTE.background}`,
    body: markup`<div style="${COLUMN}">
<div style="${CARD}">
${body}
</div>
</div>
`,
  });
}

/** Lines joined into an email's text part, ending with one line break. */
export function textPart(lines: string[]): string {
  return lines.join("\n").replace(/\n+$/, "") + "\n";
}
