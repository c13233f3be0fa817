/**
 * The shop's automations that follow an order's life and the platform's health, end to end on
 * the test platform: "ready for pickup" at once, the pickup reminder cancelled by the pickup and
 * the satisfaction message after it, a cancellation that cancels what was scheduled, the
 * dead-jobs digest that reaches the admins, and the daily analytics computed through the API
 * and by their cron job's command.
 *
 * Time is moved by moving a scheduled message's job to now, as the clock would; nothing sleeps.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import { SERVICE_AUTH, startShopTest } from "../_support/shop.ts";

const HOUR = 3_600_000;

/** How far `at` is from `expected`, in milliseconds. */
function gap(at: Date, expected: number): number {
  return Math.abs(at.getTime() - expected);
}

Deno.test("a ready order is announced at once; picked up, its pickup reminder is cancelled and the satisfaction message follows a day later", async () => {
  const t = await startShopTest();
  try {
    const customer = await t.customer({ language: "en" });
    const orderId = await t.order(customer, { status: "ready_pickup", paymentStatus: "paid" });

    const ready = await t.waitForMessage(orderId, "ready_pickup", "sent");
    assertEquals(ready.channel, "whatsapp");
    const [order] = await t.sql<{ ready_at: Date }[]>`
      select ready_at from public.orders where id = ${orderId}`;
    const reminder = (await t.message(orderId, "pickup_reminder"))!;
    assertEquals([reminder.status, reminder.job_state], ["scheduled", "waiting"]);
    assert(
      gap(reminder.scheduled_for, order.ready_at.getTime() + 48 * HOUR) < 1000,
      `the pickup reminder is due 48 hours after ${order.ready_at.toISOString()}: ` +
        reminder.scheduled_for.toISOString(),
    );

    await t.sql`update public.orders set status = 'picked_up' where id = ${orderId}`;
    const cancelled = (await t.message(orderId, "pickup_reminder"))!;
    assertEquals(
      [cancelled.status, cancelled.job_state],
      ["cancelled", "cancelled"],
      JSON.stringify(cancelled),
    );
    assertMatch(cancelled.cancel_reason ?? "", /picked_up/);
    const [picked] = await t.sql<{ picked_up_at: Date }[]>`
      select picked_up_at from public.orders where id = ${orderId}`;
    const satisfaction = (await t.message(orderId, "satisfaction"))!;
    assertEquals(satisfaction.status, "scheduled");
    assert(
      gap(satisfaction.scheduled_for, picked.picked_up_at.getTime() + 24 * HOUR) < 1000,
      `satisfaction is due 24 hours after the pickup: ${satisfaction.scheduled_for.toISOString()}`,
    );

    // A day later, as far as the job knows.
    await t.sql`update jobs.jobs set run_at = now() where id = ${satisfaction.job_id}`;
    const sent = await t.waitForMessage(orderId, "satisfaction", "sent");
    assertEquals(sent.channel, "whatsapp");
    const texts = (await t.sentTo(customer.whatsapp_number!)).map((m) => m.text);
    assertEquals(texts.length, 3, `the confirmation, ready for pickup, satisfaction: ${texts}`);
  } finally {
    await t.done();
  }
});

Deno.test("a cancelled order cancels every message still scheduled, and its jobs", async () => {
  const t = await startShopTest();
  try {
    const customer = await t.customer();
    const orderId = await t.order(customer);
    await t.waitForMessage(orderId, "order_confirmation", "sent");
    assertEquals((await t.message(orderId, "payment_reminder"))?.status, "scheduled");

    await t.sql`update public.orders set status = 'cancelled' where id = ${orderId}`;
    const reminder = (await t.message(orderId, "payment_reminder"))!;
    assertEquals([reminder.status, reminder.job_state], ["cancelled", "cancelled"]);
    assertEquals(
      (await t.messages(orderId)).filter((m) => m.status === "scheduled").length,
      0,
      "nothing left to send",
    );
  } finally {
    await t.done();
  }
});

Deno.test("a job that goes dead in any queue reaches the admins in the dead-jobs digest", async () => {
  const t = await startShopTest();
  const [saved] = await t.sql<{ interval: string }[]>`
    select alert_digest_interval::text as interval from public.shop_settings`;
  try {
    const admin = `ops-${t.tag}@la-boutique.test`;
    await t.admins([admin], [], "en");
    // Digests at once for this test. A digest other tests' dead jobs opened, waiting for its
    // hour, is closed as if it had gone (its job cancelled): the next dead job opens a new one.
    await t.sql`update public.shop_settings set alert_digest_interval = '0'`;
    await t.sql`
      with closed as (
        update public.shop_alerts
        set status = 'sent', sent_at = now(), details = details || jsonb_build_object('until', now())
        where kind = 'dead_jobs' and status = 'pending' returning job_id)
      select public.job_cancel(j.id, 'closed by a test')
      from jobs.jobs j join closed c on c.job_id = j.id
      where j.state in ('waiting', 'retrying', 'running')`;

    // A payload no handler knows: the worker fails it for good.
    const [job] = await t.sql<{ id: number }[]>`
      select id::int from jobs.enqueue('shop', '{"kind": "restock"}', ${`test:${t.tag}`})`;
    const dead = await waitFor(async () => {
      await t.drain();
      const [row] = await t.sql`select state, last_error from jobs.jobs where id = ${job.id}`;
      return row.state === "dead" ? row : undefined;
    }, { what: `job ${job.id} dead` });
    assertMatch(dead.last_error, /invalid payload/);

    const alert = await waitFor(async () => {
      await t.drain();
      const [row] = await t.sql<{ id: number; status: string; details: Record<string, unknown> }[]>`
        select id::int, status, details from public.shop_alerts
        where kind = 'dead_jobs' and status <> 'pending'
          and details -> 'jobs' @> ${t.sql.json([{ id: job.id }])}`;
      return row;
    }, { what: `the digest naming job ${job.id}` });
    assertEquals(alert.status, "sent", JSON.stringify(alert));
    const emails = await waitFor(async () => {
      const got = await t.emailsTo(admin);
      return got.length ? got : undefined;
    }, { what: `the digest's email to ${admin}` });
    assertEquals(emails.length, 1, "one digest email");
    assert(emails[0].text?.includes(String(job.id)), emails[0].text ?? "");
    assert(emails[0].text?.includes(`test:${t.tag}`), "the job's subject is named");
  } finally {
    await t
      .sql`update public.shop_settings set alert_digest_interval = ${saved.interval}::interval`;
    await t.done();
  }
});

Deno.test("daily analytics count a shop-local day: messages, orders, revenue, rating, new and returning customers", async () => {
  const t = await startShopTest();
  const inbound: number[] = [];
  try {
    await t.settings({ time_zone: "Europe/Paris" });
    // A day long past, which no other test writes to.
    const [{ day }] = await t.sql<{ day: string }[]>`
      select ((now() at time zone 'Europe/Paris')::date - 40)::text as day`;
    const at = (offsetDays: number, time: string) =>
      t.sql`select ((${day}::date + ${offsetDays}::int) + ${time}::time) at time zone 'Europe/Paris'`;
    const [[{ timezone: noon }], [{ timezone: justAfterMidnight }], [{ timezone: eveBefore }]] =
      await Promise.all([at(0, "12:00"), at(0, "00:30"), at(-1, "23:30")]);
    const returning = await t.customer();
    const fresh = await t.customer();
    const other = await t.customer();
    const product = await t.product({ priceCents: 1000 });
    const [firstOrder, dayOrder, freshOrder, cancelledOrder, eveOrder] = await t.pastOrders([
      { customer: returning, status: "picked_up", pickedUpAgo: "60 days", createdAgo: "61 days" },
      { customer: returning, status: "paid", items: [[product, 2]] },
      { customer: fresh, status: "paid", items: [[product, 1]] },
      { customer: fresh, status: "cancelled", paymentStatus: "paid", items: [[product, 5]] },
      { customer: other, status: "paid", items: [[product, 7]] },
    ]);
    assert(firstOrder > 0);
    // The day's orders: two at noon and one just after local midnight (22:30 or 23:30 UTC the
    // day before), paid when made; one the evening before, which belongs to the day before.
    await t.sql`
      update public.orders set created_at = ${noon}, paid_at = ${noon}
      where id in (${dayOrder}, ${cancelledOrder})`;
    await t.sql`
      update public.orders set created_at = ${justAfterMidnight}, paid_at = ${justAfterMidnight}
      where id = ${freshOrder}`;
    await t.sql`
      update public.orders set created_at = ${eveBefore}, paid_at = ${eveBefore}
      where id = ${eveOrder}`;
    await t.sql`
      insert into public.reviews (order_id, customer_id, rating, channel, created_at)
      values (${dayOrder}, ${returning.id}, 5, 'whatsapp', ${noon}),
             (${freshOrder}, ${fresh.id}, 4, 'email', ${noon})`;
    const rows = await t.sql<{ id: number }[]>`
      insert into public.whatsapp_inbound_messages
        (instance_name, message_id, from_number, text, received_at)
      select ${t.instance}, 'analytics-' || ${t.tag} || '-' || n, ${returning.whatsapp_number},
             'Bonjour', ${noon}
      from generate_series(1, 3) n
      returning id::int`;
    inbound.push(...rows.map((r) => r.id));

    const res = await fetch(`${Deno.env.get("SUPABASE_URL")}/rest/v1/rpc/shop_compute_analytics`, {
      method: "POST",
      headers: {
        authorization: SERVICE_AUTH,
        apikey: Deno.env.get("SUPABASE_SERVICE_ROLE_KEY")!,
        "content-type": "application/json",
      },
      body: JSON.stringify({ p_from: day, p_to: day }),
    });
    const answer = await res.json();
    assertEquals([res.status, answer.success, answer.days], [200, true, 1], JSON.stringify(answer));

    const [stats] = await t.sql`
      select messages_received, orders_created, revenue_cents::int, reviews,
             average_rating::text, new_customers, returning_customers
      from public.shop_daily_analytics where day = ${day}::date`;
    assertEquals(stats, {
      messages_received: 3,
      orders_created: 3,
      // 2 × 10.00 and 1 × 10.00; the cancelled order does not count.
      revenue_cents: 3000,
      reviews: 2,
      average_rating: "4.50",
      new_customers: 1,
      returning_customers: 1,
    });

    // The cron job's command computes yesterday and today, and logs a scheduled run.
    const [cron] = await t.sql`
      select schedule, command from cron.job where jobname = 'shop-daily-analytics'`;
    assertEquals(cron.schedule, "10 * * * *");
    await t.sql.unsafe(cron.command);
    const [today] = await t.sql`
      select computed_at > now() - interval '1 minute' as fresh from public.shop_daily_analytics
      where day = (now() at time zone 'Europe/Paris')::date`;
    assert(today?.fresh, "today's row was just computed");
  } finally {
    await t.sql`delete from public.whatsapp_inbound_messages where id = any(${inbound}::bigint[])`;
    await t.done();
  }
});
