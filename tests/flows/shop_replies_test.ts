/**
 * Review replies end to end on the test platform: a customer answers the shop's WhatsApp review
 * request on the Evolution stand-in; evolution-webhook stores the message, the trigger enqueues
 * the reply job, `process-shop-queue` reads the rating and records it: a review with its comment
 * and a thank-you sent back on WhatsApp, or, for an unreadable answer, one polite question and
 * never a second one. By email, the rating links lead to `review-response`: a GET shows a
 * confirmation page and changes nothing, the POST records the review once; expired, used,
 * unknown and malformed links get their own pages, in the customer's language, with every value
 * escaped.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import { type ShopTest, startShopTest } from "../_support/shop.ts";
import { customerWrites, requestReview, reviewOf, waitForReply } from "../_support/shop_replies.ts";
import { messages } from "../../supabase/functions/_shared/shop/i18n.ts";

const REVIEW_RESPONSE_URL = `${Deno.env.get("SUPABASE_URL")}/functions/v1/review-response`;

/** The WhatsApp messages the customer received, texts only, oldest first. */
async function textsTo(t: ShopTest, number: string): Promise<string[]> {
  return (await t.sentTo(number)).map((m) => m.text);
}

Deno.test('a WhatsApp reply "4 très bien" becomes a review with its comment, and the customer is thanked once', async () => {
  const t = await startShopTest();
  try {
    const customer = await t.customer({ language: "fr" });
    const orderId = await requestReview(t, customer);
    const [request] = await t.sql`
      select status, channel from public.review_requests where order_id = ${orderId}`;
    assertEquals({ ...request }, { status: "sent", channel: "whatsapp" }, "the request went");

    const inbound = await customerWrites(t, customer, "4 très bien");
    const reply = await waitForReply(t.sql, inbound);
    assertEquals([reply.order_id, reply.outcome, reply.rating, reply.comment], [
      orderId,
      "review",
      4,
      "très bien",
    ]);
    const review = await reviewOf(t.sql, orderId);
    assertEquals(
      review && [review.rating, review.comment, review.channel],
      [4, "très bien", "whatsapp"],
    );
    const [answered] = await t.sql`
      select status, answered_at from public.review_requests where order_id = ${orderId}`;
    assertEquals(answered.status, "answered");

    const thanks = await t.waitForMessage(orderId, "review_thanks");
    assertEquals([thanks.status, thanks.channel], ["sent", "whatsapp"], JSON.stringify(thanks));
    const thanksText = messages("fr").customer.review_thanks({
      order: orderId,
      total: "",
      orderedAt: "",
      readyAt: null,
    }).paragraphs[0];
    const texts = await textsTo(t, customer.whatsapp_number!);
    assertEquals(
      texts.filter((text) => text.includes(thanksText)).length,
      1,
      texts.join("\n---\n"),
    );

    // A second message is no reply any more (the request is answered): no job, no change.
    const again = await customerWrites(t, customer, "5 finalement");
    const [jobs] = await t.sql`
      select count(*)::int as n from jobs.jobs
      where queue = 'shop' and dedupe_key = ${`shop-reply:${again}`}`;
    assertEquals(jobs.n, 0, "no reply job for a message after the review");
    assertEquals((await reviewOf(t.sql, orderId))?.rating, 4, "the first rating stands");
    const [count] = await t.sql`
      select count(*)::int as n from public.shop_messages
      where order_id = ${orderId} and kind = 'review_thanks'`;
    assertEquals(count.n, 1);
  } finally {
    await t.done();
  }
});

Deno.test("an unreadable reply gets one polite question, a second one gets nothing, and a rating after it is a review", async () => {
  const t = await startShopTest();
  try {
    const customer = await t.customer({ language: "en" });
    const orderId = await requestReview(t, customer);

    const first = await waitForReply(t.sql, await customerWrites(t, customer, "bof"));
    assertEquals([first.outcome, first.rating, first.comment], ["question", null, "bof"]);
    const question = await t.waitForMessage(orderId, "review_question");
    assertEquals([question.status, question.channel], ["sent", "whatsapp"]);
    const [request] = await t.sql`
      select status, question_sent_at from public.review_requests where order_id = ${orderId}`;
    assertEquals(request.status, "sent", "the request stays open");
    assert(request.question_sent_at instanceof Date, "the question's sending is recorded");
    const questionText = messages("en").customer.review_question({
      order: orderId,
      total: "",
      orderedAt: "",
      readyAt: null,
    }).paragraphs[0];
    const asked = async () =>
      (await textsTo(t, customer.whatsapp_number!)).filter((text) => text.includes(questionText));
    assertEquals((await asked()).length, 1, "the question reached the customer");

    const second = await waitForReply(t.sql, await customerWrites(t, customer, "bof"));
    assertEquals(second.outcome, "ignored");
    // The reply is recorded inside its job; the job's own completion follows a moment later.
    const states = await waitFor(async () => {
      const rows = await t.sql<{ state: string }[]>`
        select state::text from jobs.jobs
        where queue = 'shop' and subject = ${`customer:${customer.id}`}`;
      const settled = rows.every((r) => r.state !== "waiting" && r.state !== "running");
      return settled && rows.map((r) => r.state);
    }, { what: "the customer's reply jobs to settle" });
    assert(states.length > 0, "the customer's replies were jobs");
    assertEquals(
      states.filter((s) => s !== "succeeded"),
      [],
      "every reply job of the customer succeeded",
    );
    assertEquals((await asked()).length, 1, "no second question");
    assertEquals(await reviewOf(t.sql, orderId), undefined, "no review from unreadable replies");

    const third = await waitForReply(t.sql, await customerWrites(t, customer, "⭐⭐⭐ ok"));
    assertEquals([third.outcome, third.rating, third.comment], ["review", 3, "ok"]);
    assertEquals((await reviewOf(t.sql, orderId))?.rating, 3);
  } finally {
    await t.done();
  }
});

Deno.test("a message from a customer without an open request stores nothing and enqueues no reply job", async () => {
  const t = await startShopTest();
  try {
    const customer = await t.customer();
    const inbound = await customerWrites(t, customer, "4");
    const [jobs] = await t.sql`
      select count(*)::int as n from jobs.jobs
      where queue = 'shop' and dedupe_key = ${`shop-reply:${inbound}`}`;
    assertEquals(jobs.n, 0);
    const [replies] = await t.sql`
      select count(*)::int as n from public.shop_review_replies where inbound_id = ${inbound}`;
    assertEquals(replies.n, 0);
  } finally {
    await t.done();
  }
});

/** The page of a rating link: status and HTML. */
async function openLink(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; html: string }> {
  const res = await fetch(url, { redirect: "manual", ...init });
  return { status: res.status, html: await res.text() };
}

/** Posts the confirmation form of a page as a browser would. */
function postForm(url: string, fields: Record<string, string>) {
  return openLink(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
}

Deno.test("an email rating link shows a confirmation on GET, records the review once on POST, and explains the links that no longer work", async () => {
  const t = await startShopTest();
  try {
    await t.settings({ shop_name: 'Chez <b>"Léa"</b> & Co' });
    const customer = await t.customer({ whatsapp: null, language: "en" });
    const orderId = await requestReview(t, customer);
    const [request] = await t.sql`
      select channel, link_expires_at from public.review_requests where order_id = ${orderId}`;
    assertEquals(request.channel, "email");
    assert(request.link_expires_at instanceof Date, "the links expire");

    const [email] = await t.emailsTo(customer.email!);
    const links = [...(email.html ?? "").matchAll(/href="([^"]*review-response[^"]*)"/g)]
      .map((m) => m[1].replaceAll("&amp;", "&"));
    assertEquals(links.length, 5, "five rating links");
    const link = new URL(links.find((l) => l.endsWith("rating=4"))!);
    const url = `${REVIEW_RESPONSE_URL}${link.search}`;
    const token = link.searchParams.get("token")!;

    // GET: a confirmation page, twice, and nothing recorded (mail scanners follow links).
    for (let i = 0; i < 2; i++) {
      const page = await openLink(url);
      assertEquals(page.status, 200, page.html);
      assertMatch(page.html, /<html lang="en">/);
      assert(
        page.html.includes("Your rating for Chez &lt;b&gt;&quot;Léa&quot;&lt;/b&gt; &amp; Co"),
      );
      assert(!page.html.includes("<b>"), "the shop's name is escaped");
      assert(page.html.includes("You chose a rating of 4 out of 5."), page.html);
      assert(page.html.includes('<form method="post">'));
      assert(page.html.includes(`name="token" value="${token}"`));
    }
    // (The gateway answers HEAD 405 itself, as Supabase's does: the function never sees it.)
    assertEquals(await reviewOf(t.sql, orderId), undefined, "GET records nothing");

    // POST: the review, once.
    const thanks = await postForm(url, { token, rating: "4" });
    assertEquals(thanks.status, 200, thanks.html);
    assert(thanks.html.includes("Thank you for your review!"), thanks.html);
    assert(thanks.html.includes("Your rating of 4 out of 5 has been recorded."));
    const review = await reviewOf(t.sql, orderId);
    assertEquals(review && [review.rating, review.channel], [4, "email"]);
    const message = await t.waitForMessage(orderId, "review_thanks");
    assertEquals([message.status, message.channel], ["sent", "email"]);

    const used = await postForm(url, { token, rating: "2" });
    assertEquals(used.status, 409);
    assert(used.html.includes("Review already recorded"), used.html);
    assertEquals((await reviewOf(t.sql, orderId))?.rating, 4, "the first rating stands");
    assertEquals((await openLink(url)).status, 409, "GET after use: used");

    // Expired: another request whose links are past their time.
    const late = await t.customer({ whatsapp: null, language: "fr" });
    const lateOrder = await requestReview(t, late);
    const [lateEmail] = await t.emailsTo(late.email!);
    const lateLink = /href="[^"]*review-response(\?[^"]*rating=5)"/.exec(lateEmail.html ?? "")![1]
      .replaceAll("&amp;", "&");
    await t.sql`update public.review_requests set link_expires_at = now() - interval '1 second'
      where order_id = ${lateOrder}`;
    const lateToken = new URLSearchParams(lateLink).get("token")!;
    const expired = await postForm(`${REVIEW_RESPONSE_URL}${lateLink}`, {
      token: lateToken,
      rating: "5",
    });
    assertEquals(expired.status, 410);
    assertMatch(expired.html, /<html lang="fr">/);
    assert(expired.html.includes("Ce lien a expiré"), expired.html);
    assertEquals(await reviewOf(t.sql, lateOrder), undefined, "an expired link records nothing");

    // Unknown and malformed links.
    const unknown = await openLink(`${REVIEW_RESPONSE_URL}?token=${"A".repeat(43)}&rating=3`, {
      headers: { "accept-language": "en-GB,en;q=0.8" },
    });
    assertEquals(unknown.status, 404);
    assert(unknown.html.includes("Link not found"));
    for (
      const query of [
        `?token=${token}&rating=6`,
        `?token=${token}&rating=0`,
        `?token=${token}`,
        "?rating=4",
        `?token=${token.slice(1)}&rating=4`,
        `?token=${token}&rating=4<script>`,
      ]
    ) {
      const bad = await openLink(`${REVIEW_RESPONSE_URL}${query}`);
      assertEquals(bad.status, 400, query);
      assert(bad.html.includes("Lien invalide"), bad.html);
      assert(!bad.html.includes("<script>"), "nothing of the link is echoed");
    }
    const put = await fetch(url, { method: "PUT" });
    await put.body?.cancel();
    assertEquals([put.status, put.headers.get("allow")], [405, "GET, HEAD, POST"]);
  } finally {
    await t.done();
  }
});

Deno.test("two replies racing for one request leave one review", async () => {
  const t = await startShopTest();
  try {
    const customer = await t.customer();
    const orderId = await requestReview(t, customer);
    const inbound = await Promise.all(
      ["2", "5 !"].map((text) => customerWrites(t, customer, text)),
    );
    // The loser either meets the winner's lock in record ("ignored") or starts after the
    // request is answered (its job skips, with no reply row): either way one review.
    const outcomes = await waitFor(async () => {
      await t.sql`select jobs.drain('shop')`;
      const jobs = await t.sql`
        select state, result ->> 'outcome' as outcome from jobs.jobs
        where queue = 'shop' and dedupe_key = any(${inbound.map((id) => `shop-reply:${id}`)})`;
      return jobs.length === 2 && jobs.every((j) => j.state === "succeeded")
        ? jobs.map((j) => j.outcome as string).sort()
        : undefined;
    }, { timeoutMs: 20_000, what: "both reply jobs finished" });
    assert(
      ["ignored,review", "review,skipped"].includes(outcomes.join()),
      `one reply wins, the other is ignored or skipped: ${outcomes}`,
    );
    const [winner] = await t.sql`
      select rating from public.shop_review_replies
      where inbound_id = any(${inbound}) and outcome = 'review'`;
    const review = await reviewOf(t.sql, orderId);
    assertEquals(review?.rating, winner.rating);
    await waitFor(async () => {
      const [row] = await t.sql`
        select count(*)::int as n from public.shop_messages
        where order_id = ${orderId} and kind = 'review_thanks'`;
      return row.n === 1;
    }, { what: "one thank-you" });
  } finally {
    await t.done();
  }
});

Deno.test('a reply "2" stores a low review and alerts the admins by email', async () => {
  const t = await startShopTest();
  const admin = `shop-admin-${crypto.randomUUID()}@example.test`;
  try {
    await t.settings({ admin_emails: [admin], admin_language: "en" });
    const customer = await t.customer({ name: "Paul <i>", language: "fr" });
    const orderId = await requestReview(t, customer);

    const reply = await waitForReply(t.sql, await customerWrites(t, customer, "2 décevant"));
    assertEquals([reply.outcome, reply.rating, reply.comment], ["review", 2, "décevant"]);
    const review = (await reviewOf(t.sql, orderId))!;
    const alert = await waitFor(async () => {
      await t.sql`select jobs.drain('shop')`;
      const [row] = await t.sql`
        select status, deliveries from public.shop_alerts
        where kind = 'low_review' and subject = ${`review:${review.id}`}`;
      return row?.status === "sent" ? row : undefined;
    }, { timeoutMs: 20_000, what: `the low review alert of review ${review.id}` });
    assert(JSON.stringify(alert.deliveries).includes(admin), JSON.stringify(alert.deliveries));
    const [email] = await t.emailsTo(admin);
    const expected = messages("en").alerts.lowReview({
      rating: 2,
      order: orderId,
      customer: customer.name,
      comment: "décevant",
    });
    assertEquals(email?.subject, expected.subject);
    assert(email.html?.includes("Paul &lt;i&gt;"), "the customer's name is escaped");
    assert(email.html?.includes("décevant"), "with the comment");
  } finally {
    await t.done();
  }
});
