/**
 * A customer's WhatsApp reply to a review request, end to end in headless Chromium, the way the
 * issue's local experience describes it: the shop's review request has gone to the customer; a
 * person opens the Evolution stand-in's WhatsApp page, sees the request in the conversation of
 * the shop's instance, types "2" as the customer and sends it. The review appears in the
 * database (rating 2, channel whatsapp), the customer's conversation shows the thank-you, and
 * the admin alert for a low review arrives in the Resend stand-in's inbox page, where the person
 * opens it.
 *
 * The fixture removes the test's customer afterwards (orders, requests, messages and the review go
 * with it by cascade) and restores the admins it set. On failure, a screenshot goes to
 * `.local/e2e/`.
 */
import { assert, assertEquals } from "../_support/assert.ts";
import { screenshot, withPage } from "../_support/browser.ts";
import { startShopTest } from "../_support/shop.ts";
import { requestReview, reviewOf } from "../_support/shop_replies.ts";
import { waitFor } from "../_support/wait.ts";
import { messages } from "../../supabase/functions/_shared/shop/i18n.ts";

const WHATSAPP_PAGE_URL = `${Deno.env.get("EVOLUTION_API_BASE_URL")}/`;
const INBOX_URL = `${Deno.env.get("RESEND_BASE_URL")}/`;
/** How long a step may wait (a reply becomes a review and an alert in about a second). */
const STEP_TIMEOUT_MS = 20_000;

/** The sentences of a customer message of `kind` for an order, in French. */
function customerText(kind: "review_request" | "review_thanks", order: number) {
  return messages("fr").customer[kind]({ order, total: "", orderedAt: "", readyAt: null });
}

Deno.test("a customer types \"2\" on the stand-in's WhatsApp page: the review is stored and the admins' alert arrives in the inbox", async () => {
  const t = await startShopTest();
  const run = crypto.randomUUID().slice(0, 8);
  const admin = `shop-admin-${run}@example.test`;
  try {
    await t.settings({ admin_emails: [admin], admin_language: "fr" });
    const customer = await t.customer({ name: `Camille ${run}`, language: "fr" });
    const number = customer.whatsapp_number!;
    const orderId = await requestReview(t, customer);
    const instance = t.instance!;

    await withPage(async (page) => {
      page.setDefaultTimeout(STEP_TIMEOUT_MS);
      let step = "whatsapp page";
      try {
        // (1) The stand-in's page shows the shop's instance and the request in its conversation.
        await page.goto(WHATSAPP_PAGE_URL);
        const card = page.locator("section.instance").filter({
          has: page.getByRole("heading", { name: instance, exact: true }),
        });
        await card.waitFor();
        const request = customerText("review_request", orderId).paragraphs[0];
        await card.locator("li.outgoing").filter({ hasText: `To +${number}` })
          .filter({ hasText: request }).waitFor();

        // (2) A person writes "2" as the customer and sends it.
        step = "reply";
        await card.getByLabel("Customer number").fill(number);
        await card.getByLabel("Message").fill("2");
        await card.getByRole("button", { name: "Send", exact: true }).click();
        await card.locator("li.incoming").filter({ hasText: `From +${number}` })
          .locator("span.text").filter({ hasText: /^2$/ }).waitFor();
        assertEquals(await card.locator("p.error").textContent(), "", "the stand-in took it");

        // (3) The review is in the database.
        step = "review";
        const review = await waitFor(() => reviewOf(t.sql, orderId), {
          timeoutMs: STEP_TIMEOUT_MS,
          what: `the review of order ${orderId}`,
        });
        assertEquals([review.rating, review.comment, review.channel], [2, null, "whatsapp"]);

        // (4) The customer's conversation shows the thank-you (the page refreshes itself).
        step = "thanks";
        const thanks = customerText("review_thanks", orderId).paragraphs[0];
        await card.locator("li.outgoing").filter({ hasText: `To +${number}` })
          .filter({ hasText: thanks }).waitFor();

        // (5) The admins' alert: recorded as sent, and in the inbox.
        step = "alert";
        const alert = await waitFor(async () => {
          const [row] = await t.sql`
            select status, deliveries from public.shop_alerts
            where kind = 'low_review' and subject = ${`review:${review.id}`}`;
          return row?.status === "sent" ? row : undefined;
        }, { timeoutMs: STEP_TIMEOUT_MS, what: `the low review alert of review ${review.id}` });
        assert(
          JSON.stringify(alert.deliveries).includes(admin),
          `the alert went to ${admin}: ${JSON.stringify(alert.deliveries)}`,
        );
        const subject = messages("fr").alerts.lowReview({
          rating: 2,
          order: orderId,
          customer: customer.name,
          comment: null,
        }).subject;
        await page.goto(INBOX_URL);
        const entry = page.locator("li").filter({ hasText: admin }).getByRole("link", {
          name: subject,
          exact: true,
        });
        await entry.waitFor();
        await entry.click();
        await page.waitForURL(/\/inbox\/[^/]+$/);
        assertEquals(
          (await page.getByRole("heading", { level: 1 }).textContent())?.trim(),
          subject,
        );
        const email = page.frameLocator('iframe[title="HTML part"]');
        await email.getByText(`${customer.name} a donné la note de 2/5`).waitFor();
      } catch (error) {
        const where = await screenshot(page, `shop-${step.replaceAll(" ", "-")}`);
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`Step "${step}" failed: ${message}\nScreenshot: ${where}`, {
          cause: error,
        });
      }
    });
  } finally {
    await t.done();
  }
});
