/**
 * The overdue-ticket flow on the real local platform: a ticket made overdue → `check-overdue`
 * called with the cron secret → one notification, one `ticket.overdue` message per subscribed
 * endpoint, delivered through the job core by `deliver-webhooks` to the webhook receiver stand-in,
 * which verifies its Standard Webhooks signature; a second check within 24 hours notifies
 * nothing. Also: who may call the function, and the pg_cron job that calls it.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import {
  ANON_AUTH,
  checkOverdue,
  CRON_AUTH,
  SERVICE_AUTH,
  startWorkshopTest,
} from "../_support/workshop.ts";

/** A description longer than the 4000 characters an event carries. */
const LONG_DESCRIPTION = "Le four chauffe mal en zone 3, contrôler les résistances. ".repeat(200);

Deno.test("an overdue ticket is announced once: one signed ticket.overdue delivery under 20 KB, none on the second check", async () => {
  const t = await startWorkshopTest();
  try {
    const ticket = await t.ticket({ description: LONG_DESCRIPTION });
    const early = await t.ticket({ scheduledIn: "1 day" });
    const unassigned = await t.ticket({ assigned: false });
    const started = await t.ticket({ status: "in_progress" });
    await t.makeOverdue(ticket.id, "1 hour");
    await t.makeOverdue(unassigned.id, "1 hour");
    await t.makeOverdue(started.id, "1 hour");

    const first = await checkOverdue(CRON_AUTH);
    assertEquals(first.status, 200, first.text);
    assert(first.body.overdue >= 1 && first.body.notified >= 1, first.text);
    assert(first.body.messages >= 1 && first.body.subscribers >= 1, first.text);
    assertMatch(first.body.checked_at, /^\d{4}-\d\d-\d\dT/);

    const notifications = await t.sql`
      select ticket_id::int, event_id, endpoint_count, next_allowed_at - notified_at = interval '24 hours' as day
      from public.webhook_notifications
      where ticket_id = any(${[ticket.id, early.id, unassigned.id, started.id]}::bigint[])`;
    assertEquals(notifications.map((n) => n.ticket_id), [ticket.id], "only the overdue ticket");
    const [notification] = notifications;
    assert(notification.endpoint_count >= 1);
    assertEquals(notification.day, true, "the next one is allowed 24 hours later");

    const [delivery] = await t.waitForDeliveries(1, { timeoutMs: 15_000 });
    assertEquals(delivery.verified, true, delivery.failure_message ?? "");
    assertEquals(delivery.duplicate, false);
    assertEquals(delivery.event_type, "ticket.overdue");
    assertMatch(delivery.webhook_id ?? "", /^msg_[0-9a-f]{32}$/);
    assertMatch(delivery.webhook_signature ?? "", /^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$/);
    assert(new TextEncoder().encode(delivery.body).length < 20_480, "the body is under 20 KB");

    // deno-lint-ignore no-explicit-any
    const body = delivery.json as any;
    assertEquals(Object.keys(body).sort(), ["data", "timestamp", "type"]);
    assertEquals(body.type, "ticket.overdue");
    assertMatch(body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assertEquals(body.data.ticket.id, ticket.id);
    assertEquals(body.data.ticket.title, ticket.title);
    assertEquals(body.data.ticket.status, "received");
    assertEquals(body.data.ticket.priority, "high");
    assert(body.data.ticket.description.length <= 4000, "the description is cut to 4000");
    assert(LONG_DESCRIPTION.startsWith(body.data.ticket.description.slice(0, 100)));
    assertEquals(body.data.machine, {
      id: t.machine.id,
      name: t.machine.name,
      machine_type: t.machine.machine_type,
      location: t.machine.location,
    });
    assertEquals(body.data.assignee, { ...t.technician, role: "technician" });
    const late = body.data.overdue_by_seconds;
    assert(late >= 3600 && late < 3600 + 120, `overdue_by_seconds ${late} is about an hour`);

    // The database tells the same story: one message to the endpoint, delivered, its id the
    // webhook-id the receiver saw.
    const messages = await t.sql`
      select id, status, attempts, event_type from public.webhook_messages
      where endpoint_id = ${t.endpoint.id}`;
    assertEquals(messages.length, 1);
    assertEquals(messages[0].id, delivery.webhook_id);
    assertEquals(messages[0].event_type, "ticket.overdue");
    const [message] = await t.sql`
      select status, attempts from public.webhook_messages where id = ${delivery.webhook_id}
        and event_id = ${notification.event_id}`;
    assert(message, "the message belongs to the notification's event");

    // A second check within 24 hours: nothing more for this ticket or this endpoint.
    const second = await checkOverdue(CRON_AUTH);
    assertEquals(second.status, 200, second.text);
    assertEquals(second.body.notified, 0, second.text);
    const [after] = await t.sql`
      select (select count(*)::int from public.webhook_notifications
              where ticket_id = ${ticket.id}) as notifications,
             (select count(*)::int from public.webhook_messages
              where endpoint_id = ${t.endpoint.id}) as messages`;
    assertEquals(after, { notifications: 1, messages: 1 });
    assertEquals((await t.deliveries()).length, 1, "the receiver got nothing more");
  } finally {
    await t.done();
  }
});

Deno.test("check-overdue refuses anon, a wrong secret and no credentials (401), takes the service key, and only POST or GET", async () => {
  for (const authorization of [ANON_AUTH, "Bearer not-the-cron-secret-0123456789", null]) {
    const refused = await checkOverdue(authorization);
    assertEquals(refused.status, 401, `${authorization ?? "no header"}: ${refused.text}`);
  }
  const byHand = await checkOverdue(SERVICE_AUTH, "GET");
  assertEquals(byHand.status, 200, byHand.text);
  assertEquals(typeof byHand.body.notified, "number", byHand.text);
  const put = await checkOverdue(CRON_AUTH, "PUT");
  assertEquals(put.status, 405, put.text);
});

Deno.test("the pg_cron job check-overdue runs every 5 minutes and its command runs the check through the function", async () => {
  const t = await startWorkshopTest();
  try {
    const [job] = await t.sql`
      select schedule, command from cron.job where jobname = 'check-overdue'`;
    assert(job, "the cron job check-overdue exists");
    assertEquals(job.schedule, "*/5 * * * *");
    // It calls the function (jobs.call_function), directly or when something is due.
    assertMatch(job.command, /call_function\('check-overdue'|workshop_internal\.request_check\(/);

    const ticket = await t.ticket();
    await t.makeOverdue(ticket.id, "10 minutes");
    await t.sql.unsafe(job.command);
    const [delivery] = await t.waitForDeliveries(1, { timeoutMs: 15_000 });
    assertEquals(delivery.verified, true, delivery.failure_message ?? "");
    // deno-lint-ignore no-explicit-any
    assertEquals((delivery.json as any).data.ticket.id, ticket.id);
  } finally {
    await t.done();
  }
});
