/**
 * The shop's messages as they leave: customer messages (order confirmation, reminders, review
 * request, thanks, question) and admin alerts, each as a WhatsApp text and as an email (subject,
 * HTML part with every value escaped, text part with the same information). Money and dates are
 * formatted for the reader's language, dates in the shop's time zone. Names, product names and
 * comments are put on one line, so that a value cannot fake a line (a link) of its own.
 */
import { PALETTE } from "../html/document.ts";
import { emailDocument, textPart } from "../html/email.ts";
import { markup } from "../html/markup.ts";
import { formatDateTime, singleLine } from "../i18n/format.ts";
import type { Locale } from "../i18n/locale.ts";
import { linkBase } from "../runtime/links.ts";
import { type MessageKind, messages, type MessageText } from "./i18n.ts";

/** The currency of the shop's prices (`*_cents` columns). */
export const SHOP_CURRENCY = "EUR";

/** The function that records a mark from an email link. */
export const REVIEW_RESPONSE_FUNCTION = "review-response";

/** One line of an order. */
export interface OrderItem {
  name: string;
  quantity: number;
  unit_price_cents: number;
}

/** What a customer message needs (field names follow `shop_message_start`'s JSON). */
export interface CustomerMessageInput {
  kind: MessageKind;
  locale: Locale;
  shop: { name: string; time_zone: string };
  customer: { name: string };
  order: {
    id: number;
    total_cents: number;
    created_at: string;
    ready_at: string | null;
    items: OrderItem[];
  };
  /** A review request by email: the five links, for the marks 1 to 5 in order. */
  rating_urls?: string[];
}

/** A rendered email: both parts. */
export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** A low review (details of a `low_review` alert). */
export interface LowReviewAlert {
  kind: "low_review";
  rating: number;
  order_id: number | null;
  customer_name: string;
  comment: string | null;
}

/** A product under its threshold (details of a `low_stock` alert). */
export interface LowStockAlert {
  kind: "low_stock";
  product_name: string;
  stock: number;
  threshold: number;
}

/** Jobs that went dead (details of a `dead_jobs` digest, filled at send time). */
export interface DeadJobsAlert {
  kind: "dead_jobs";
  since: string | null;
  until: string;
  total: number;
  queues: { queue: string; count: number }[];
  jobs: { id: number; queue: string; subject: string | null; last_error: string | null }[];
}

/** What an admin alert says. */
export type AlertContent = LowReviewAlert | LowStockAlert | DeadJobsAlert;

/** What an admin alert needs. */
export interface AlertInput {
  locale: Locale;
  shop: { name: string; time_zone: string };
  alert: AlertContent;
}

const { muted: MUTED_COLOR, accent: ACCENT_COLOR } = PALETTE;
const PARAGRAPH = "margin:0 0 16px";
const SMALL_PARAGRAPH = `margin:0 0 16px;font-size:14px;color:${MUTED_COLOR}`;
const DETAILS = `margin:0 0 16px;padding:12px 16px;border-left:4px solid ${ACCENT_COLOR};` +
  `background:${PALETTE.accentTint}`;
const ROW = "margin:4px 0";
const RATING_BUTTON = "display:inline-block;margin:0 8px 8px 0;padding:10px 16px;" +
  `border-radius:6px;font-weight:bold;text-decoration:none;background:${ACCENT_COLOR};` +
  `border:2px solid ${ACCENT_COLOR};color:${PALETTE.card}`;

/**
 * An amount in the reader's language.
 *
 * @example
 * formatMoney(1250, "fr"); // "12,50 €" (with a narrow no-break space)
 * formatMoney(1250, "en"); // "€12.50"
 */
export function formatMoney(cents: number, locale: Locale): string {
  return new Intl.NumberFormat(locale === "en" ? "en-GB" : "fr-FR", {
    style: "currency",
    currency: SHOP_CURRENCY,
  }).format(cents / 100);
}

/**
 * The five links of a review request email, for the marks 1 to 5:
 * `<SUPABASE_URL>/functions/v1/review-response?token=…&rating=N`. A GET only shows a page that
 * asks to confirm (mail scanners follow links).
 *
 * @example
 * ratingUrls("http://127.0.0.1:54321", "tok")[3];
 * // "http://127.0.0.1:54321/functions/v1/review-response?token=tok&rating=4"
 */
export function ratingUrls(supabaseUrl: string, token: string): string[] {
  const base = linkBase(null, supabaseUrl);
  return [1, 2, 3, 4, 5].map((rating) => {
    const url = new URL(`${base}/${REVIEW_RESPONSE_FUNCTION}`);
    url.searchParams.set("token", token);
    url.searchParams.set("rating", String(rating));
    return url.toString();
  });
}

/** The sentences of a customer message, with its values formatted. */
function customerText(input: CustomerMessageInput): MessageText {
  const { locale, order, shop } = input;
  return messages(locale).customer[input.kind]({
    order: order.id,
    total: formatMoney(order.total_cents, locale),
    orderedAt: formatDateTime(order.created_at, shop.time_zone, locale),
    readyAt: order.ready_at ? formatDateTime(order.ready_at, shop.time_zone, locale) : null,
  });
}

/** An order's lines ("2 × Pain (4,80 €)") and its total line, for the confirmation. */
function orderLines(input: CustomerMessageInput): { items: string[]; total: string } | null {
  if (input.kind !== "order_confirmation") return null;
  const t = messages(input.locale);
  return {
    items: input.order.items.map((item) =>
      t.item(
        item.quantity,
        singleLine(item.name),
        formatMoney(item.quantity * item.unit_price_cents, input.locale),
      )
    ),
    total: `${t.labelled(t.total)} ${formatMoney(input.order.total_cents, input.locale)}`,
  };
}

/**
 * A customer message as a WhatsApp text: greeting, sentences, the order's lines for a
 * confirmation, how to answer for a review request, signature. Throws a `RangeError` for a bad
 * instant or time zone.
 *
 * @example
 * renderCustomerWhatsApp({ kind: "ready_pickup", locale: "en", shop, customer, order });
 * // "Hello Mary,\n\nGood news: your order #42 is ready. …"
 */
export function renderCustomerWhatsApp(input: CustomerMessageInput): string {
  const t = messages(input.locale);
  const text = customerText(input);
  const lines = orderLines(input);
  const blocks = [t.greeting(singleLine(input.customer.name)), ...text.paragraphs];
  if (lines) {
    blocks.push(
      [`*${t.items}*`, ...lines.items.map((l) => `• ${l}`), `*${lines.total}*`].join("\n"),
    );
  }
  if (input.kind === "review_request") blocks.push(t.reviewReplyHint);
  blocks.push(`${t.signOff}\n${singleLine(input.shop.name)}`);
  return blocks.join("\n\n");
}

/**
 * A customer message as an email. A review request carries the five rating links
 * (`rating_urls`); without them it throws a `TypeError`, as it does for a link that is not an
 * absolute http(s) URL. Throws a `RangeError` for a bad instant or time zone.
 *
 * @example
 * const email = renderCustomerEmail({ kind: "order_confirmation", locale: "fr", shop, customer, order });
 * email.subject; // "Commande n° 42 bien reçue"
 */
export function renderCustomerEmail(input: CustomerMessageInput): RenderedEmail {
  const t = messages(input.locale);
  const text = customerText(input);
  const lines = orderLines(input);
  const greeting = t.greeting(singleLine(input.customer.name));
  const shopName = singleLine(input.shop.name);
  let links: { label: string; url: string }[] = [];
  if (input.kind === "review_request") {
    const urls = input.rating_urls ?? [];
    if (urls.length !== 5) {
      throw new TypeError(
        `A review request email needs 5 rating links, got ${urls.length} (order ${input.order.id})`,
      );
    }
    links = urls.map((url, i) => ({
      label: t.ratingLinks.label(i + 1),
      url: checkedUrl(url, `rating_urls[${i}]`),
    }));
  }

  const html = markup`<p style="${PARAGRAPH}">${greeting}</p>
${text.paragraphs.map((p) => markup`<p style="${PARAGRAPH}">${p}</p>\n`)}${
    lines
      ? markup`<div style="${DETAILS}">
<p style="${ROW}"><strong>${t.items}</strong></p>
${
        lines.items.map((l) => markup`<p style="${ROW}">${l}</p>\n`)
      }<p style="${ROW}"><strong>${lines.total}</strong></p>
</div>
`
      : ""
  }${
    links.length
      ? markup`<p style="${PARAGRAPH}">${t.ratingLinks.intro}</p>
<div style="margin:8px 0 16px">
${links.map((l) => markup`<a href="${l.url}" style="${RATING_BUTTON}">${l.label}</a>\n`)}</div>
<p style="${SMALL_PARAGRAPH}">${t.ratingLinks.note}</p>
`
      : ""
  }<p style="margin:24px 0 0">${t.signOff}<br>${shopName}</p>`;

  const textLines = [greeting, "", ...text.paragraphs.flatMap((p) => [p, ""])];
  if (lines) {
    textLines.push(
      t.labelled(t.items),
      ...lines.items.map((l) => `- ${l}`),
      lines.total,
      "",
    );
  }
  if (links.length) {
    textLines.push(t.ratingLinks.intro, "");
    for (const link of links) textLines.push(link.label, link.url, "");
    textLines.push(t.ratingLinks.note, "");
  }
  textLines.push(t.signOff, shopName);

  return {
    subject: text.subject,
    html: emailDocument(input.locale, text.subject, html),
    text: textPart(textLines),
  };
}

/** An alert's subject, sentences and list lines (digest queues and jobs). */
function alertText(input: AlertInput): MessageText & { list: string[] } {
  const t = messages(input.locale).alerts;
  const { alert, shop, locale } = input;
  switch (alert.kind) {
    case "low_review":
      return {
        ...t.lowReview({
          rating: alert.rating,
          order: alert.order_id,
          customer: singleLine(alert.customer_name),
          comment: alert.comment ? singleLine(alert.comment) : null,
        }),
        list: [],
      };
    case "low_stock":
      return {
        ...t.lowStock({
          product: singleLine(alert.product_name),
          stock: alert.stock,
          threshold: alert.threshold,
        }),
        list: [],
      };
    case "dead_jobs": {
      const list = [
        ...alert.queues.map((q) => t.queueLine(singleLine(q.queue), q.count)),
        ...alert.jobs.map((j) =>
          t.jobLine(
            j.id,
            singleLine(j.queue),
            j.subject ? singleLine(j.subject) : null,
            j.last_error ? singleLine(j.last_error).slice(0, 300) : null,
          )
        ),
      ];
      if (alert.total > alert.jobs.length) list.push(t.more(alert.total - alert.jobs.length));
      return {
        ...t.deadJobs({
          total: alert.total,
          since: alert.since ? formatDateTime(alert.since, shop.time_zone, locale) : null,
          until: formatDateTime(alert.until, shop.time_zone, locale),
        }),
        list,
      };
    }
  }
}

/**
 * An admin alert as a WhatsApp text: subject in bold, sentences, list, which shop sent it.
 *
 * @example
 * renderAlertWhatsApp({ locale: "fr", shop, alert: { kind: "low_stock", product_name: "Pain",
 *   stock: 2, threshold: 5 } }); // "*Stock bas : Pain*\n\nIl ne reste que 2 unité(s) …"
 */
export function renderAlertWhatsApp(input: AlertInput): string {
  const text = alertText(input);
  const blocks = [`*${text.subject}*`, ...text.paragraphs];
  if (text.list.length) blocks.push(text.list.map((l) => `• ${l}`).join("\n"));
  blocks.push(messages(input.locale).alerts.footer(singleLine(input.shop.name)));
  return blocks.join("\n\n");
}

/**
 * An admin alert as an email.
 *
 * @example
 * renderAlertEmail({ locale: "en", shop, alert }).subject; // "Low review: 1/5 for order #42"
 */
export function renderAlertEmail(input: AlertInput): RenderedEmail {
  const text = alertText(input);
  const footer = messages(input.locale).alerts.footer(singleLine(input.shop.name));
  const html = markup`${text.paragraphs.map((p) => markup`<p style="${PARAGRAPH}">${p}</p>\n`)}${
    text.list.length
      ? markup`<div style="${DETAILS}">
${text.list.map((l) => markup`<p style="${ROW}">${l}</p>\n`)}</div>
`
      : ""
  }<p style="${SMALL_PARAGRAPH}">${footer}</p>`;
  const textLines = [...text.paragraphs.flatMap((p) => [p, ""])];
  if (text.list.length) textLines.push(...text.list.map((l) => `- ${l}`), "");
  textLines.push(footer);
  return {
    subject: text.subject,
    html: emailDocument(input.locale, text.subject, html),
    text: textPart(textLines),
  };
}

/** The link as given, once checked to be an absolute http(s) URL without whitespace. */
function checkedUrl(url: string, field: string): string {
  let protocol = "";
  try {
    protocol = new URL(url).protocol;
  } catch {
    // Not a URL: refused below.
  }
  if ((protocol !== "https:" && protocol !== "http:") || /\s/.test(url)) {
    throw new TypeError(`Expected an absolute http(s) URL in ${field}, got ${JSON.stringify(url)}`);
  }
  return url;
}
