/**
 * The workshop's demo (scripts/demo/workshop.ts) against the test platform, as the dev command
 * runs it: it seeds what the seed's production held (10 users, 9 machines, 12 tickets) and an
 * endpoint at the receiver stand-in, twice without duplicating anything; the statement it prints,
 * pasted into psql with the check-now statement, brings one verified `ticket.overdue` delivery
 * to the receiver, and a second check brings none.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { testSql } from "../_support/db.ts";
import { waitFor } from "../_support/wait.ts";
import { asAdmin, checkOverdue, CRON_AUTH, receiver } from "../_support/workshop.ts";
import type { Platform } from "../../scripts/platform/start.ts";
import {
  CHECK_NOW_STATEMENT,
  DEMO_HOOK,
  DEMO_MACHINES,
  DEMO_TICKETS,
  DEMO_USERS,
  workshopDemo,
} from "../../scripts/demo/workshop.ts";

Deno.test("the workshop demo seeds 10 users, 9 machines and 12 tickets once, and its statements bring one verified delivery", async () => {
  const sql = testSql();
  const url = receiver.hookUrl(DEMO_HOOK);
  const platform = {
    standIns: { webhook_receiver: { url: Deno.env.get("WEBHOOK_RECEIVER_URL")! } },
  } as unknown as Platform;
  const paused = await sql`
    update cron.job set active = false where jobname = 'check-overdue' and active returning jobid`;
  try {
    const first = await workshopDemo.run({ sql, platform });
    const second = await workshopDemo.run({ sql, platform });
    const uuid = "[0-9a-f]{8}-[0-9a-f-]{27}";
    assertMatch(
      first.check ?? "",
      new RegExp(
        `^Workshop check: 10 users, 9 machines, 12 tickets; webhook endpoint ${uuid} ` +
          `created for ${url.replaceAll(".", "\\.")}, its secret given to the receiver\\.$`,
      ),
    );
    assertMatch(second.check ?? "", new RegExp(`webhook endpoint ${uuid} found for `));
    const [counts] = await sql`
      select (select count(*)::int from public.workshop_users
              where email = any(${DEMO_USERS.map((u) => u.email)})) as users,
             (select count(distinct role)::int from public.workshop_users
              where email = any(${DEMO_USERS.map((u) => u.email)})) as roles,
             (select count(*)::int from public.machines
              where serial_number = any(${DEMO_MACHINES.map((m) => m.serial_number)})) as machines,
             (select count(*)::int from public.tickets
              where title = any(${DEMO_TICKETS.map((t) => t.title)})) as tickets,
             (select count(distinct status)::int from public.tickets
              where title = any(${DEMO_TICKETS.map((t) => t.title)})) as statuses,
             (select count(*)::int from public.webhook_endpoints where url = ${url}) as endpoints,
             (select count(*)::int from public.overdue_tickets
              where title = any(${DEMO_TICKETS.map((t) => t.title)})) as overdue`;
    assertEquals(counts, {
      users: 10,
      roles: 4,
      machines: 9,
      tickets: 12,
      statuses: 6,
      endpoints: 1,
      overdue: 0,
    });
    assertEquals(await receiver.secrets(DEMO_HOOK).then((s) => s.length), 1);

    // As a person tries it: the printed statement, then the check-now statement, in psql.
    const statement =
      /update tickets set scheduled_date = now\(\) - interval '1 hour' where id = (\d+);/
        .exec(second.tryIt);
    assert(statement, `the overdue statement is printed:\n${second.tryIt}`);
    assert(second.tryIt.includes(`\n       ${CHECK_NOW_STATEMENT}\n`), "the check-now statement");
    assert(second.tryIt.includes(`${platform.standIns.webhook_receiver.url}/`), "the page");
    await sql.unsafe(statement[0]);
    await sql.unsafe(CHECK_NOW_STATEMENT);
    const [delivery] = await waitFor(async () => {
      const list = await receiver.list({ endpoint: DEMO_HOOK });
      return list.length ? list : undefined;
    }, { what: `a delivery to /hooks/${DEMO_HOOK}`, timeoutMs: 15_000 });
    assertEquals(delivery.verified, true, delivery.failure_message ?? "");
    assertEquals(delivery.event_type, "ticket.overdue");
    // deno-lint-ignore no-explicit-any
    assertEquals((delivery.json as any).data.ticket.id, Number(statement[1]));

    // A second check: nothing more (one notification per ticket per 24 hours).
    const again = await checkOverdue(CRON_AUTH);
    assertEquals(again.status, 200, again.text);
    const [messages] = await sql`
      select count(*)::int as n from public.webhook_messages m
      join public.webhook_endpoints e on e.id = m.endpoint_id where e.url = ${url}`;
    assertEquals(messages.n, 1);
  } finally {
    const [endpoint] = await sql`select id from public.webhook_endpoints where url = ${url}`;
    if (endpoint) {
      await asAdmin(sql, (tx) => tx`select public.webhook_endpoint_delete(${endpoint.id}::uuid)`);
    }
    await receiver.setSecrets(DEMO_HOOK, []);
    await sql`delete from public.tickets where title = any(${DEMO_TICKETS.map((t) => t.title)})`;
    await sql`delete from public.machines
              where serial_number = any(${DEMO_MACHINES.map((m) => m.serial_number)})`;
    await sql`delete from public.workshop_users where email = any(${
      DEMO_USERS.map((u) => u.email)
    })`;
    if (paused.length) await sql`update cron.job set active = true where jobname = 'check-overdue'`;
    await sql.end();
  }
});
