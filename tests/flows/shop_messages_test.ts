/**
 * The shop's customer messages and admin alerts end to end on the test platform: an order's
 * triggers schedule its messages, the `shop` queue's worker (`process-shop-queue`) sends them by
 * WhatsApp through the shop's open instance (seen on the Evolution stand-in) or by email (seen in
 * the Resend stand-in's inbox) with the reason recorded, reminders that became pointless are not
 * sent, and alerts reach every admin by email and WhatsApp.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import { evolution, randomNumber, startShopTest } from "../_support/shop.ts";
import { messages } from "../../supabase/functions/_shared/shop/i18n.ts";

const HOUR = 3_600_000;

Deno.test("an order's confirmation goes by WhatsApp through the shop's instance, with its items and total", async () => {
  const t = await startShopTest();
  try {
    const customer = await t.customer({ name: "Marie <b>", language: "fr" });
    const bread = await t.product({ name: "Pain de campagne", priceCents: 365 });
    const tart = await t.product({ name: "Tarte aux pommes", priceCents: 1000 });
    const orderId = await t.order(customer, { items: [[bread, 2], [tart, 1]] });

    const row = await t.waitForMessage(orderId, "order_confirmation");
    assertEquals(
      [row.status, row.channel, row.fallback_reason, row.job_state],
      ["sent", "whatsapp", null, "succeeded"],
      JSON.stringify(row),
    );
    const sent = await t.sentTo(customer.whatsapp_number!);
    assertEquals(sent.length, 1, "one WhatsApp message to the customer");
    assertEquals(sent[0].instance, t.instance);
    assertEquals(row.provider_message_id, sent[0].id, "the stand-in's message id is recorded");
    const text = sent[0].text;
    assertMatch(text, /^Bonjour Marie <b>,/);
    assert(text.includes(`commande n° ${orderId}`), text);
    assert(text.includes("2 × Pain de campagne (7,30\u00a0€)"), text);
    assert(text.includes("Total : 17,30\u00a0€"), text);
    assertEquals(await t.emailsTo(customer.email!), [], "no email when WhatsApp went");
  } finally {
    await t.done();
  }
});

Deno.test("a customer whose number is not on WhatsApp gets the message by email, with the reason recorded", async () => {
  const t = await startShopTest();
  try {
    const customer = await t.customer({ name: "John", language: "en" });
    await evolution.setNotOnWhatsApp([customer.whatsapp_number!]);
    const product = await t.product({ name: "Croissant", priceCents: 120 });
    const orderId = await t.order(customer, { items: [[product, 3]] });

    const row = await t.waitForMessage(orderId, "order_confirmation");
    assertEquals([row.status, row.channel, row.job_state], ["sent", "email", "succeeded"]);
    assertEquals(row.fallback_reason, `number ${customer.whatsapp_number} is not on WhatsApp`);
    const emails = await t.emailsTo(customer.email!);
    assertEquals(emails.length, 1, "one email");
    const email = emails[0];
    assertEquals(row.provider_message_id, email.id);
    assertEquals(email.subject, `Order #${orderId} received`);
    assertEquals(email.from, "La Boutique <boutique@example.com>");
    assertEquals(email.idempotency_key, `shop-message:${row.id}`);
    assert(email.text?.includes("3 × Croissant (€3.60)"), email.text ?? "");
    assert(email.html?.includes('<html lang="en">'), "an English email");
    assertEquals(await t.sentTo(customer.whatsapp_number!), [], "nothing went by WhatsApp");
  } finally {
    await t.done();
  }
});

Deno.test("a customer without a number, or a shop without an open instance, gets email", async () => {
  const t = await startShopTest();
  try {
    const product = await t.product();
    const noNumber = await t.customer({ whatsapp: null });
    const first = await t.order(noNumber, { items: [[product, 1]] });
    const row = await t.waitForMessage(first, "order_confirmation");
    assertEquals([row.status, row.channel, row.fallback_reason], [
      "sent",
      "email",
      "no WhatsApp number",
    ]);
    const [email] = await t.emailsTo(noNumber.email!);
    assertEquals(
      email?.subject,
      messages("fr").customer.order_confirmation({
        order: first,
        total: "",
        orderedAt: "",
        readyAt: null,
      }).subject,
    );
  } finally {
    await t.done();
  }

  const offline = await startShopTest({ instance: false });
  try {
    const product = await offline.product();
    const customer = await offline.customer();
    const orderId = await offline.order(customer, { items: [[product, 1]] });
    const row = await offline.waitForMessage(orderId, "order_confirmation");
    assertEquals([row.status, row.channel, row.fallback_reason], [
      "sent",
      "email",
      "the shop has no open WhatsApp instance",
    ]);
    assertEquals((await offline.emailsTo(customer.email!)).length, 1);
  } finally {
    await offline.done();
  }
});

Deno.test("a customer with neither a WhatsApp account nor an email: the message is recorded failed, once", async () => {
  const t = await startShopTest();
  try {
    const customer = await t.customer({ email: null });
    await evolution.setNotOnWhatsApp([customer.whatsapp_number!]);
    const product = await t.product();
    const orderId = await t.order(customer, { items: [[product, 1]] });
    const row = await t.waitForMessage(orderId, "order_confirmation");
    assertEquals([row.status, row.channel, row.job_state], ["failed", null, "succeeded"]);
    assertMatch(row.error ?? "", /no email/);
    assertEquals(row.job_result?.outcome, "failed", "the job's result says what happened");
  } finally {
    await t.done();
  }
});

Deno.test("an order unpaid for a day gets its payment reminder; one paid before the reminder gets none", async () => {
  const t = await startShopTest();
  try {
    const product = await t.product();
    // Placed 25 hours ago and still unpaid: the reminder (after 24 hours) is due now.
    const late = await t.customer();
    const lateOrder = await t.order(late, {
      items: [[product, 1]],
      createdAt: new Date(Date.now() - 25 * HOUR),
    });
    const reminder = await t.waitForMessage(lateOrder, "payment_reminder");
    assertEquals([reminder.status, reminder.channel], ["sent", "whatsapp"]);
    await t.waitForMessage(lateOrder, "order_confirmation");
    const lateTexts = (await t.sentTo(late.whatsapp_number!)).map((m) => m.text);
    assertEquals(lateTexts.length, 2, "the confirmation and the reminder");
    assert(lateTexts.some((text) => text.includes("attend encore son règlement")), lateTexts[1]);

    // Placed 23 hours ago, paid now: its reminder (due in an hour) is cancelled with its job.
    const paying = await t.customer();
    const payingOrder = await t.order(paying, {
      items: [[product, 1]],
      createdAt: new Date(Date.now() - 23 * HOUR),
    });
    const scheduled = await t.message(payingOrder, "payment_reminder");
    assertEquals(scheduled?.status, "scheduled");
    await t.sql`update public.orders set payment_status = 'paid' where id = ${payingOrder}`;
    await t.waitForMessage(payingOrder, "order_confirmation");
    const cancelled = await t.message(payingOrder, "payment_reminder");
    assertEquals([cancelled?.status, cancelled?.cancel_reason, cancelled?.job_state], [
      "cancelled",
      "payment paid",
      "cancelled",
    ]);
    await t.drain();
    const texts = (await t.sentTo(paying.whatsapp_number!)).map((m) => m.text);
    assertEquals(texts.length, 1, "only the confirmation");
    assert(!texts[0].includes("règlement"), texts[0]);
  } finally {
    await t.done();
  }
});

Deno.test("a reminder whose job runs after the order was paid is skipped at send time", async () => {
  const t = await startShopTest();
  try {
    const product = await t.product();
    const customer = await t.customer();
    const orderId = await t.order(customer, {
      items: [[product, 1]],
      createdAt: new Date(Date.now() - 23 * HOUR),
    });
    // Paid behind the trigger's back (the belt): the job is still waiting, the message scheduled.
    await t.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update public.orders set payment_status = 'paid' where id = ${orderId}`;
    });
    const reminder = await t.message(orderId, "payment_reminder");
    assertEquals(reminder?.status, "scheduled");
    await t.sql`update jobs.jobs set run_at = now() where id = ${reminder!.job_id}`;
    const row = await t.waitForMessage(orderId, "payment_reminder");
    assertEquals([row.status, row.cancel_reason, row.job_state], [
      "skipped",
      "payment paid",
      "succeeded",
    ]);
    assertEquals(row.job_result?.outcome, "skipped");
    await waitFor(async () => (await t.message(orderId, "order_confirmation"))?.status === "sent", {
      what: `the confirmation of order ${orderId}`,
    });
    assertEquals(
      (await t.sentTo(customer.whatsapp_number!)).length,
      1,
      "the confirmation only",
    );
  } finally {
    await t.done();
  }
});

Deno.test("a low review alerts every admin by email and WhatsApp at once", async () => {
  const t = await startShopTest();
  try {
    const admins = [
      `admin-${crypto.randomUUID()}@example.test`,
      `boss-${crypto.randomUUID()}@example.test`,
    ];
    const numbers = [randomNumber(), randomNumber()];
    await t.admins(admins, numbers, "fr");
    const customer = await t.customer({ name: "Eve <script>" });
    const product = await t.product();
    const orderId = await t.order(customer, { items: [[product, 1]], paymentStatus: "paid" });
    const [review] = await t.sql<{ id: number }[]>`
      insert into public.reviews (order_id, customer_id, rating, comment, channel)
      values (${orderId}, ${customer.id}, 1, ${"Froid <b>et</b> en retard"}, 'whatsapp')
      returning id::int`;
    const [alert] = await t.sql<{ id: number }[]>`
      select id::int from public.shop_alerts
      where kind = 'low_review' and subject = ${`review:${review.id}`}`;
    assert(alert, `the review ${review.id} raised an alert`);

    const row = await t.waitForAlert(alert.id);
    assertEquals([row.status, row.job_state], ["sent", "succeeded"], JSON.stringify(row));
    assertEquals(
      row.deliveries.map((d) => `${d.channel}:${d.to}:${d.status}`).sort(),
      [
        ...admins.map((a) => `email:${a}:sent`),
        ...numbers.map((n) => `whatsapp:${n}:sent`),
      ].sort(),
    );
    for (const address of admins) {
      const emails = await t.emailsTo(address);
      assertEquals(emails.length, 1, `one email to ${address}`);
      assertEquals(emails[0].subject, `Avis négatif : 1/5 pour la commande n° ${orderId}`);
      assert(emails[0].html?.includes("Eve &lt;script&gt;"), "the name is escaped");
      assert(!emails[0].html?.includes("<script>"), "no script tag");
      assert(emails[0].text?.includes("« Froid <b>et</b> en retard »"), emails[0].text ?? "");
    }
    for (const number of numbers) {
      const sent = await t.sentTo(number);
      assertEquals(sent.length, 1, `one WhatsApp message to ${number}`);
      assertMatch(sent[0].text, /^\*Avis négatif : 1\/5/);
      assert(sent[0].text.includes("Eve <script> a donné la note de 1/5"), sent[0].text);
    }
  } finally {
    await t.done();
  }
});

Deno.test("an admin number not on WhatsApp makes the alert partial; the other deliveries go", async () => {
  const t = await startShopTest();
  try {
    const admin = `admin-${crypto.randomUUID()}@example.test`;
    const [good, bad] = [randomNumber(), randomNumber()];
    await evolution.setNotOnWhatsApp([bad]);
    await t.admins([admin], [good, bad], "en");
    const product = await t.product({ name: "Baguette", priceCents: 110, stock: 6, threshold: 5 });
    const customer = await t.customer();
    const orderId = await t.order(customer, { items: [[product, 2]] });
    const alertId = await waitFor(async () => {
      const [row] = await t.sql<{ id: number }[]>`
        select id::int from public.shop_alerts
        where kind = 'low_stock' and subject = ${`product:${product.id}:${orderId}`}`;
      return row?.id;
    }, { what: `the low stock alert of product ${product.id}` });

    const row = await t.waitForAlert(alertId);
    assertEquals([row.status, row.job_state], ["partial", "succeeded"]);
    const byTarget = new Map(row.deliveries.map((d) => [`${d.channel}:${d.to}`, d]));
    assertEquals(byTarget.get(`email:${admin}`)?.status, "sent");
    assertEquals(byTarget.get(`whatsapp:${good}`)?.status, "sent");
    assertEquals(byTarget.get(`whatsapp:${bad}`)?.status, "failed");
    assertMatch(byTarget.get(`whatsapp:${bad}`)?.error ?? "", /no WhatsApp account/);
    const [email] = await t.emailsTo(admin);
    assertEquals(email?.subject, "Low stock: Baguette");
    assert(
      email?.text?.includes("Only 4 unit(s) of “Baguette” left (alert threshold: 5)"),
      email?.text ?? "",
    );
    assertEquals((await t.sentTo(good)).length, 1);
    assertEquals((await t.sentTo(bad)).length, 0);
  } finally {
    await t.done();
  }
});

Deno.test("review requests go by WhatsApp with the mark to reply, or by email with five single-use links", async () => {
  const t = await startShopTest();
  try {
    const product = await t.product();
    const onWhatsApp = await t.customer({ language: "en" });
    const byEmail = await t.customer({ whatsapp: null });
    const orders: number[] = [];
    for (const customer of [onWhatsApp, byEmail]) {
      const [order] = await t.sql<{ id: number }[]>`
        insert into public.orders (customer_id, status, payment_status, picked_up_at, created_at)
        values (${customer.id}, 'picked_up', 'paid', now() - interval '8 days',
                now() - interval '9 days')
        returning id::int`;
      await t.sql`insert into public.order_items (order_id, product_id, quantity)
        values (${order.id}, ${product.id}, 1)`;
      orders.push(order.id);
    }
    const [run] = await t.sql<{ result: { sent: number } }[]>`
      select public.shop_request_reviews() as result`;
    assert(run.result.sent >= 2, JSON.stringify(run.result));

    const whatsapp = await t.waitForMessage(orders[0], "review_request");
    assertEquals([whatsapp.status, whatsapp.channel], ["sent", "whatsapp"]);
    const [text] = (await t.sentTo(onWhatsApp.whatsapp_number!)).map((m) => m.text);
    assert(text.includes("from 1 to 5, e.g. 4 or ⭐⭐⭐⭐"), text);
    assert(!text.includes("http"), "no link on WhatsApp");

    const email = await t.waitForMessage(orders[1], "review_request");
    assertEquals([email.status, email.channel, email.fallback_reason], [
      "sent",
      "email",
      "no WhatsApp number",
    ]);
    const [sent] = await t.emailsTo(byEmail.email!);
    const links = sent.text?.match(/^https?:\/\/\S+$/gm) ?? [];
    assertEquals(links.length, 5, sent.text ?? "");
    const urls = links.map((link) => new URL(link));
    assertEquals(urls.map((u) => u.pathname), Array(5).fill("/functions/v1/review-response"));
    assertEquals(urls.map((u) => u.searchParams.get("rating")), ["1", "2", "3", "4", "5"]);
    const token = urls[0].searchParams.get("token")!;
    assert(urls.every((u) => u.searchParams.get("token") === token), "one token for the 5 marks");
    const [request] = await t.sql<{ status: string; matches: boolean; pending: string | null }[]>`
      select status, link_token_hash = waitlist_internal.token_hash(${token}) as matches,
             link_pending_token as pending
      from public.review_requests where order_id = ${orders[1]}`;
    assertEquals([request.status, request.matches, request.pending], ["sent", true, null]);
  } finally {
    await t.done();
  }
});

Deno.test("a reminder due during quiet hours waits for their end without using up an attempt", async () => {
  const t = await startShopTest();
  try {
    const product = await t.product();
    const customer = await t.customer();
    const orderId = await t.order(customer, {
      items: [[product, 1]],
      // Due in an hour: the job waits; the test then makes it run now, in quiet hours.
      createdAt: new Date(Date.now() - 23 * HOUR),
    });
    await t.waitForMessage(orderId, "order_confirmation");
    // Quiet from an hour ago to an hour from now, shop-local; the reminder's job runs anyway.
    await t.sql.begin(async (tx) => {
      await tx`update public.shop_settings
        set quiet_start = (now() at time zone time_zone - interval '1 hour')::time,
            quiet_end = (now() at time zone time_zone + interval '1 hour')::time`;
      await tx`update jobs.jobs set run_at = now()
        where id = (select job_id from public.shop_messages
                    where order_id = ${orderId} and kind = 'payment_reminder')`;
    });
    const job = await waitFor(async () => {
      await t.drain();
      const [row] = await t.sql<
        { state: string; attempts: number; throttles: number; last_error: string; wait: number }[]
      >`
        select j.state, j.attempts, j.throttles, j.last_error,
               extract(epoch from j.run_at - now())::int as wait
        from jobs.jobs j join public.shop_messages m on m.job_id = j.id
        where m.order_id = ${orderId} and m.kind = 'payment_reminder'`;
      return row?.throttles > 0 ? row : undefined;
    }, { what: `the reminder of order ${orderId} throttled` });
    assertEquals([job.state, job.attempts], ["retrying", 0], JSON.stringify(job));
    assertMatch(job.last_error, /quiet hours/);
    assert(
      job.wait > 55 * 60 && job.wait <= 3600,
      `retried at the end of quiet hours (${job.wait} s)`,
    );
    assertEquals((await t.message(orderId, "payment_reminder"))?.status, "scheduled");
    assertEquals(
      (await t.sentTo(customer.whatsapp_number!)).length,
      1,
      "the confirmation only",
    );
    // Cancelled so that it does not go off in a later test.
    await t.sql`update public.orders set payment_status = 'paid' where id = ${orderId}`;
  } finally {
    await t.done();
  }
});
