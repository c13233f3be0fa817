/**
 * The shop's demo (scripts/demo/shop.ts) against the test platform, as the dev command runs it:
 * run twice, it seeds its customers, products, orders and carts once (no duplicates), opens the
 * shop's WhatsApp instance on the Evolution stand-in and sets the admins; it prints the
 * statements that run the automations now, and the review-request statement, pasted into psql,
 * asks the due demo orders for a review (the one without consent skipped), once.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import type { Platform } from "../../scripts/platform/start.ts";
import {
  ANALYTICS_STATEMENT,
  CLEAN_CARTS_STATEMENT,
  DEMO_CARTS,
  DEMO_CUSTOMERS,
  DEMO_ORDERS,
  DEMO_PRODUCTS,
  demoCustomers,
  REQUEST_REVIEWS_STATEMENT,
  REVIEWER,
  SHOP_ADMINS,
  shopDemo,
} from "../../scripts/demo/shop.ts";
import { waitFor } from "../_support/wait.ts";

Deno.test("the shop demo seeds its shop once, opens the shop's instance, and its statement asks the due orders for a review once", async () => {
  const sql = testSql();
  const platform = {
    standIns: {
      evolution: { url: Deno.env.get("EVOLUTION_API_BASE_URL")! },
      resend: { url: Deno.env.get("RESEND_BASE_URL")! },
    },
  } as unknown as Platform;
  const [saved] = await sql`
    select admin_emails, admin_whatsapp_numbers, whatsapp_instance, quiet_start::text,
           quiet_end::text from shop_internal.settings()`;
  const paused = await sql`
    update cron.job set active = false where jobname = 'request-reviews' and active
    returning jobid`;
  try {
    await sql`update public.shop_settings set quiet_start = '00:00', quiet_end = '00:00'`;
    const first = await shopDemo.run({ sql, platform });
    const second = await shopDemo.run({ sql, platform });
    const check = new RegExp(
      `^Shop check: ${DEMO_CUSTOMERS.length} customers, ${DEMO_PRODUCTS.length} products, ` +
        `${DEMO_ORDERS.length} orders \\(5 picked up 7\\+ days ago without a request\\), ` +
        `${DEMO_CARTS.length} carts \\(3 expired\\); the shop's WhatsApp instance \\S+ is open\\.$`,
    );
    assertMatch(first.check ?? "", check);
    assertMatch(second.check ?? "", check);

    const ids = (await demoCustomers(sql)).map((c) => c.id);
    const [counts] = await sql`
      select (select count(*)::int from public.customers where id = any(${ids}::uuid[])) as customers,
             (select count(distinct language)::int from public.customers
              where id = any(${ids}::uuid[])) as languages,
             (select count(*)::int from public.products
              where name = any(${DEMO_PRODUCTS.map((p) => p.name)})) as products,
             (select count(*)::int from public.orders where customer_id = any(${ids}::uuid[])) as orders,
             (select count(distinct status)::int from public.orders
              where customer_id = any(${ids}::uuid[])) as statuses,
             (select count(*)::int from public.order_items i join public.orders o on o.id = i.order_id
              where o.customer_id = any(${ids}::uuid[])) as items`;
    assertEquals(counts, {
      customers: 7,
      languages: 2,
      products: 6,
      orders: 11,
      statuses: 6,
      items: DEMO_ORDERS.reduce((n, o) => n + o.items.length, 0),
    });
    const [settings] = await sql`
      select s.admin_emails, s.admin_whatsapp_numbers, i.instance_status
      from shop_internal.settings() s
      join public.evolution_instances i on i.instance_name = s.whatsapp_instance`;
    assertEquals(settings.admin_emails, SHOP_ADMINS.emails);
    assertEquals(settings.admin_whatsapp_numbers, SHOP_ADMINS.whatsappNumbers);
    assertEquals(settings.instance_status, "open");

    for (
      const statement of [REQUEST_REVIEWS_STATEMENT, CLEAN_CARTS_STATEMENT, ANALYTICS_STATEMENT]
    ) {
      assert(second.tryIt.includes(`\n       ${statement}\n`), `prints ${statement}`);
    }
    assert(second.tryIt.includes(`type "2" as customer ${REVIEWER.whatsapp_number}`));
    assert(second.tryIt.includes(`${platform.standIns.evolution.url}/`), "the stand-in's page");

    // As a person tries it: the printed statement in psql asks the four due orders (the fifth
    // customer did not consent); a second time asks nothing more.
    await sql.unsafe(REQUEST_REVIEWS_STATEMENT);
    const requests = await waitFor(async () => {
      const rows = await sql`
        select r.status, r.channel, c.name from public.review_requests r
        join public.customers c on c.id = r.customer_id where r.customer_id = any(${ids}::uuid[])`;
      return rows.length === 5 && rows.every((r) => r.status !== "queued") ? rows : undefined;
    }, { what: "the demo's review requests sent", timeoutMs: 30_000 });
    const byName = Object.fromEntries(requests.map((r) => [r.name, `${r.status}/${r.channel}`]));
    assertEquals(byName, {
      "Camille Dubois": "sent/whatsapp",
      "Emma Wilson": "sent/whatsapp",
      "Léa Moreau": "sent/email",
      "Jules Petit": "sent/email",
      "Inès Garnier": "skipped/null",
    });
    await sql.unsafe(REQUEST_REVIEWS_STATEMENT);
    const [{ runs }] = await waitFor(async () => {
      const rows = await sql`
        select count(*)::int as runs from public.shop_automation_runs
        where automation = 'request-reviews' and trigger = 'manual'
          and started_at > now() - interval '1 minute' and (result->>'total')::int = 0`;
      return rows[0].runs > 0 ? rows : undefined;
    }, { what: "the second run, which asks nothing", timeoutMs: 15_000 });
    assert(runs >= 1);
  } finally {
    const ids = (await demoCustomers(sql)).map((c) => c.id);
    await sql`
      select public.job_cancel(j.id, 'test over')
      from public.shop_messages m join jobs.jobs j on j.id = m.job_id
      where m.customer_id = any(${ids}::uuid[]) and j.state in ('waiting', 'retrying')`;
    await sql`delete from public.orders where customer_id = any(${ids}::uuid[])`;
    await sql`delete from public.carts c where customer_id = any(${ids}::uuid[])
              or exists (select from public.cart_items i join public.products p on p.id = i.product_id
                         where i.cart_id = c.id and p.name = any(${
      DEMO_PRODUCTS.map((p) => p.name)
    }))`;
    await sql`delete from public.customers where id = any(${ids}::uuid[])`;
    await sql`delete from public.products where name = any(${DEMO_PRODUCTS.map((p) => p.name)})`;
    await sql`
      update public.shop_settings set admin_emails = ${saved.admin_emails}::text[],
        admin_whatsapp_numbers = ${saved.admin_whatsapp_numbers}::text[],
        whatsapp_instance = ${saved.whatsapp_instance}, quiet_start = ${saved.quiet_start}::time,
        quiet_end = ${saved.quiet_end}::time`;
    if (paused.length) {
      await sql`update cron.job set active = true where jobname = 'request-reviews'`;
    }
    await sql.end();
  }
});
