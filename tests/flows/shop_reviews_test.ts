/**
 * The shop's review requests end to end on the test platform (issue 11, automation 2): the
 * `request-reviews` function (cron secret or service key) asks every order picked up at least 7
 * days ago without a review or a request for one (9 days ago too: a missed day catches up),
 * once; it answers the seed's `{success, sent, failed, total, timestamp}` plus `skipped`; the
 * request goes by WhatsApp through the shop's instance on the Evolution stand-in, by email
 * (Resend stand-in) for a customer without a number or whose number is not on WhatsApp; inside
 * the quiet hours it waits for their end.
 *
 * Each test first runs the automation once before making its orders, so that whatever earlier
 * tests left due is taken then and the counts that follow are the test's own.
 */
import { assert, assertEquals } from "../_support/assert.ts";
import {
  ANON_AUTH,
  callFunction,
  callRequestReviews,
  resend,
  SERVICE_AUTH,
  startShopTest,
} from "../_support/shop.ts";
import { waitFor } from "../_support/wait.ts";

/** Takes what earlier tests left due, so that the next run counts only this test's orders. */
async function takeLeftovers(): Promise<void> {
  const answer = await callRequestReviews("manual");
  assertEquals(answer.status, 200, answer.text);
}

Deno.test("request-reviews asks each order picked up 7+ days ago once (9 days: caught up), answers the seed's shape, and a second run asks nothing", async () => {
  const t = await startShopTest();
  try {
    await takeLeftovers();
    const seven = await t.customer({ language: "fr" });
    const nine = await t.customer({ language: "en" });
    const six = await t.customer();
    const noConsent = await t.customer({ consent: false });
    const [due7, due9, notYet, skipped] = await t.pastOrders([
      { customer: seven, pickedUpAgo: "7 days 1 minute" },
      { customer: nine, pickedUpAgo: "9 days" },
      { customer: six, pickedUpAgo: "6 days 23 hours" },
      { customer: noConsent, pickedUpAgo: "8 days" },
    ]);

    const first = await callRequestReviews("manual");
    assertEquals(first.status, 200, first.text);
    assertEquals(Object.keys(first.body).sort(), [
      "failed",
      "sent",
      "skipped",
      "success",
      "timestamp",
      "total",
    ]);
    const { timestamp, ...counts } = first.body;
    assertEquals(counts, { success: true, sent: 2, failed: 0, skipped: 1, total: 3 });
    assert(
      Math.abs(Date.parse(timestamp) - Date.now()) < 60_000,
      `timestamp ${timestamp} is now`,
    );

    const requests = await t.sql`
      select order_id::int, status, reason from public.review_requests
      where order_id = any(${[due7, due9, notYet, skipped]}::bigint[]) order by order_id`;
    assertEquals(
      requests.map((r) => [r.order_id, r.status === "skipped" ? r.reason : "requested"]),
      [[due7, "requested"], [due9, "requested"], [skipped, "no consent"]],
    );

    // Each goes by WhatsApp through the shop's instance, once.
    for (const [order, customer] of [[due7, seven], [due9, nine]] as const) {
      const message = await t.waitForMessage(order, "review_request", "sent");
      assertEquals(message.channel, "whatsapp");
      assertEquals(message.fallback_reason, null);
      const sent = await t.waitForWhatsApp(customer.whatsapp_number!);
      assertEquals(sent.length, 1, `one message to ${customer.whatsapp_number}`);
      const [request] = await t.sql`
        select status, channel, sent_at from public.review_requests where order_id = ${order}`;
      assertEquals([request.status, request.channel], ["sent", "whatsapp"]);
    }
    assertEquals((await t.messages(notYet)).length, 0, "the 6-day order waits");
    assertEquals((await t.messages(skipped)).length, 0, "no consent: no message");

    // The run was logged.
    const [run] = await t.sql`
      select trigger, shop_day::text, finished_at is not null as finished, error, result
      from public.shop_automation_runs
      where automation = 'request-reviews' order by id desc limit 1`;
    assertEquals([run.trigger, run.finished, run.error], ["manual", true, null]);
    assertEquals(run.result.total, 3);

    // A second run, with the service key as an operator would: nothing more.
    const second = await callRequestReviews("manual", SERVICE_AUTH);
    assertEquals(second.status, 200, second.text);
    assertEquals(
      [second.body.sent, second.body.failed, second.body.skipped, second.body.total],
      [0, 0, 0, 0],
    );
    await t.drain();
    assertEquals((await t.sentTo(seven.whatsapp_number!)).length, 1);
    assertEquals((await t.sentTo(nine.whatsapp_number!)).length, 1);
    const [{ n }] = await t.sql`
      select count(*)::int as n from public.shop_messages
      where order_id = any(${[due7, due9]}::bigint[]) and kind = 'review_request'`;
    assertEquals(n, 2);
  } finally {
    await t.done();
  }
});

Deno.test("request-reviews is internal: no key 401, a bad body 400, GET works", async () => {
  const t = await startShopTest();
  try {
    const none = await callFunction("request-reviews", null, {});
    assertEquals(none.status, 401, none.text);
    const anon = await callFunction("request-reviews", ANON_AUTH, {});
    assertEquals(anon.status, 401, anon.text);
    const bad = await callFunction("request-reviews", undefined, { trigger: "sometimes" });
    assertEquals(bad.status, 400, bad.text);
    assertEquals(bad.body.error.code, "invalid_body");
    const get = await callFunction("request-reviews", undefined, undefined, "GET");
    assertEquals(get.status, 200, get.text);
    assertEquals(get.body.success, true);
  } finally {
    await t.done();
  }
});

Deno.test("a review request goes by email to a customer without a number, and to one not on WhatsApp", async () => {
  const t = await startShopTest();
  try {
    await takeLeftovers();
    const emailOnly = await t.customer({ whatsapp: null, language: "en" });
    const notOnWhatsApp = await t.customer({ notOnWhatsApp: true });
    const nothing = await t.customer({ whatsapp: null, email: null }).catch(() => null);
    assertEquals(nothing, null, "a customer needs a number or an email");
    const [byEmail, fallback] = await t.pastOrders([
      { customer: emailOnly, pickedUpAgo: "8 days" },
      { customer: notOnWhatsApp, pickedUpAgo: "8 days" },
    ]);
    const answer = await callRequestReviews();
    assertEquals(answer.status, 200, answer.text);
    assertEquals([answer.body.sent, answer.body.failed, answer.body.total], [2, 0, 2]);

    for (const [order, customer] of [[byEmail, emailOnly], [fallback, notOnWhatsApp]] as const) {
      const message = await t.waitForMessage(order, "review_request", "sent");
      assertEquals(message.channel, "email", `order ${order} went by email`);
      const emails = await waitFor(async () => {
        const list = await resend.list({ to: customer.email! });
        return list.length ? list : undefined;
      }, { what: `the review request email to ${customer.email}` });
      assertEquals(emails.length, 1);
    }
    const [viaFallback] = (await t.messages(fallback)).filter((m) => m.kind === "review_request");
    assert(viaFallback.fallback_reason, "the fallback says why email instead of WhatsApp");
    assertEquals((await t.sentTo(notOnWhatsApp.whatsapp_number!)).length, 0);
    const requests = await t.sql`
      select status, channel from public.review_requests
      where order_id = any(${[byEmail, fallback]}::bigint[])`;
    assertEquals(requests.map((r) => `${r.status}/${r.channel}`), ["sent/email", "sent/email"]);
  } finally {
    await t.done();
  }
});

Deno.test("inside the quiet hours a review request is scheduled for their end and nothing goes now", async () => {
  const t = await startShopTest();
  try {
    await takeLeftovers();
    // Quiet from an hour ago to an hour from now, shop time (minutes, as the settings hold them).
    const [window] = await t.sql`
      select to_char((now() - interval '1 hour') at time zone s.time_zone, 'HH24:MI') as start,
             to_char((now() + interval '1 hour') at time zone s.time_zone, 'HH24:MI') as end,
             date_trunc('minute', now() + interval '1 hour') as quiet_end
      from shop_internal.settings() s`;
    await t.settings({ quiet_start: window.start, quiet_end: window.end });
    const customer = await t.customer();
    const [order] = await t.pastOrders([{ customer, pickedUpAgo: "8 days" }]);

    const answer = await callRequestReviews();
    assertEquals(answer.status, 200, answer.text);
    assertEquals(answer.body.sent, 1, "handed to the queue, to go at the quiet end");
    const [message] = await t.messages(order);
    assertEquals([message.kind, message.status], ["review_request", "scheduled"]);
    assertEquals(message.scheduled_for.toISOString(), window.quiet_end.toISOString());
    const [job] = await t.sql`select state, run_at from jobs.jobs where id = ${message.job_id}`;
    assertEquals(job.state, "waiting");
    assertEquals(job.run_at.toISOString(), window.quiet_end.toISOString());

    // Run now anyway (belt and braces): the send-time check says wait.
    const [{ start }] = await t.sql`
      select public.shop_message_start(${message.id}::uuid) as start`;
    assertEquals(start.action, "wait");
    assert(start.wait_seconds > 3500 && start.wait_seconds <= 3600, `${start.wait_seconds} s`);
    await t.drain();
    assertEquals((await t.sentTo(customer.whatsapp_number!)).length, 0);
    const [after] = await t.messages(order);
    assertEquals([after.status, after.sent_at], ["scheduled", null]);
  } finally {
    await t.done();
  }
});
