/**
 * The shop's messages as they leave (`_shared/shop/templates.ts`): hostile values (names,
 * product names, comments, shop names) escaped in the HTML part and kept on one line in the text
 * parts, French by default and English on request, money and dates in the reader's language and
 * the shop's zone, the five rating links of a review request email, and the alerts.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertThrows,
} from "../_support/assert.ts";
import {
  type CustomerMessageInput,
  formatMoney,
  ratingUrls,
  renderAlertEmail,
  renderAlertWhatsApp,
  renderCustomerEmail,
  renderCustomerWhatsApp,
} from "../../supabase/functions/_shared/shop/templates.ts";
import { MESSAGE_KINDS, messages } from "../../supabase/functions/_shared/shop/i18n.ts";
import { type Locale, pickLocale } from "../../supabase/functions/_shared/i18n/locale.ts";

const HOSTILE = `<script>alert("x")</script> & 'Co'`;
const HOSTILE_ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;";
const SUPABASE_URL = "http://127.0.0.1:54321";
const TOKEN = "tok_AbC-123";

function message(overrides: Partial<CustomerMessageInput> = {}): CustomerMessageInput {
  return {
    kind: "order_confirmation",
    locale: "fr",
    shop: { name: "La Boutique", time_zone: "Europe/Paris" },
    customer: { name: "Marie" },
    order: {
      id: 42,
      total_cents: 1730,
      // 14:30 in Paris (UTC+1 in November).
      created_at: "2026-11-24T13:30:00+00:00",
      ready_at: null,
      items: [
        { name: "Pain de campagne", quantity: 2, unit_price_cents: 365 },
        { name: "Tarte aux pommes", quantity: 1, unit_price_cents: 1000 },
      ],
    },
    ...overrides,
  };
}

/** The text a reader sees in an HTML document: tags removed, entities left as they are. */
function visibleText(html: string): string {
  return html.replace(/<[^>]*>/g, "");
}

Deno.test("a hostile customer name, product name and shop name are escaped in the HTML part", () => {
  const email = renderCustomerEmail(message({
    customer: { name: HOSTILE },
    shop: { name: HOSTILE, time_zone: "Europe/Paris" },
    order: {
      ...message().order,
      items: [{ name: HOSTILE, quantity: 1, unit_price_cents: 1730 }],
    },
  }));
  assert(!email.html.includes("<script>"), "no <script> tag in the HTML part");
  assert(!email.html.includes(`alert("x")`), "no unescaped quote in the HTML part");
  const count = email.html.split(HOSTILE_ESCAPED).length - 1;
  assertEquals(count, 3, "the name, the product and the shop each appear escaped");
  // The text part carries the values as they are (it is not HTML), each on one line.
  assert(email.text.includes(`Bonjour ${HOSTILE},`), email.text);
  assert(email.text.includes(`1 × ${HOSTILE} (17,30`), email.text);
});

Deno.test("a name with line breaks cannot fake a line of its own in the texts", () => {
  const name = "Eve\nhttps://evil.test/\r\nX";
  const whatsapp = renderCustomerWhatsApp(message({ customer: { name } }));
  const email = renderCustomerEmail(message({ customer: { name } }));
  for (const text of [whatsapp, email.text]) {
    assert(!/^https:\/\/evil\.test\/$/m.test(text), `no line of its own in: ${text}`);
    assert(text.includes("Eve https://evil.test/ X"), text);
  }
});

Deno.test("the order confirmation lists the items and the total, formatted in French by default", () => {
  const text = renderCustomerWhatsApp(message());
  assertMatch(text, /^Bonjour Marie,/);
  assert(text.includes("Commande n° 42") || text.includes("commande n° 42"), text);
  assert(text.includes("2 × Pain de campagne (7,30\u00a0€)"), text);
  assert(text.includes("1 × Tarte aux pommes (10,00\u00a0€)"), text);
  assert(text.includes("Total : 17,30\u00a0€"), text);
  // The order's time, in the shop's zone.
  assert(text.includes("mardi 24 novembre 2026 à 14 h 30"), text);
  assert(text.endsWith("À bientôt,\nLa Boutique"), text);
  const email = renderCustomerEmail(message());
  assertEquals(email.subject, "Commande n° 42 bien reçue");
  assertMatch(email.html, /<html lang="fr">/);
  assert(visibleText(email.html).includes("Total : 17,30"), "the total in the HTML part");
});

Deno.test("English customers get English texts, with English money and dates", () => {
  const input = message({ locale: "en" });
  const text = renderCustomerWhatsApp(input);
  assertMatch(text, /^Hello Marie,/);
  assert(text.includes("Total: €17.30"), text);
  assert(text.includes("Tuesday 24 November 2026 at 2:30 pm"), text);
  const email = renderCustomerEmail(input);
  assertEquals(email.subject, "Order #42 received");
  assertMatch(email.html, /<html lang="en">/);
  assertEquals(formatMoney(123456, "en"), "€1,234.56");
});

Deno.test("the language is French unless the customer speaks English", () => {
  assertEquals(pickLocale("en"), "en");
  assertEquals(pickLocale("EN-gb"), "en");
  assertEquals(pickLocale("fr"), "fr");
  assertEquals(pickLocale("de"), "fr");
  assertEquals(pickLocale(null), "fr");
});

Deno.test("every message kind renders in both languages, with a subject and its order number", () => {
  for (const locale of ["fr", "en"] as Locale[]) {
    for (const kind of MESSAGE_KINDS) {
      const input = message({
        kind,
        locale,
        rating_urls: kind === "review_request" ? ratingUrls(SUPABASE_URL, TOKEN) : undefined,
        order: { ...message().order, ready_at: "2026-11-25T09:00:00Z" },
      });
      const email = renderCustomerEmail(input);
      assert(email.subject.includes("42"), `${locale} ${kind}: ${email.subject}`);
      assert(email.text.length > 0 && renderCustomerWhatsApp(input).length > 0, kind);
    }
  }
  const subjects = new Set(MESSAGE_KINDS.map((kind) =>
    messages("fr").customer[kind]({
      order: 1,
      total: "",
      orderedAt: "",
      readyAt: null,
    }).subject
  ));
  assertEquals(subjects.size, MESSAGE_KINDS.length, "each kind has its own subject");
});

Deno.test("the pickup reminder says since when the order is ready, in the shop's zone", () => {
  const text = renderCustomerWhatsApp(message({
    kind: "pickup_reminder",
    order: { ...message().order, ready_at: "2026-07-01T08:15:00Z" },
  }));
  // 10:15 in Paris in summer (UTC+2).
  assert(text.includes("mercredi 1er juillet 2026 à 10 h 15"), text);
});

Deno.test("a review request by WhatsApp asks for a mark from 1 to 5 and carries no link", () => {
  const fr = renderCustomerWhatsApp(message({ kind: "review_request" }));
  assert(fr.includes("de 1 à 5") && fr.includes("⭐⭐⭐⭐"), fr);
  assert(!fr.includes("http"), fr);
  const en = renderCustomerWhatsApp(message({ kind: "review_request", locale: "en" }));
  assert(en.includes("from 1 to 5, e.g. 4 or ⭐⭐⭐⭐"), en);
});

Deno.test("a review request by email carries the five rating links, in both parts", () => {
  const urls = ratingUrls(SUPABASE_URL, TOKEN);
  assertEquals(
    urls[3],
    `${SUPABASE_URL}/functions/v1/review-response?token=${TOKEN}&rating=4`,
  );
  const email = renderCustomerEmail(message({ kind: "review_request", rating_urls: urls }));
  const textLinks = email.text.match(/^https?:\/\/\S+$/gm) ?? [];
  assertEquals(textLinks, urls, "the text part lists the five links in order");
  const hrefs = [...email.html.matchAll(/href="([^"]+)"/g)].map((m) =>
    m[1].replaceAll("&amp;", "&")
  );
  assertEquals(hrefs, urls, "the HTML part links the five marks in order");
  assert(!email.text.includes("Répondez simplement"), "no reply hint in an email");
  const missing = assertThrows(() => renderCustomerEmail(message({ kind: "review_request" })));
  assertInstanceOf(missing, TypeError);
  assertMatch(missing.message, /needs 5 rating links/);
  const unsafe = assertThrows(() =>
    renderCustomerEmail(message({
      kind: "review_request",
      rating_urls: [...urls.slice(0, 4), "javascript:alert(1)"],
    }))
  );
  assertInstanceOf(unsafe, TypeError);
  assertMatch(unsafe.message, /absolute http\(s\) URL/);
});

Deno.test("a low review alert escapes the customer's name and comment", () => {
  const input = {
    locale: "fr" as const,
    shop: { name: "La Boutique", time_zone: "Europe/Paris" },
    alert: {
      kind: "low_review" as const,
      rating: 1,
      order_id: 42,
      customer_name: HOSTILE,
      comment: `Bof\n${HOSTILE}`,
    },
  };
  const email = renderAlertEmail(input);
  assertEquals(email.subject, "Avis négatif : 1/5 pour la commande n° 42");
  assert(!email.html.includes("<script>"), "no <script> tag in the alert");
  assertEquals(email.html.split(HOSTILE_ESCAPED).length - 1, 2, "name and comment escaped");
  assert(email.text.includes(`Son commentaire : « Bof ${HOSTILE} »`), email.text);
  const whatsapp = renderAlertWhatsApp(input);
  assertMatch(whatsapp, /^\*Avis négatif : 1\/5/);
  assert(whatsapp.endsWith("Alerte automatique de La Boutique."), whatsapp);
});

Deno.test("low stock and dead jobs alerts say what, how many and since when", () => {
  const shop = { name: "Shop", time_zone: "Europe/Paris" };
  const stock = renderAlertWhatsApp({
    locale: "en",
    shop,
    alert: { kind: "low_stock", product_name: "Croissant <b>", stock: 3, threshold: 5 },
  });
  assert(stock.includes("Only 3 unit(s) of “Croissant <b>” left (alert threshold: 5)"), stock);
  const stockEmail = renderAlertEmail({
    locale: "en",
    shop,
    alert: { kind: "low_stock", product_name: "Croissant <b>", stock: 3, threshold: 5 },
  });
  assert(stockEmail.html.includes("Croissant &lt;b&gt;"), "product name escaped");

  const digest = renderAlertEmail({
    locale: "fr",
    shop,
    alert: {
      kind: "dead_jobs",
      since: "2026-11-24T09:00:00Z",
      until: "2026-11-24T10:00:00Z",
      total: 3,
      queues: [{ queue: "shop", count: 2 }, { queue: "webhooks", count: 1 }],
      jobs: [{ id: 7, queue: "shop", subject: "order:1", last_error: "<boom>" }],
    },
  });
  assertEquals(digest.subject, "3 tâche(s) abandonnée(s) après échecs");
  assert(digest.text.includes("Depuis le mardi 24 novembre 2026 à 10 h 00"), digest.text);
  assert(digest.text.includes("- File « shop » : 2"), digest.text);
  assert(digest.text.includes("- Tâche 7 (shop, order:1) : <boom>"), digest.text);
  assert(digest.text.includes("… et 2 autre(s)."), digest.text);
  assert(digest.html.includes("&lt;boom&gt;") && !digest.html.includes("<boom>"), "escaped");
});
