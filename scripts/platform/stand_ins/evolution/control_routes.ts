/**
 * The Evolution API stand-in's own control routes under `/_local/` (besides the kit's faults,
 * rate limit, stats, `GET /_local/messages?instance=&direction=` and `DELETE /_local/messages`,
 * which resets everything). JSON in and out; errors `{ error }`. control.ts is their client.
 *
 * - `GET /_local/instances`, `GET /_local/instances/{name}`: instances as {@link instanceView};
 * - `POST /_local/instances/{name}/scan` `{ number?, profileName? }`: the phone scans the code
 *   (409 unless connecting);
 * - `POST /_local/instances/{name}/messages` `{ from, text, pushName? }`: a customer writes to
 *   the instance (409 unless open): stored, and `messages.upsert` with `fromMe: false`;
 * - `GET /_local/webhook-deliveries?instance=`: the delivery log, newest first;
 * - `GET|PUT /_local/behaviour`: {@link Behaviour} (PUT takes any subset);
 * - `GET|PUT /_local/not-on-whatsapp` `{ numbers: [...] }`: numbers sendText refuses (besides
 *   those ending in 0000).
 */
import { z } from "zod";
import { type ControlRoute, parseBody, problem } from "../kit/control_api.ts";
import type { ItemStore } from "../kit/item_store.ts";
import { type ApiContext, messageRaw, newMessageId } from "./api.ts";
import type { StoredMessage } from "./message.ts";
import type { WebhookDispatcher } from "./webhooks.ts";
import type { Behaviour, Instance } from "./world.ts";

/** An instance as the control API shows it. */
export interface InstanceView {
  name: string;
  id: string;
  token: string;
  integration: string;
  state: Instance["state"];
  refused: boolean;
  statusReason: number | null;
  qr: Instance["qr"];
  qrCount: number;
  wuid: string | null;
  profileName: string | null;
  number: string | null;
  webhook: Instance["webhook"];
  createdAt: string;
  updatedAt: string;
}

/** The control view of an instance. */
export function instanceView(inst: Instance): InstanceView {
  return {
    name: inst.name,
    id: inst.id,
    token: inst.token,
    integration: inst.integration,
    state: inst.state,
    refused: inst.refused,
    statusReason: inst.statusReason,
    qr: inst.qr,
    qrCount: inst.qrCount,
    wuid: inst.wuid,
    profileName: inst.profileName,
    number: inst.number,
    webhook: inst.webhook,
    createdAt: inst.createdAt,
    updatedAt: inst.updatedAt,
  };
}

const scanSchema = z.strictObject({
  number: z.string().regex(/^\+?\d{6,15}$/).optional(),
  profileName: z.string().min(1).max(100).optional(),
});

/** A customer's message, as the control API and the page take it. */
export const customerMessageSchema = z.strictObject({
  from: z.string().regex(/^\+?\d{6,15}$/, "from must be a phone number (digits)"),
  text: z.string().min(1).max(4096),
  pushName: z.string().min(1).max(100).optional(),
});

/** The body of {@link customerMessageSchema}. */
export type CustomerMessage = z.infer<typeof customerMessageSchema>;

const behaviourSchema = z.strictObject({
  qrIntervalMs: z.int().min(10).max(3_600_000).optional(),
  qrLimit: z.int().min(1).max(1000).optional(),
  webhookRetryBaseMs: z.int().min(1).max(600_000).optional(),
  webhookMaxAttempts: z.int().min(1).max(100).optional(),
  webhookTimeoutMs: z.int().min(10).max(600_000).optional(),
  createConcurrency: z.int().min(1).max(100_000).nullable().optional(),
  createLatencyMs: z.int().min(0).max(600_000).optional(),
});

const notOnWhatsAppSchema = z.strictObject({
  numbers: z.array(z.string().regex(/^\+?\d{1,15}$/)).max(10_000),
});

/** What the control routes need. */
export interface ControlContext extends ApiContext {
  webhooks: WebhookDispatcher;
  setBehaviour(patch: Partial<Behaviour>): Behaviour;
}

/**
 * A customer writes to an open instance: the message is stored and `messages.upsert` sent.
 * Answers the message in Evolution's shape, or a reason it cannot arrive.
 */
export async function receiveCustomerMessage(
  ctx: ControlContext,
  store: ItemStore<StoredMessage>,
  inst: Instance,
  input: CustomerMessage,
): Promise<Record<string, unknown> | string> {
  if (inst.state !== "open") {
    return `Instance ${inst.name} is ${inst.state}: scan its QR code before writing to it.`;
  }
  const digits = input.from.replace(/\D/g, "");
  const message: StoredMessage = {
    id: newMessageId(),
    created_at: new Date().toISOString(),
    instance: inst.name,
    direction: "incoming",
    remote_jid: `${digits}@s.whatsapp.net`,
    number: digits,
    text: input.text,
    push_name: input.pushName ?? null,
  };
  await store.add([message]);
  ctx.world.keepMessage(message);
  ctx.world.touch(inst);
  const raw = messageRaw(message, inst);
  ctx.world.emit(inst, "messages.upsert", raw);
  return raw;
}

/** The control routes of the stand-in. */
export function evolutionControlRoutes(ctx: ControlContext): ControlRoute<StoredMessage>[] {
  const named = (name: string): Instance | Response =>
    ctx.world.get(name) ?? problem(404, `No instance named ${name}.`);
  return [
    {
      method: "GET",
      path: "/_local/instances",
      handle: () => Response.json({ data: ctx.world.list().map(instanceView) }),
    },
    {
      method: "GET",
      path: "/_local/instances/:name",
      handle: ({ name }) => {
        const inst = named(name);
        return inst instanceof Response ? inst : Response.json(instanceView(inst));
      },
    },
    {
      method: "POST",
      path: "/_local/instances/:name/scan",
      handle: async ({ name }, { req }) => {
        const inst = named(name);
        if (inst instanceof Response) return inst;
        const body = await parseBody(req, scanSchema, { whenEmpty: {} });
        if (body instanceof Response) return body;
        if (inst.state !== "connecting") {
          return problem(409, `Instance ${name} is ${inst.state}: there is no QR code to scan.`);
        }
        ctx.world.scan(inst, body);
        return Response.json(instanceView(inst));
      },
    },
    {
      method: "POST",
      path: "/_local/instances/:name/messages",
      handle: async ({ name }, { req, state }) => {
        const inst = named(name);
        if (inst instanceof Response) return inst;
        const body = await parseBody(req, customerMessageSchema);
        if (body instanceof Response) return body;
        const raw = await receiveCustomerMessage(ctx, state.store, inst, body);
        return typeof raw === "string" ? problem(409, raw) : Response.json(raw, { status: 201 });
      },
    },
    {
      method: "GET",
      path: "/_local/webhook-deliveries",
      handle: (_, { url }) =>
        Response.json({
          data: ctx.webhooks.list(url.searchParams.get("instance") ?? undefined),
        }),
    },
    { method: "GET", path: "/_local/behaviour", handle: () => Response.json(ctx.behaviour()) },
    {
      method: "PUT",
      path: "/_local/behaviour",
      handle: async (_, { req }) => {
        const body = await parseBody(req, behaviourSchema);
        if (body instanceof Response) return body;
        return Response.json(ctx.setBehaviour(body as Partial<Behaviour>));
      },
    },
    {
      method: "GET",
      path: "/_local/not-on-whatsapp",
      handle: () => Response.json({ numbers: [...ctx.notOnWhatsApp] }),
    },
    {
      method: "PUT",
      path: "/_local/not-on-whatsapp",
      handle: async (_, { req }) => {
        const body = await parseBody(req, notOnWhatsAppSchema);
        if (body instanceof Response) return body;
        ctx.notOnWhatsApp.clear();
        for (const n of body.numbers) ctx.notOnWhatsApp.add(n.replace(/\D/g, ""));
        return Response.json({ numbers: [...ctx.notOnWhatsApp] });
      },
    },
  ];
}
