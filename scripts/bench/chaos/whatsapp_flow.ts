/**
 * The chaos check's `whatsapp` scenario: `signups` users signed up in one transaction (rows in
 * auth.users; the triggers create the profiles, record the requests and enqueue one
 * `create_instance` job each on the `evolution` queue), provisioned while the check kills
 * `process-evolution-queue` and restarts Postgres, with the Evolution stand-in limiting
 * concurrent creations and answering a `throttled` share of its calls with 429 (as the check
 * throttles Resend).
 *
 * Items are the users; one is delivered when the database holds its instance (status created,
 * with its webhook) and the stand-in holds an instance of that name with the same instance id.
 * Lost: users without an instance. Twice: users with an instance created twice. The stand-in,
 * like Evolution, refuses a second creation of a name it holds (403), so a second creation
 * would show as a name held twice or as an instance whose id differs from the one the database
 * recorded (the first one deleted, another created); a retry after a lost answer must adopt the
 * instance it created instead.
 */
import { evolutionControl } from "../../platform/stand_ins/evolution/control.ts";
import type { ChaosContext, ChaosFlow, Tally } from "./flow.ts";

/** Options of {@link whatsappFlow}. */
export interface WhatsAppFlowOptions {
  /** Users signed up in the burst's transaction. */
  signups: number;
  /** Share of the stand-in's API calls answered 429 with `retry-after: 1` (0: none). */
  throttled: number;
  /** Creations the stand-in runs at once (`setBehaviour({createConcurrency})`). */
  createConcurrency: number;
}

/** The e-mail domain of the scenario's users. */
const DOMAIN = "chaos-whatsapp.example";

/** The WhatsApp provisioning scenario. */
export function whatsappFlow(opts: WhatsAppFlowOptions): ChaosFlow {
  let userIds: string[] = [];
  const control = (ctx: ChaosContext) => evolutionControl(ctx.platform.standIns.evolution.url);

  return {
    name: "whatsapp",
    queues: ["evolution"],

    async prepare(ctx) {
      const evolution = control(ctx);
      await evolution.reset();
      await evolution.setBehaviour({ createConcurrency: opts.createConcurrency });
      if (opts.throttled > 0) {
        await evolution.faults.add({
          action: "status",
          status: 429,
          retry_after: 1,
          fraction: opts.throttled,
          random: true,
        });
      }
    },

    async burst({ db }) {
      const rows = await db.begin((tx) =>
        tx`
          insert into auth.users (email, raw_user_meta_data)
          select 'user' || n || '@' || ${DOMAIN},
                 jsonb_build_object('full_name', 'Chaos user ' || n)
          from generate_series(1, ${opts.signups}) n
          returning id`
      );
      userIds = rows.map((r) => r.id as string);
    },

    async tally(ctx): Promise<Tally> {
      const { db } = ctx;
      const evolution = control(ctx);
      const rows = await db`
        select u.id, i.instance_name, i.instance_id, i.status, i.webhook_configured_at is not null as webhook,
               i.qr_count, q.status as queue_status, q.retry_count,
               c.instance_name as expected_name
        from auth.users u
        left join public.evolution_instances i on i.user_id = u.id
        left join public.evolution_instance_creation_queue q on q.user_id = u.id
        left join whatsapp_internal.instance_credentials c on c.user_id = u.id
        where u.id = any(${userIds}::uuid[])`;
      const standIn = await evolution.instances();
      const held = new Map<string, string[]>();
      for (const instance of standIn) {
        held.set(instance.name, [...(held.get(instance.name) ?? []), instance.id]);
      }
      const names = rows.map((r) => r.expected_name as string | null).filter((n) => n !== null);
      const heldTwice = names.filter((n) => (held.get(n)?.length ?? 0) > 1).length;
      // A row without an instance id (its creation never completed) is lost, not doubled.
      const otherId =
        rows.filter((r) =>
          r.instance_name && r.instance_id && held.has(r.instance_name) &&
          !held.get(r.instance_name)!.includes(r.instance_id)
        ).length;
      const delivered =
        rows.filter((r) =>
          r.status === "created" && r.webhook && held.get(r.instance_name)?.includes(r.instance_id)
        ).length;
      const dbOnly = rows.filter((r) => r.instance_name && !held.has(r.instance_name)).length;
      const inDb = new Set(rows.map((r) => r.instance_name as string | null));
      const standInOnly = names.filter((n) => held.has(n) && !inDb.has(n)).length;
      const queue = new Map<string, number>();
      for (const r of rows) {
        const key = String(r.queue_status ?? "none");
        queue.set(key, (queue.get(key) ?? 0) + 1);
      }
      const [jobs] = await db`
        select count(*) filter (where state = 'dead')::int as dead,
               count(*) filter (where attempts > 1)::int as reclaimed,
               count(*) filter (where result->>'outcome' = 'adopted')::int as adopted,
               coalesce(max(attempts), 0)::int as max_attempts
        from jobs.jobs
        where queue = 'evolution' and subject = any(${userIds.map((id) => `user:${id}`)})`;
      const stats = await evolution.stats();
      return {
        items: userIds.length,
        delivered,
        lost: userIds.length - delivered,
        twice: heldTwice + otherId,
        dead: jobs.dead,
        details: [
          `whatsapp: ${userIds.length} sign-ups in one transaction; ${delivered} users with an ` +
          `instance in the database (created, webhook set) and on the stand-in, ` +
          `${userIds.length - delivered} without; ${heldTwice} name(s) held twice on the ` +
          `stand-in, ${otherId} instance(s) whose stand-in id differs from the recorded one; ` +
          `${dbOnly} in the database only, ${standInOnly} on the stand-in only. Queue entries: ${
            [...queue].map(([s, n]) => `${n} ${s}`).join(", ")
          }; ${jobs.reclaimed} job(s) ran more than once, highest attempt ${jobs.max_attempts}; ` +
          `${jobs.adopted} instance(s) adopted after a lost answer (403 name in use, same token).`,
          `whatsapp: Evolution stand-in (create concurrency ${opts.createConcurrency}, ` +
          `${Math.round(opts.throttled * 100)}% answered 429): ${stats.requests_received} ` +
          `requests, ${stats.requests_accepted} accepted, ${stats.requests_rejected} rejected, ` +
          `${stats.requests_rate_limited} answered 429 by its limits, ` +
          `${stats.requests_faulted} faulted; ${standIn.length} instances held.`,
        ],
      };
    },
  };
}
