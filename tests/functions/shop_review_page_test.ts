/**
 * The pages of the email rating links (`renderReviewPage`): each state's HTTP status and text in
 * French and English, the confirm page's form (posting back token and rating, nothing else), the
 * shop's name escaped everywhere, and the inputs a page refuses.
 */
import { assert, assertEquals, assertThrows } from "../_support/assert.ts";
import { pageResponse } from "../../supabase/functions/_shared/html/page_response.ts";
import {
  renderReviewPage,
  type ReviewPageState,
} from "../../supabase/functions/_shared/shop/review_page.ts";

const TOKEN = "A".repeat(43);
const NASTY = 'Chez <b>"Léa"</b> & Co';
const NASTY_ESCAPED = "Chez &lt;b&gt;&quot;Léa&quot;&lt;/b&gt; &amp; Co";

const CASES: Array<[ReviewPageState, number, string, string]> = [
  ["confirm", 200, `Votre note pour ${NASTY_ESCAPED}`, `Your rating for ${NASTY_ESCAPED}`],
  ["thanks", 200, "Merci pour votre avis !", "Thank you for your review!"],
  ["expired", 410, "Ce lien a expiré", "This link has expired"],
  ["used", 409, "Avis déjà enregistré", "Review already recorded"],
  ["unknown", 404, "Lien introuvable", "Link not found"],
  ["invalid", 400, "Lien invalide", "Invalid link"],
  ["unavailable", 503, "Service momentanément indisponible", "Service temporarily unavailable"],
];

for (const [state, status, fr, en] of CASES) {
  Deno.test(`the ${state} page answers ${status}, in French and English`, () => {
    for (const [locale, heading] of [["fr", fr], ["en", en]] as const) {
      const page = renderReviewPage({ state, locale, shopName: NASTY, rating: 4, token: TOKEN });
      assertEquals(page.status, status);
      assert(page.html.includes(`<html lang="${locale}">`), page.html);
      assert(page.html.includes(`<h1>${heading}</h1>`), page.html);
      assert(!page.html.includes("<b>"), "the shop's name is escaped");
      assertEquals(page.html.includes("<form"), state === "confirm", "only confirm has a form");
    }
  });
}

Deno.test("the confirm page shows the rating and posts back exactly the token and the rating", () => {
  const page = renderReviewPage({
    state: "confirm",
    locale: "en",
    shopName: "Shop",
    rating: 3,
    token: TOKEN,
  });
  assert(page.html.includes("You chose a rating of 3 out of 5."));
  assert(page.html.includes("★★★☆☆"));
  const fields = [...page.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)]
    .map((m) => [m[1], m[2]]);
  assertEquals(fields, [["token", TOKEN], ["rating", "3"]]);
  assert(page.html.includes('<form method="post">'), "the form posts to the current URL");
  assert(page.html.includes('<button type="submit">Send my rating</button>'));
});

Deno.test("pages without a shop name speak of the shop, and a thanks page in French names the rating", () => {
  const page = renderReviewPage({ state: "thanks", locale: "fr", rating: 5 });
  assert(page.html.includes("Votre note de 5 sur 5 est bien enregistrée."), page.html);
  assert(page.html.includes("Toute l&#39;équipe de la boutique vous remercie."), page.html);
  assert(page.html.includes("<title>Merci pour votre avis !</title>"), page.html);
});

Deno.test("a confirm page needs a token and a rating 1..5, a thanks page a rating", () => {
  assertThrows(() => renderReviewPage({ state: "confirm", locale: "fr", rating: 4 }));
  assertThrows(() => renderReviewPage({ state: "confirm", locale: "fr", rating: 6, token: TOKEN }));
  assertThrows(() => renderReviewPage({ state: "thanks", locale: "fr" }));
  assertThrows(() => renderReviewPage({ state: "nope" as ReviewPageState, locale: "fr" }));
});

Deno.test("a page's response is HTML, never cached or indexed, and empty for HEAD", async () => {
  const page = renderReviewPage({ state: "used", locale: "fr" });
  const get = pageResponse(page, "GET");
  assertEquals(get.status, 409);
  assertEquals(get.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(get.headers.get("cache-control"), "no-store");
  assertEquals(get.headers.get("x-robots-tag"), "noindex");
  assert((await get.text()).startsWith("<!doctype html>"));
  assertEquals(await pageResponse(page, "HEAD").text(), "");
});
