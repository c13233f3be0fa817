/**
 * The pages behind the rating links of a review request email (`review-response`): a
 * confirmation page for a GET (which changes nothing: mail scanners follow every link), a
 * thank-you page after the POST that records the rating, and one page for each reason a link no
 * longer works (expired, used, unknown, malformed, service unavailable). French unless the
 * customer (or, for links that lead to no request, the browser) speaks English. Each page is a
 * complete HTML document with inline CSS, no script and no external asset; every value is
 * escaped (`markup`).
 */
import { FONT_FAMILY, htmlDocument, PALETTE } from "../html/document.ts";
import { type HtmlValue, markup, SafeHtml } from "../html/markup.ts";
import type { RenderedPage } from "../html/page_response.ts";
import type { Locale } from "../i18n/locale.ts";

/** What a rating page shows. */
export type ReviewPageState =
  | "confirm"
  | "thanks"
  | "expired"
  | "used"
  | "unknown"
  | "invalid"
  | "unavailable";

/** The input of `renderReviewPage`. */
export interface ReviewPageInput {
  state: ReviewPageState;
  locale: Locale;
  /** The shop's name (from `shop_settings`), when the link led to it. */
  shopName?: string;
  /** The rating the link carries (confirm, thanks). */
  rating?: number;
  /** The link's token, posted back by the confirm page's form (confirm only). */
  token?: string;
}

/** A page's heading and paragraphs, and the button of the confirm page. */
interface PageText {
  heading: string;
  paragraphs: string[];
  button?: string;
}

/** The facts a page's sentences may mention. */
interface Facts {
  shop: string;
  rating: number;
}

type Texts = Readonly<Record<ReviewPageState, (facts: Facts) => PageText>>;

const FR: Texts = {
  confirm: ({ shop, rating }) => ({
    heading: `Votre note pour ${shop}`,
    paragraphs: [
      `Vous avez choisi la note de ${rating} sur 5.`,
      "Confirmez pour l'enregistrer (une seule note par commande).",
    ],
    button: "Envoyer ma note",
  }),
  thanks: ({ shop, rating }) => ({
    heading: "Merci pour votre avis !",
    paragraphs: [
      `Votre note de ${rating} sur 5 est bien enregistrée.`,
      `Toute l'équipe de ${shop} vous remercie.`,
    ],
  }),
  expired: () => ({
    heading: "Ce lien a expiré",
    paragraphs: [
      "Le délai pour noter cette commande est passé. Merci d'avoir pensé à nous malgré tout.",
    ],
  }),
  used: () => ({
    heading: "Avis déjà enregistré",
    paragraphs: ["Nous avons déjà reçu votre avis sur cette commande. Merci !"],
  }),
  unknown: () => ({
    heading: "Lien introuvable",
    paragraphs: [
      "Ce lien ne correspond à aucune demande d'avis. Ouvrez-le directement depuis l'e-mail " +
      "reçu, sans le modifier.",
    ],
  }),
  invalid: () => ({
    heading: "Lien invalide",
    paragraphs: [
      "Ce lien est incomplet ou abîmé. Ouvrez l'un des liens de l'e-mail reçu, ou copiez " +
      "l'adresse en entier.",
    ],
  }),
  unavailable: () => ({
    heading: "Service momentanément indisponible",
    paragraphs: [
      "Rien n'a été enregistré. Veuillez réessayer dans quelques minutes avec le même lien.",
    ],
  }),
};

const EN: Texts = {
  confirm: ({ shop, rating }) => ({
    heading: `Your rating for ${shop}`,
    paragraphs: [
      `You chose a rating of ${rating} out of 5.`,
      "Confirm to record it (one rating per order).",
    ],
    button: "Send my rating",
  }),
  thanks: ({ shop, rating }) => ({
    heading: "Thank you for your review!",
    paragraphs: [
      `Your rating of ${rating} out of 5 has been recorded.`,
      `Everyone at ${shop} thanks you.`,
    ],
  }),
  expired: () => ({
    heading: "This link has expired",
    paragraphs: [
      "The time to rate this order is over. Thank you for thinking of us all the same.",
    ],
  }),
  used: () => ({
    heading: "Review already recorded",
    paragraphs: ["We have already received your review of this order. Thank you!"],
  }),
  unknown: () => ({
    heading: "Link not found",
    paragraphs: [
      "This link does not match any review request. Please open it from the email, " +
      "without changing it.",
    ],
  }),
  invalid: () => ({
    heading: "Invalid link",
    paragraphs: [
      "This link is incomplete or damaged. Please open one of the links of the email, or " +
      "copy the whole address.",
    ],
  }),
  unavailable: () => ({
    heading: "Service temporarily unavailable",
    paragraphs: [
      "Nothing has been recorded. Please try again in a few minutes with the same link.",
    ],
  }),
};

/** The HTTP status of each page. */
const STATUS: Readonly<Record<ReviewPageState, number>> = {
  confirm: 200,
  thanks: 200,
  expired: 410,
  used: 409,
  unknown: 404,
  invalid: 400,
  unavailable: 503,
};

/** The shop's name when none is known (a page for a malformed link). */
const NO_SHOP: Readonly<Record<Locale, string>> = { fr: "la boutique", en: "the shop" };

const CSS = new SafeHtml(
  [
    `body{margin:0;padding:24px 12px;background:${PALETTE.background};color:${PALETTE.text};` +
    `font:16px/1.5 ${FONT_FAMILY}}`,
    "main{max-width:560px;margin:0 auto;padding:24px 20px;" +
    `background:${PALETTE.card};border-radius:8px}`,
    "h1{font-size:1.5rem;line-height:1.25;margin:0 0 16px}",
    "p{margin:0 0 16px}",
    `.stars{font-size:2rem;letter-spacing:4px;color:${PALETTE.focus}}`,
    "form{margin:24px 0 0}",
    "button{display:block;width:100%;padding:14px 20px;border:0;border-radius:6px;" +
    `background:${PALETTE.accent};color:${PALETTE.card};font:inherit;font-weight:700;` +
    "cursor:pointer}",
    `button:focus-visible{outline:3px solid ${PALETTE.focus};outline-offset:2px}`,
  ].join("\n"),
);

/** True for a rating the pages can show: an integer 1..5. */
function isRating(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 5;
}

/**
 * The page for one state, with its HTTP status (200 confirm and thanks, 410 expired, 409 used,
 * 404 unknown, 400 invalid, 503 unavailable). `confirm` shows the rating and a form that POSTs
 * `token` and `rating` back to the current URL; it throws a `TypeError` without a token and a
 * rating 1..5, as `thanks` does without a rating.
 *
 * @example
 * const page = renderReviewPage({ state: "confirm", locale: "fr", shopName: "La Boutique",
 *   rating: 4, token });
 * page.status; // 200
 */
export function renderReviewPage(input: ReviewPageInput): RenderedPage {
  const { state, locale } = input;
  if (!Object.hasOwn(STATUS, state)) throw new TypeError(`Unknown page state: ${String(state)}`);
  const shop = input.shopName?.trim() || NO_SHOP[locale];
  if ((state === "confirm" || state === "thanks") && !isRating(input.rating)) {
    throw new TypeError(`A ${state} page needs a rating from 1 to 5`);
  }
  if (state === "confirm" && !input.token) {
    throw new TypeError("A confirm page needs the link's token");
  }
  const rating = input.rating ?? 0;
  const text = (locale === "en" ? EN : FR)[state]({ shop, rating });

  const body: HtmlValue = [
    markup`<h1>${text.heading}</h1>\n`,
    isRating(input.rating) && (state === "confirm" || state === "thanks")
      ? markup`<p class="stars" aria-hidden="true">${
        "★".repeat(rating) + "☆".repeat(5 - rating)
      }</p>\n`
      : false,
    text.paragraphs.map((paragraph) => markup`<p>${paragraph}</p>\n`),
    state === "confirm" ? confirmForm(input.token ?? "", rating, text.button ?? "") : false,
  ];
  const title = input.shopName?.trim() ? `${text.heading} – ${shop}` : text.heading;
  return {
    status: STATUS[state],
    html: htmlDocument({
      lang: locale,
      title,
      head: markup`<meta name="robots" content="noindex">\n`,
      style: markup`<style>\n${CSS}\n</style>\n`,
      body: markup`<main>\n${body}</main>\n`,
    }),
  };
}

/** The form that records the rating: no `action` attribute, so it posts to the current URL. */
function confirmForm(token: string, rating: number, button: string): SafeHtml {
  return markup`<form method="post">
<input type="hidden" name="token" value="${token}">
<input type="hidden" name="rating" value="${String(rating)}">
<button type="submit">${button}</button>
</form>
`;
}
