/**
 * The shop's customer messages and admin alerts end to end on the test platform: an order's
 * triggers schedule its messages, the `shop` queue's worker (`process-shop-queue`) sends them by
 * WhatsApp through the shop's open instance (seen on the Evolution stand-in) or by email (seen in
 * the Resend stand-in's inbox) with the reason recorded, reminders that became pointless are not
 * sent, and alerts reach every admin by email and WhatsApp.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import { drainShop, evolution, startShopSenderTest } from "../_support/shop_sender.ts";
import { messages } from "../../supabase/functions/_shared/shop/i18n.ts";

const HOUR = 3_600_000;

Deno.test("an order's confirmation goes by WhatsApp through the shop's instance, with its items and total", async () => {
  const t = await startShopSenderTest();
  try {
    const customer = await t.customer({ name: "Marie <b>", language: "fr" });
    const bread = await t.product({ name: "Pain de campagne", price_cents: 365 });
    const tart = await t.product({ name: "Tarte aux pommes", price_cents: 1000 });
    const orderId = await t.order(customer, [
      { product: bread, quantity: 2 },
      { product: tart, quantity: 1 },
    ]);

    const row = await t.waitForMessage(orderId, "order_confirmation");
    assertEquals(
      [row.status, row.channel, row.fallback_reason, row.job_state],
      ["sent", "whatsapp", null, "succeeded"],
      JSON.stringify(row),
    );
    const sent = await t.whatsappTo(customer.whatsapp_number!);
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
  const t = await startShopSenderTest();
  try {
    const customer = await t.customer({ name: "John", language: "en" });
    await evolution.setNotOnWhatsApp([customer.whatsapp_number!]);
    const product = await t.product({ name: "Croissant", price_cents: 120 });
    const orderId = await t.order(customer, [{ product, quantity: 3 }]);

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
    assertEquals(await t.whatsappTo(customer.whatsapp_number!), [], "nothing went by WhatsApp");
  } finally {
    await t.done();
  }
});

Deno.test("a customer without a number, or a shop without an open instance, gets email", async () => {
  const t = await startShopSenderTest();
  try {
    const product = await t.product();
    const noNumber = await t.customer({ whatsapp: false });
    const first = await t.order(noNumber, [{ product, quantity: 1 }]);
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

  const offline = await startShopSenderTest({ instance: false });
  try {
    const product = await offline.product();
    const customer = await offline.customer();
    const orderId = await offline.order(customer, [{ product, quantity: 1 }]);
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
  const t = await startShopSenderTest();
  try {
    const customer = await t.customer({ email: false });
    await evolution.setNotOnWhatsApp([customer.whatsapp_number!]);
    const product = await t.product();
    const orderId = await t.order(customer, [{ product, quantity: 1 }]);
    const row = await t.waitForMessage(orderId, "order_confirmation");
    assertEquals([row.status, row.channel, row.job_state], ["failed", null, "succeeded"]);
    assertMatch(row.error ?? "", /no email/);
    assertEquals(row.job_result?.outcome, "failed", "the job's result says what happened");
  } finally {
    await t.done();
  }
});

Deno.test("an order unpaid for a day gets its payment reminder; one paid before the reminder gets none", async () => {
  const t = await startShopSenderTest();
  try {
    const product = await t.product();
    // Placed 25 hours ago and still unpaid: the reminder (after 24 hours) is due now.
    const late = await t.customer();
    const lateOrder = await t.order(late, [{ product, quantity: 1 }], {
      created_at: new Date(Date.now() - 25 * HOUR),
    });
    const reminder = await t.waitForMessage(lateOrder, "payment_reminder");
    assertEquals([reminder.status, reminder.channel], ["sent", "whatsapp"]);
    await t.waitForMessage(lateOrder, "order_confirmation");
    const lateTexts = (await t.whatsappTo(late.whatsapp_number!)).map((m) => m.text);
    assertEquals(lateTexts.length, 2, "the confirmation and the reminder");
    assert(lateTexts.some((text) => text.includes("attend encore son règlement")), lateTexts[1]);

    // Placed 23 hours ago, paid now: its reminder (due in an hour) is cancelled with its job.
    const paying = await t.customer();
    const payingOrder = await t.order(paying, [{ product, quantity: 1 }], {
      created_at: new Date(Date.now() - 23 * HOUR),
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
    await drainShop(t.sql);
    const texts = (await t.whatsappTo(paying.whatsapp_number!)).map((m) => m.text);
    assertEquals(texts.length, 1, "only the confirmation");
    assert(!texts[0].includes("règlement"), texts[0]);
  } finally {
    await t.done();
  }
});

Deno.test("a reminder whose job runs after the order was paid is skipped at send time", async () => {
  const t = await startShopSenderTest();
  try {
    const product = await t.product();
    const customer = await t.customer();
    const orderId = await t.order(customer, [{ product, quantity: 1 }], {
      created_at: new Date(Date.now() - 23 * HOUR),
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
      (await t.whatsappTo(customer.whatsapp_number!)).length,
      1,
      "the confirmation only",
    );
  } finally {
    await t.done();
  }
});
