/**
 * Fixtures for the workshop's overdue-ticket tests, on the running test platform: a workshop
 * (a technician, a supervisor, a machine), tickets made by SQL, a webhook endpoint of its own at
 * the webhook receiver stand-in (`/hooks/<unique name>`, created through the management
 * functions as an admin, its secret handed to the receiver), calls of the `check-overdue`
 * function, and the receiver's deliveries for that endpoint.
 *
 * The pg_cron job `check-overdue` is paused while a test runs (`cron.job.active`), so that the
 * job never runs a check between a test's steps; `done()` resumes it and removes what the test
 * made.
 *
 * ```ts
 * const t = await startWorkshopTest();
 * try {
 *   const ticket = await t.ticket({ scheduledIn: "-1 hour" });
 *   const answer = await checkOverdue(CRON_AUTH);
 *   const [delivery] = await t.waitForDeliveries(1);
 * } finally {
 *   await t.done();
 * }
 * ```
 */
import type postgres from "postgres";
import {
  type StoredDelivery,
  type WebhookReceiverControl,
  webhookReceiverControl,
} from "../../scripts/platform/stand_ins/webhook_receiver/control.ts";
import { asAdmin, createEndpoint } from "../../scripts/demo/workshop.ts";
import { testSql } from "./db.ts";
import { waitFor, type WaitOptions } from "./wait.ts";

export type Sql = postgres.Sql;
export { asAdmin };

function env(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test.sh`);
  return value;
}

/** The `check-overdue` function. */
export const CHECK_OVERDUE_URL = `${env("SUPABASE_URL")}/functions/v1/check-overdue`;
/** The `Authorization` header of pg_cron and of an outside scheduler. */
export const CRON_AUTH = `Bearer ${env("CRON_SECRET")}`;
/** The `Authorization` header of an operator calling by hand. */
export const SERVICE_AUTH = `Bearer ${env("SUPABASE_SERVICE_ROLE_KEY")}`;
/** The `Authorization` header of anyone holding the public anon key. */
export const ANON_AUTH = `Bearer ${env("SUPABASE_ANON_KEY")}`;
/** The control client of the test platform's webhook receiver stand-in. */
export const receiver: WebhookReceiverControl = webhookReceiverControl(
  env("WEBHOOK_RECEIVER_URL"),
);

/** What the function answered. */
export interface FunctionAnswer {
  status: number;
  text: string;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/**
 * Calls `check-overdue` with `authorization` (none when null).
 *
 * @example
 * const { status, body } = await checkOverdue(CRON_AUTH);
 */
export async function checkOverdue(
  authorization: string | null,
  method = "POST",
): Promise<FunctionAnswer> {
  const res = await fetch(CHECK_OVERDUE_URL, {
    method,
    headers: {
      ...(authorization ? { authorization } : {}),
      ...(method === "POST" ? { "content-type": "application/json" } : {}),
    },
    body: method === "POST" ? "{}" : undefined,
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the text says what it was.
  }
  return { status: res.status, text, body };
}

/** A ticket made by a test. */
export interface TestTicket {
  id: number;
  title: string;
  description: string;
}

/** Options of {@link WorkshopTest.ticket}. */
export interface TicketOptions {
  /** `scheduled_date` as an interval from now (`'-1 hour'`: overdue by an hour). */
  scheduledIn?: string;
  status?: string;
  description?: string;
  /** Assigned to the test's technician unless false. */
  assigned?: boolean;
}

/** One test's workshop, endpoint and receiver hook. */
export interface WorkshopTest {
  sql: Sql;
  /** The receiver endpoint's name (`/hooks/<hook>`). */
  hook: string;
  /** The webhook endpoint's id and URL. */
  endpoint: { id: string; url: string };
  technician: { id: string; full_name: string; email: string };
  machine: { id: number; name: string; machine_type: string; location: string };
  /** Makes a ticket on the test's machine. */
  ticket(opts?: TicketOptions): Promise<TestTicket>;
  /** Makes a ticket overdue by `by` (an interval, default one hour). */
  makeOverdue(ticketId: number, by?: string): Promise<void>;
  /** The receiver's deliveries to the test's hook, oldest first. */
  deliveries(): Promise<StoredDelivery[]>;
  /** Waits until the hook holds at least `count` deliveries; answers them, oldest first. */
  waitForDeliveries(count: number, opts?: WaitOptions): Promise<StoredDelivery[]>;
  /** Resumes the cron job, removes the endpoint, the tickets, the machine and the users. */
  done(): Promise<void>;
}

/** Sets up one test's workshop and endpoint (see the module's description). */
export async function startWorkshopTest(): Promise<WorkshopTest> {
  const sql = testSql();
  const tag = crypto.randomUUID().slice(0, 8);
  const hook = `overdue-${tag}`;
  const url = receiver.hookUrl(hook);
  const ticketIds: number[] = [];
  let endpointId: string | undefined;
  let cronPaused = false;
  async function cleanUp() {
    try {
      const id = endpointId;
      if (id) {
        await asAdmin(sql, (tx) => tx`select public.webhook_endpoint_delete(${id}::uuid)`);
      }
      await receiver.setSecrets(hook, []);
      await sql`delete from public.tickets where id = any(${ticketIds}::bigint[])`;
      await sql`delete from public.machines where serial_number = ${`SN-${tag}`}`;
      await sql`delete from public.workshop_users where email like ${`%-${tag}@atelier.example`}`;
    } finally {
      if (cronPaused) {
        await sql`update cron.job set active = true where jobname = 'check-overdue'`;
      }
      await sql.end();
    }
  }
  try {
    const paused = await sql`
      update cron.job set active = false where jobname = 'check-overdue' and active returning jobid`;
    cronPaused = paused.length > 0;
    const endpoint = await createEndpoint(sql, {
      url,
      description: `Overdue test ${tag}`,
      eventTypes: ["ticket.overdue"],
    });
    endpointId = endpoint.id;
    await receiver.setSecrets(hook, [endpoint.secret]);
    const [technician] = await sql<{ id: string; full_name: string; email: string }[]>`
      insert into public.workshop_users (full_name, email, role)
      values (${`Julie Technicienne ${tag}`}, ${`tech-${tag}@atelier.example`}, 'technician')
      returning id, full_name, email`;
    const [supervisor] = await sql<{ id: string }[]>`
      insert into public.workshop_users (full_name, email, role)
      values (${`Paul Superviseur ${tag}`}, ${`sup-${tag}@atelier.example`}, 'supervisor')
      returning id`;
    const [machine] = await sql<
      { id: number; name: string; machine_type: string; location: string }[]
    >`
      insert into public.machines (name, machine_type, model, serial_number, location, status)
      values (${`Four de trempe ${tag}`}, 'Four de trempe', 'Tamglass HTF', ${`SN-${tag}`},
              'Atelier B', 'operational')
      returning id::int, name, machine_type, location`;

    const t: WorkshopTest = {
      sql,
      hook,
      endpoint: { id: endpoint.id, url },
      technician,
      machine,
      async ticket(opts = {}) {
        const title = `Résistances à contrôler ${tag}-${ticketIds.length + 1}`;
        const description = opts.description ?? "Zone 3 plus froide que la consigne.";
        const [row] = await sql<{ id: number }[]>`
          insert into public.tickets (title, description, status, priority, machine_id,
                                      assigned_to, created_by, scheduled_date)
          values (${title}, ${description}, ${opts.status ?? "received"}, 'high', ${machine.id},
                  ${opts.assigned === false ? null : technician.id}, ${supervisor.id},
                  now() + ${opts.scheduledIn ?? "2 days"}::interval)
          returning id::int`;
        ticketIds.push(row.id);
        return { id: row.id, title, description };
      },
      async makeOverdue(ticketId, by = "1 hour") {
        await sql`update public.tickets set scheduled_date = now() - ${by}::interval
                  where id = ${ticketId}`;
      },
      async deliveries() {
        return (await receiver.list({ endpoint: hook })).reverse();
      },
      async waitForDeliveries(count, opts = {}) {
        return await waitFor(async () => {
          const list = await t.deliveries();
          return list.length >= count ? list : undefined;
        }, { what: `${count} deliveries to /hooks/${hook}`, ...opts });
      },
      done: cleanUp,
    };
    return t;
  } catch (error) {
    await cleanUp().catch(() => {});
    throw error;
  }
}
