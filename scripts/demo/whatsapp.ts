/**
 * WhatsApp provisioning's demo in the dev command. supabase/seed.sql signs up the clinic's three
 * doctors; their instances are created on the Evolution stand-in within seconds of the seed.
 * At start the demo waits for them, scans Dr Martin's code through the stand-in's control API
 * (as a phone would) and has a patient write to her, and leaves the two others connecting, their
 * codes rotating on the stand-in's page. It then prints the statement that signs up a new user
 * and where to watch: the stand-in's WhatsApp page and `evolution_instances`.
 *
 * The demo never fails the start for WhatsApp's sake: what it could not do (an instance not
 * provisioned in time, a stand-in that forgot an instance after a restart) is said in its check
 * line instead.
 */
import type { DemoContext, DemoText, FlowDemo } from "./demo.ts";
import { evolutionControl } from "../platform/stand_ins/evolution/control.ts";

/** The seeded users (supabase/seed.sql) whose instances the demo shows. */
export const DEMO_USERS = {
  /** Scanned by the demo: open, with a message from a patient. */
  open: { id: "7d1f0c3e-0000-4000-8000-000000000401", name: "Dr Claire Martin" },
  /** Left connecting: their codes rotate on the stand-in's page. */
  connecting: [
    { id: "7d1f0c3e-0000-4000-8000-000000000402", name: "Dr Julien Bernard" },
    { id: "7d1f0c3e-0000-4000-8000-000000000403", name: "Dr Sophie Leroy" },
  ],
} as const;

/** The patient who writes to Dr Martin on WhatsApp (a seeded patient's number). */
export const DEMO_CUSTOMER = {
  from: "33611111111",
  pushName: "Camille Durand",
  text: "Bonjour Docteur, je serai cinq minutes en retard demain. Camille",
};

/** Signs up a new user with a unique address: the triggers provision a WhatsApp instance. */
export const SIGN_UP_STATEMENT = "insert into auth.users (email, raw_user_meta_data) " +
  "values ('user-' || substr(md5(random()::text), 1, 8) || '@example.com', " +
  `'{"full_name": "Alex Dupont"}');`;

/** What to watch in psql: the newest instances and their state. */
export const WATCH_STATEMENT = "select p.full_name, i.instance_name, i.instance_status, " +
  "i.qr_count, i.last_qr_update from evolution_instances i join profiles p on p.id = i.user_id " +
  "order by i.created_at desc limit 5;";

/** How long the start waits for the seeded instances, and then for the scan to be seen. */
const WAIT_MS = 20_000;

/** One seeded user's instance as the database shows it. */
interface SeededInstance {
  id: string;
  full_name: string | null;
  instance_name: string | null;
  instance_status: string | null;
  has_qr: boolean;
  messages: number;
}

/** The seeded users and their instances (rows for users that exist). */
async function seeded({ sql }: DemoContext): Promise<SeededInstance[]> {
  const ids = [DEMO_USERS.open.id, ...DEMO_USERS.connecting.map((u) => u.id)];
  return await sql<SeededInstance[]>`
    select p.id, p.full_name, i.instance_name, i.instance_status,
           (i.qr_code is not null) as has_qr,
           (select count(*)::int from whatsapp_inbound_messages m
            where m.instance_name = i.instance_name) as messages
    from profiles p
    left join evolution_instances i on i.user_id = p.id and i.status = 'created'
    where p.id = any(${ids}::uuid[])
    order by p.id`;
}

/** Polls `probe` every 100 ms until it answers something, or `WAIT_MS` has passed. */
async function poll<T>(probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + WAIT_MS;
  while (true) {
    const value = await probe();
    if (value !== undefined || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error);

/**
 * Waits for the seeded instances, connects Dr Martin's (scan, then a patient's message) unless
 * it already is, and answers the check line.
 */
async function prepareDemo(ctx: DemoContext): Promise<string> {
  const control = evolutionControl(ctx.platform.standIns.evolution.url);
  const users = await seeded(ctx);
  if (users.length === 0) {
    return "WhatsApp check: the seeded users are gone (bash scripts/dev.sh --reset brings them back).";
  }
  const ready = await poll(async () => {
    const rows = await seeded(ctx);
    return rows.every((r) => r.instance_name) ? rows : undefined;
  });
  if (!ready) {
    const rows = await seeded(ctx);
    const done = rows.filter((r) => r.instance_name).length;
    return `WhatsApp check: ${done} of ${rows.length} demo instances provisioned within ` +
      `${WAIT_MS / 1000} s; see evolution_instance_creation_queue and jobs.queue_health.`;
  }
  // The stand-in keeps no instances across restarts of the dev command: after one, the
  // database remembers instances the stand-in no longer has.
  const held = new Set((await control.instances()).map((instance) => instance.name));
  const forgotten = ready.filter((r) => !held.has(r.instance_name!));
  if (forgotten.length) {
    return `WhatsApp check: the Evolution stand-in keeps no instances across restarts, and ` +
      `${forgotten.length} of the ${ready.length} demo instances are gone from it ` +
      `(bash scripts/dev.sh --reset provisions them again).`;
  }
  const problems: string[] = [];
  const claire = ready.find((r) => r.id === DEMO_USERS.open.id);
  if (claire?.instance_name) {
    const name = claire.instance_name;
    try {
      if (claire.instance_status !== "open") {
        // A phone scans a code it was shown: first let the creation's events (connecting, the
        // first code) reach the database, which Evolution posts at once and in no set order.
        await poll(async () => {
          const deliveries = await control.webhookDeliveries(name);
          return deliveries.length && deliveries.every((d) => d.state !== "pending")
            ? true
            : undefined;
        });
        await control.scan(name);
        const open = await poll(async () => {
          const row = (await seeded(ctx)).find((r) => r.id === claire.id);
          return row?.instance_status === "open" ? row : undefined;
        });
        if (!open) {
          problems.push(`${claire.full_name}'s scan was not seen within ${WAIT_MS / 1000} s`);
        }
      }
      if (claire.messages === 0) await control.customerMessage(name, DEMO_CUSTOMER);
    } catch (error) {
      problems.push(
        `the stand-in could not connect ${claire.full_name}'s instance (${messageOf(error)})`,
      );
    }
  }
  const rows = await seeded(ctx);
  const states = rows.map((r) => `${r.full_name}'s ${r.instance_status}`).join(", ");
  return `WhatsApp check: ${rows.length} demo instances on the Evolution stand-in: ${states}.` +
    (problems.length ? ` Note: ${problems.join("; ")}.` : "");
}

/** How to try WhatsApp provisioning, given the stand-in's address. */
export function whatsappDemoText(standInUrl: string): string {
  return `Try WhatsApp provisioning, in psql:
  1. Sign up a new user (a trigger creates the profile, another enqueues the instance's creation):
       ${SIGN_UP_STATEMENT}
  2. Open the Evolution stand-in's WhatsApp page, ${standInUrl}/, where the new instance
     appears within a second or two with its QR code, which changes as codes rotate. Click
     Scan: the instance connects, and evolution_instances shows it open:
       ${WATCH_STATEMENT}
`;
}

/** WhatsApp provisioning's demo. */
export const whatsappDemo: FlowDemo = {
  flow: "whatsapp",
  async run(ctx: DemoContext): Promise<DemoText> {
    return {
      check: await prepareDemo(ctx),
      tryIt: whatsappDemoText(ctx.platform.standIns.evolution.url),
    };
  },
};
