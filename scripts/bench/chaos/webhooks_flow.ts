/**
 * The chaos check's `webhooks` scenario: `tickets` assigned tickets of a workshop made overdue
 * at once, and the overdue check run twice at the same moment on two connections (as two cron
 * runs would overlap): one notification per ticket, one `ticket.overdue` message per
 * notification and endpoint (`endpoints` endpoints at the webhook receiver stand-in), delivered
 * through the `webhooks` queue by `deliver-webhooks` while the check kills that function and
 * restarts Postgres, with the receiver answering a `faults` share of its requests 503 with
 * `retry-after: 1` and holding a `slow` share for `slowMs` before it records and answers them
 * (so that the kills find deliveries in flight, whose retries reach the receiver again with the
 * same `webhook-id`).
 *
 * Items are the (ticket, endpoint) pairs. One is delivered when the receiver accepted a delivery
 * of the ticket's event whose signature verified; lost when it never did. Twice: a pair for which
 * the receiver saw two different `webhook-id`s (it deduplicates by `webhook-id`, so a retry of
 * one message is harmless, while a second message for one notification would reach the
 * automation service twice), plus tickets notified more than once.
 */
import { webhookReceiverControl } from "../../platform/stand_ins/webhook_receiver/control.ts";
import { createEndpoint } from "../../demo/workshop.ts";
import type { ChaosContext, ChaosFlow, Tally } from "./flow.ts";

/** Options of {@link webhooksFlow}. */
export interface WebhooksFlowOptions {
  /** Tickets made overdue in the burst. */
  tickets: number;
  /** Endpoints at the receiver subscribed to `ticket.overdue`. */
  endpoints: number;
  /** Share of the receiver's requests answered 503 with `retry-after: 1` (0: none). */
  faults: number;
  /** Share of the receiver's requests answered late, after `slowMs` (0: none). */
  slow: number;
  /** How late a slow answer comes, in milliseconds (below the engine's 15 s timeout). */
  slowMs: number;
}

/** The prefix of the scenario's receiver endpoints and of its data. */
const TAG = "chaos-overdue";

/** The overdue-ticket webhooks scenario. */
export function webhooksFlow(opts: WebhooksFlowOptions): ChaosFlow {
  const endpoints: { id: string; hook: string }[] = [];
  let ticketIds: number[] = [];
  const control = (ctx: ChaosContext) =>
    webhookReceiverControl(ctx.platform.standIns.webhook_receiver.url);

  return {
    name: "webhooks",
    queues: ["webhooks"],

    async prepare(ctx) {
      const { db } = ctx;
      const receiver = control(ctx);
      await receiver.reset();
      for (let n = 1; n <= opts.endpoints; n++) {
        const hook = `${TAG}-${n}`;
        const { id, secret } = await createEndpoint(db, {
          url: receiver.hookUrl(hook),
          description: `Chaos check ${n}`,
          eventTypes: ["ticket.overdue"],
        });
        await receiver.setSecrets(hook, [secret]);
        endpoints.push({ id, hook });
      }
      if (opts.faults > 0) {
        await receiver.faults.add({
          action: "status",
          status: 503,
          retry_after: 1,
          fraction: opts.faults,
          random: true,
        });
      }
      if (opts.slow > 0) {
        await receiver.faults.add({
          action: "delay",
          delay_ms: opts.slowMs,
          fraction: opts.slow,
          random: true,
        });
      }
      // The cron job must not run a check of its own in the middle of the burst.
      await db`update cron.job set active = false where jobname = 'check-overdue'`;
      const [tech] = await db`
        insert into public.workshop_users (full_name, email, role)
        values ('Technicien chaos', ${`${TAG}@atelier.example`}, 'technician') returning id`;
      const [machine] = await db`
        insert into public.machines (name, machine_type, model, serial_number, location, status)
        values ('Four de trempe (chaos)', 'Four de trempe', 'Tamglass HTF', ${`${TAG}-SN`},
                'Atelier B', 'operational') returning id`;
      const rows = await db`
        insert into public.tickets (title, description, status, priority, machine_id,
                                    assigned_to, created_by, scheduled_date)
        select 'Ticket chaos ' || n, 'Contrôle du four, zone ' || n, 'received', 'high',
               ${machine.id}, ${tech.id}, ${tech.id}, now() + interval '1 day'
        from generate_series(1, ${opts.tickets}) n
        returning id::int`;
      ticketIds = rows.map((r) => r.id as number);
    },

    async burst({ db, note }) {
      await db`update public.tickets set scheduled_date = now() - interval '1 hour'
               where id = any(${ticketIds}::bigint[])`;
      // Two checks at once, as two overlapping cron runs: the constraint lets one notify.
      const answers = await Promise.all(
        [1, 2].map(() =>
          db`select public.workshop_check_overdue(p_limit => ${opts.tickets + 1000}) as answer`
        ),
      );
      const notified = answers.map(([r]) => r.answer.notified as number);
      note(`webhooks: two concurrent overdue checks notified ${notified.join(" and ")} tickets`);
    },

    async tally(ctx): Promise<Tally> {
      const { db } = ctx;
      const receiver = control(ctx);
      const [notes] = await db`
        select count(*)::int as notifications,
               count(distinct ticket_id)::int as tickets
        from public.webhook_notifications where ticket_id = any(${ticketIds}::bigint[])`;
      const byPair = new Map<string, Set<string>>();
      let unverified = 0;
      let duplicates = 0;
      let received = 0;
      for (const { hook } of endpoints) {
        const deliveries = await receiver.list({ endpoint: hook, limit: 100_000 });
        for (const d of deliveries) {
          received++;
          if (!d.verified) {
            unverified++;
            continue;
          }
          if (d.duplicate) duplicates++;
          // deno-lint-ignore no-explicit-any
          const ticket = (d.json as any)?.data?.ticket?.id;
          const key = `${ticket}|${hook}`;
          byPair.set(key, (byPair.get(key) ?? new Set()).add(d.webhook_id ?? ""));
        }
      }
      const wanted = ticketIds.flatMap((id) => endpoints.map(({ hook }) => `${id}|${hook}`));
      const delivered = wanted.filter((k) => byPair.has(k)).length;
      const twoIds = wanted.filter((k) => (byPair.get(k)?.size ?? 0) > 1).length;
      const [messages] = await db`
        select count(*)::int as messages,
               count(*) filter (where status = 'delivered')::int as delivered,
               count(*) filter (where status = 'failed')::int as failed,
               coalesce(max(attempts), 0)::int as max_attempts,
               count(*) filter (where attempts > 1)::int as retried
        from public.webhook_messages
        where endpoint_id = any(${endpoints.map((e) => e.id)}::uuid[])`;
      const [jobs] = await db`
        select count(*) filter (where state = 'dead')::int as dead,
               count(*) filter (where attempts > 1)::int as reclaimed
        from jobs.jobs
        where queue = 'webhooks'
          and subject = any(${endpoints.map((e) => `endpoint:${e.id}`)})`;
      const stats = await receiver.stats();
      await db`update cron.job set active = true where jobname = 'check-overdue'`;
      return {
        items: wanted.length,
        delivered,
        lost: wanted.length - delivered,
        twice: twoIds + (notes.notifications - notes.tickets),
        dead: jobs.dead,
        details: [
          `webhooks: ${ticketIds.length} tickets made overdue, ${endpoints.length} endpoints; ` +
          `${notes.notifications} notifications for ${notes.tickets} tickets; ` +
          `${messages.messages} messages (${messages.delivered} delivered, ${messages.failed} ` +
          `failed, ${messages.retried} retried, highest attempt ${messages.max_attempts}); ` +
          `${jobs.reclaimed} job(s) ran more than once.`,
          `webhooks: receiver (${Math.round(opts.faults * 100)}% answered 503 retry-after 1, ` +
          `${Math.round(opts.slow * 100)}% after ${opts.slowMs} ms): ` +
          `${received} deliveries, ${duplicates} duplicate(s) of a webhook-id it had (harmless), ` +
          `${unverified} not verified, ${twoIds} (ticket, endpoint) pair(s) seen with two ` +
          `webhook-ids; ${stats.requests_faulted} requests faulted.`,
        ],
      };
    },
  };
}
