/**
 * The workshop's demo in the dev command: the glass workshop of the seed, as its production held
 * it (10 workshop users, 9 machines, 12 tickets in every status), seeded idempotently (users by
 * e-mail, machines by serial number, tickets by title: a second run adds nothing), and one
 * webhook endpoint subscribed to `ticket.overdue` that points at the webhook receiver stand-in
 * (`/hooks/automation`, where the seed had its automation service). The receiver keeps secrets
 * in memory only, so every start hands it the endpoint's current secret again.
 *
 * It then prints the statement that makes one ticket overdue, the statement that runs the check
 * now (pg_cron runs it every 5 minutes anyway), and the receiver's page, where a verified
 * delivery appears within seconds; a second check delivers nothing (one notification per ticket
 * per 24 hours).
 */
import type postgres from "postgres";
import type { DemoContext, DemoText, FlowDemo } from "./demo.ts";
import { webhookReceiverControl } from "../platform/stand_ins/webhook_receiver/control.ts";

/** The receiver endpoint standing for the seed's automation service. */
export const DEMO_HOOK = "automation";

/** The description of the demo's webhook endpoint (how the demo finds it again). */
export const DEMO_ENDPOINT_DESCRIPTION = "Automation service (the webhook receiver stand-in)";

/** Runs the overdue check now, as pg_cron does every 5 minutes (through the function). */
export const CHECK_NOW_STATEMENT = "select jobs.call_function('check-overdue', '{}', 'manual');";

/** What to watch in psql: the notifications and their deliveries. */
export const STORY_STATEMENT = "select ticket_id, title, notified_at, status, attempts, " +
  "last_response_status from ticket_notification_story order by notified_at desc limit 5;";

/** A workshop user of the demo. */
export interface DemoUser {
  full_name: string;
  email: string;
  role: "admin" | "supervisor" | "technician" | "operator";
}

/** A machine of the demo. */
export interface DemoMachine {
  name: string;
  machine_type: string;
  model: string;
  serial_number: string;
  location: string;
  status: "operational" | "maintenance" | "out_of_service";
}

/** A ticket of the demo; dates are intervals from the time of the seed. */
export interface DemoTicket {
  title: string;
  description: string;
  status: "received" | "diagnostic" | "in_progress" | "waiting_parts" | "completed" | "archived";
  priority: "low" | "medium" | "high" | "critical";
  /** `serial_number` of its machine. */
  machine: string;
  /** E-mail of the assignee; null when unassigned. */
  assignee: string | null;
  /** E-mail of who opened it. */
  creator: string;
  /** `scheduled_date` as an interval from now (`'2 days'`, `'-3 days'`); null when none. */
  scheduled_in: string | null;
  /** `created_at` as an interval before now. */
  created_ago: string;
}

/** The 10 users of the seed's production: an admin, a supervisor, technicians, operators. */
export const DEMO_USERS: readonly DemoUser[] = [
  { full_name: "Nadia Lefebvre", email: "nadia.lefebvre@atelier-verre.example", role: "admin" },
  {
    full_name: "Marc Gagnon",
    email: "marc.gagnon@atelier-verre.example",
    role: "supervisor",
  },
  {
    full_name: "Julien Tremblay",
    email: "julien.tremblay@atelier-verre.example",
    role: "technician",
  },
  {
    full_name: "Sophie Roy",
    email: "sophie.roy@atelier-verre.example",
    role: "technician",
  },
  {
    full_name: "Karim Benali",
    email: "karim.benali@atelier-verre.example",
    role: "technician",
  },
  {
    full_name: "Élodie Martin",
    email: "elodie.martin@atelier-verre.example",
    role: "technician",
  },
  {
    full_name: "Luc Bouchard",
    email: "luc.bouchard@atelier-verre.example",
    role: "operator",
  },
  {
    full_name: "Camille Pelletier",
    email: "camille.pelletier@atelier-verre.example",
    role: "operator",
  },
  {
    full_name: "Antoine Girard",
    email: "antoine.girard@atelier-verre.example",
    role: "operator",
  },
  {
    full_name: "Manon Côté",
    email: "manon.cote@atelier-verre.example",
    role: "operator",
  },
];

/** The 9 machines of the glass workshop. */
export const DEMO_MACHINES: readonly DemoMachine[] = [
  {
    name: "Table de découpe n°1",
    machine_type: "Table de découpe",
    model: "Bottero 352 BCS",
    serial_number: "BOT-352-0141",
    location: "Atelier A, découpe",
    status: "operational",
  },
  {
    name: "Table de découpe laminé",
    machine_type: "Table de découpe",
    model: "Bottero 548 LAM",
    serial_number: "BOT-548-0077",
    location: "Atelier A, découpe",
    status: "operational",
  },
  {
    name: "Four de trempe",
    machine_type: "Four de trempe",
    model: "Tamglass HTF ProE",
    serial_number: "TAM-HTF-2210",
    location: "Atelier B, trempe",
    status: "maintenance",
  },
  {
    name: "Centre d'usinage CNC",
    machine_type: "CNC",
    model: "Intermac Master 35",
    serial_number: "INT-M35-3391",
    location: "Atelier A, façonnage",
    status: "operational",
  },
  {
    name: "Polisseuse rectiligne",
    machine_type: "Polisseuse",
    model: "Bavelloni VE 10",
    serial_number: "BAV-VE10-0586",
    location: "Atelier A, façonnage",
    status: "operational",
  },
  {
    name: "Polisseuse bilatérale",
    machine_type: "Polisseuse",
    model: "Bavelloni Dynamic 10",
    serial_number: "BAV-DYN-0912",
    location: "Atelier A, façonnage",
    status: "out_of_service",
  },
  {
    name: "Laveuse verticale",
    machine_type: "Laveuse",
    model: "Lisec VHW 25",
    serial_number: "LIS-VHW-1804",
    location: "Atelier C, assemblage",
    status: "operational",
  },
  {
    name: "Ligne de double vitrage",
    machine_type: "Ligne d'assemblage",
    model: "Lisec IGU 2.5",
    serial_number: "LIS-IGU-0420",
    location: "Atelier C, assemblage",
    status: "operational",
  },
  {
    name: "Perceuse verticale",
    machine_type: "Perceuse",
    model: "Intermac Vertmax",
    serial_number: "INT-VMX-0733",
    location: "Atelier A, façonnage",
    status: "operational",
  },
];

const at = (name: string) => `${name}@atelier-verre.example`;

/**
 * The 12 tickets, in every status. The assigned ones still received or in diagnostic are due in
 * the days after the seed: none is overdue until the printed statement makes one so.
 */
export const DEMO_TICKETS: readonly DemoTicket[] = [
  {
    title: "Molette de coupe usée",
    description: "La coupe laisse des éclats sur le verre de 10 mm. Remplacer la molette " +
      "et vérifier la pression de coupe.",
    status: "received",
    priority: "high",
    machine: "BOT-352-0141",
    assignee: at("julien.tremblay"),
    creator: at("luc.bouchard"),
    scheduled_in: "2 days",
    created_ago: "1 day",
  },
  {
    title: "Résistances du four à contrôler",
    description: "Zone 3 du four de trempe plus froide de 15 °C que la consigne. Mesurer " +
      "les résistances et remplacer celles hors tolérance.",
    status: "diagnostic",
    priority: "critical",
    machine: "TAM-HTF-2210",
    assignee: at("sophie.roy"),
    creator: at("marc.gagnon"),
    scheduled_in: "1 day",
    created_ago: "2 days",
  },
  {
    title: "Broche CNC bruyante",
    description: "Bruit anormal de la broche principale au-delà de 8000 tr/min.",
    status: "received",
    priority: "medium",
    machine: "INT-M35-3391",
    assignee: at("karim.benali"),
    creator: at("camille.pelletier"),
    scheduled_in: "3 days",
    created_ago: "6 hours",
  },
  {
    title: "Meules de polissage à changer",
    description: "Finition mate sur les chants : meules diamantées en fin de vie.",
    status: "diagnostic",
    priority: "medium",
    machine: "BAV-VE10-0586",
    assignee: at("elodie.martin"),
    creator: at("antoine.girard"),
    scheduled_in: "4 days",
    created_ago: "3 days",
  },
  {
    title: "Fuite d'eau sur la laveuse",
    description: "Fuite au raccord de la pompe de rinçage, flaque sous la machine.",
    status: "received",
    priority: "low",
    machine: "LIS-VHW-1804",
    assignee: null,
    creator: at("manon.cote"),
    scheduled_in: "5 days",
    created_ago: "4 hours",
  },
  {
    title: "Courroie de convoyeur détendue",
    description: "Le convoyeur d'entrée glisse au démarrage.",
    status: "in_progress",
    priority: "medium",
    machine: "LIS-IGU-0420",
    assignee: at("julien.tremblay"),
    creator: at("luc.bouchard"),
    scheduled_in: "-1 day",
    created_ago: "5 days",
  },
  {
    title: "Calibration du centre d'usinage",
    description: "Écart de 0,3 mm sur les perçages ; recalibrer les axes X et Y.",
    status: "in_progress",
    priority: "high",
    machine: "INT-M35-3391",
    assignee: at("karim.benali"),
    creator: at("marc.gagnon"),
    scheduled_in: "-2 days",
    created_ago: "6 days",
  },
  {
    title: "Moteur de la polisseuse bilatérale",
    description: "Moteur grillé côté gauche ; moteur de remplacement commandé chez le fabricant.",
    status: "waiting_parts",
    priority: "critical",
    machine: "BAV-DYN-0912",
    assignee: at("sophie.roy"),
    creator: at("antoine.girard"),
    scheduled_in: "7 days",
    created_ago: "8 days",
  },
  {
    title: "Ventouses du pont de chargement",
    description: "Deux ventouses fendues ; pièces en commande.",
    status: "waiting_parts",
    priority: "medium",
    machine: "BOT-548-0077",
    assignee: at("elodie.martin"),
    creator: at("camille.pelletier"),
    scheduled_in: "6 days",
    created_ago: "9 days",
  },
  {
    title: "Foret de perçage cassé",
    description: "Foret de 12 mm cassé en cours de cycle ; remplacé et cycle relancé.",
    status: "completed",
    priority: "high",
    machine: "INT-VMX-0733",
    assignee: at("karim.benali"),
    creator: at("manon.cote"),
    scheduled_in: "-4 days",
    created_ago: "5 days",
  },
  {
    title: "Entretien trimestriel du four",
    description: "Nettoyage des rouleaux céramiques et contrôle des thermocouples.",
    status: "completed",
    priority: "medium",
    machine: "TAM-HTF-2210",
    assignee: at("sophie.roy"),
    creator: at("marc.gagnon"),
    scheduled_in: "-10 days",
    created_ago: "20 days",
  },
  {
    title: "Mise à jour du logiciel de découpe",
    description: "Optimiseur de découpe mis à jour en version 5.2.",
    status: "archived",
    priority: "low",
    machine: "BOT-352-0141",
    assignee: at("julien.tremblay"),
    creator: at("nadia.lefebvre"),
    scheduled_in: "-30 days",
    created_ago: "40 days",
  },
];

/** What the demo seeded and found. */
export interface WorkshopSeed {
  users: number;
  machines: number;
  tickets: number;
}

/**
 * Inserts the demo's users, machines and tickets that are not there yet (users by e-mail,
 * machines by serial number, tickets by title); answers how many of each exist now.
 */
export async function seedWorkshop(sql: postgres.Sql): Promise<WorkshopSeed> {
  return await sql.begin(async (tx) => {
    await tx`
      insert into public.workshop_users (full_name, email, role)
      select u.full_name, u.email, u.role
      from jsonb_to_recordset(${tx.json(DEMO_USERS as unknown as postgres.JSONValue)})
        as u(full_name text, email text, role text)
      on conflict (email) do nothing`;
    await tx`
      insert into public.machines (name, machine_type, model, serial_number, location, status)
      select m.name, m.machine_type, m.model, m.serial_number, m.location, m.status
      from jsonb_to_recordset(${tx.json(DEMO_MACHINES as unknown as postgres.JSONValue)})
        as m(name text, machine_type text, model text, serial_number text, location text,
             status text)
      on conflict (serial_number) do nothing`;
    await tx`
      insert into public.tickets (title, description, status, priority, machine_id, assigned_to,
                                  created_by, scheduled_date, created_at)
      select t.title, t.description, t.status, t.priority, m.id, a.id, c.id,
             now() + t.scheduled_in::interval, now() - t.created_ago::interval
      from jsonb_to_recordset(${tx.json(DEMO_TICKETS as unknown as postgres.JSONValue)})
        as t(title text, description text, status text, priority text, machine text,
             assignee text, creator text, scheduled_in text, created_ago text)
      join public.machines m on m.serial_number = t.machine
      join public.workshop_users c on c.email = t.creator
      left join public.workshop_users a on a.email = t.assignee
      where not exists (select from public.tickets x where x.title = t.title)`;
    const [row] = await tx<WorkshopSeed[]>`
      select (select count(*)::int from public.workshop_users
              where email = any(${DEMO_USERS.map((u) => u.email)})) as users,
             (select count(*)::int from public.machines
              where serial_number = any(${DEMO_MACHINES.map((m) => m.serial_number)})) as machines,
             (select count(*)::int from public.tickets
              where title = any(${DEMO_TICKETS.map((t) => t.title)})) as tickets`;
    return row;
  });
}

/** The demo's webhook endpoint and its current signing secret. */
export interface DemoEndpoint {
  id: string;
  url: string;
  secret: string;
  created: boolean;
}

/** Runs `fn` in a transaction whose JWT claims are an admin's (`app_metadata.role = 'admin'`). */
export async function asAdmin<T>(
  sql: postgres.Sql,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${
      JSON.stringify({ role: "authenticated", app_metadata: { role: "admin" } })
    }, true)`;
    return await fn(tx);
  }) as T;
}

/** Options of {@link createEndpoint}. */
export interface EndpointOptions {
  url: string;
  description?: string;
  /** The event types it subscribes to; every type when absent. */
  eventTypes?: string[];
}

/**
 * Creates a webhook endpoint through `webhook_endpoint_create`, as an admin would; answers its
 * id and its generated secret.
 */
export async function createEndpoint(
  sql: postgres.Sql,
  opts: EndpointOptions,
): Promise<{ id: string; secret: string }> {
  return await asAdmin(sql, async (tx) => {
    const [{ endpoint }] = await tx<{ endpoint: { id: string; secret: string } }[]>`
      select public.webhook_endpoint_create(
        p_url => ${opts.url}, p_description => ${opts.description ?? ""},
        p_event_types => ${opts.eventTypes ?? null}::text[]) as endpoint`;
    return { id: endpoint.id, secret: endpoint.secret };
  });
}

/**
 * Finds the endpoint pointing at `url` or creates it (subscribed to `ticket.overdue`), through
 * the management functions as an admin would; answers it with its current secret.
 */
export async function ensureDemoEndpoint(sql: postgres.Sql, url: string): Promise<DemoEndpoint> {
  const [existing] = await sql<{ id: string }[]>`
    select id from public.webhook_endpoints where url = ${url} order by created_at limit 1`;
  if (existing) {
    const secret = await asAdmin(sql, async (tx) => {
      const [{ s }] = await tx<{ s: { secret: string } }[]>`
        select public.webhook_endpoint_secret(${existing.id}::uuid) as s`;
      return s.secret;
    });
    return { id: existing.id, url, secret, created: false };
  }
  const created = await createEndpoint(sql, {
    url,
    description: DEMO_ENDPOINT_DESCRIPTION,
    eventTypes: ["ticket.overdue"],
  });
  return { ...created, url, created: true };
}

/**
 * A demo ticket the rule would select once its date is past: assigned, in an overdue status of
 * the settings, and not notified within the repeat interval. Undefined when none is left.
 */
async function ticketToMakeOverdue(
  sql: postgres.Sql,
): Promise<{ id: string; title: string; full_name: string } | undefined> {
  const [ticket] = await sql<{ id: string; title: string; full_name: string }[]>`
    select t.id::text, t.title, u.full_name
    from public.tickets t
    join public.workshop_users u on u.id = t.assigned_to
    cross join public.workshop_settings s
    where t.status = any(s.overdue_statuses)
      and t.title = any(${DEMO_TICKETS.map((d) => d.title)})
      and not exists (select from public.webhook_notifications n
                      where n.ticket_id = t.id and n.next_allowed_at > now())
    order by t.priority = 'critical' desc, t.id
    limit 1`;
  return ticket;
}

/** The statement that makes ticket `id` overdue by an hour. */
export function overdueStatement(id: string | number): string {
  return `update tickets set scheduled_date = now() - interval '1 hour' where id = ${id};`;
}

/** How to try the overdue notifications, given the ticket to make overdue and the page. */
export function workshopDemoText(
  ticket: { id: string; title: string; full_name: string } | undefined,
  receiverUrl: string,
): string {
  if (!ticket) {
    return `Try the overdue-ticket webhooks: every demo ticket was notified within the last
24 hours (one notification per ticket per 24 hours). For fresh demo data, restart with:
  bash scripts/dev.sh --reset
`;
  }
  return `Try the overdue-ticket webhooks, in psql:
  1. Make ticket ${ticket.id} ("${ticket.title}", assigned to ${ticket.full_name}) overdue:
       ${overdueStatement(ticket.id)}
  2. Run the overdue check now (pg_cron runs it every 5 minutes anyway):
       ${CHECK_NOW_STATEMENT}
  3. Open the webhook receiver's page, ${receiverUrl}/, where a ticket.overdue delivery to
     /hooks/${DEMO_HOOK} appears within seconds, its signature verified. Run the check again:
     nothing more arrives (one notification per ticket per 24 hours). The story, in psql:
       ${STORY_STATEMENT}
`;
}

/** The workshop's demo. */
export const workshopDemo: FlowDemo = {
  flow: "workshop",
  async run(ctx: DemoContext): Promise<DemoText> {
    const seeded = await seedWorkshop(ctx.sql);
    const receiverUrl = ctx.platform.standIns.webhook_receiver.url;
    const receiver = webhookReceiverControl(receiverUrl);
    const endpoint = await ensureDemoEndpoint(ctx.sql, receiver.hookUrl(DEMO_HOOK));
    await receiver.setSecrets(DEMO_HOOK, [endpoint.secret]);
    return {
      check: `Workshop check: ${seeded.users} users, ${seeded.machines} machines, ` +
        `${seeded.tickets} tickets; webhook endpoint ${endpoint.id} ` +
        `${endpoint.created ? "created" : "found"} for ${endpoint.url}, its secret given ` +
        `to the receiver.`,
      tryIt: workshopDemoText(await ticketToMakeOverdue(ctx.sql), receiverUrl),
    };
  },
};
