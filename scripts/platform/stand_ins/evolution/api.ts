/**
 * Evolution API v2's endpoints as the stand-in serves them (see /work/notes/evolution_api.md):
 *
 * - `POST /instance/create` (201), `GET /instance/connect/{i}`, `GET /instance/connectionState/{i}`,
 *   `GET /instance/fetchInstances`, `DELETE /instance/logout/{i}`, `DELETE /instance/delete/{i}`;
 * - `POST /webhook/set/{i}` (201) and `GET /webhook/find/{i}`;
 * - `POST /message/sendText/{i}` (201).
 *
 * Guards run in Evolution's order: the instance must exist (404), a name to create must be free
 * (403), then the `apikey` header (401): the global key, or for a route naming an instance that
 * instance's own token (for `fetchInstances`, any instance's token, which then only sees its own).
 * The kit has run faults and the rate limit before (its `authenticate` only names the caller).
 *
 * Not on WhatsApp (sendText answers 400 `exists: false`): numbers listed through the control API,
 * and any number whose digits end in `0000`.
 */
import type { ApiCall, ApiRoute } from "../kit/provider_api.ts";
import { evolutionError, instanceNotFound, unauthorized } from "./errors.ts";
import type { StoredMessage } from "./message.ts";
import type { WebhookRow } from "./webhooks.ts";
import type { Behaviour, EvolutionWorld, Instance, InstanceSettings } from "./world.ts";

/** Evolution's integrations (`integration` of create). */
export const INTEGRATIONS = ["WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION"] as const;

/** The event names a webhook configuration may list (Evolution's EventController.events). */
export const WEBHOOK_EVENTS = [
  "APPLICATION_STARTUP",
  "QRCODE_UPDATED",
  "MESSAGES_SET",
  "MESSAGES_UPSERT",
  "MESSAGES_EDITED",
  "MESSAGES_UPDATE",
  "MESSAGES_DELETE",
  "SEND_MESSAGE",
  "SEND_MESSAGE_UPDATE",
  "CONTACTS_SET",
  "CONTACTS_UPSERT",
  "CONTACTS_UPDATE",
  "PRESENCE_UPDATE",
  "CHATS_SET",
  "CHATS_UPSERT",
  "CHATS_UPDATE",
  "CHATS_DELETE",
  "GROUPS_UPSERT",
  "GROUP_UPDATE",
  "GROUP_PARTICIPANTS_UPDATE",
  "CONNECTION_UPDATE",
  "LABELS_EDIT",
  "LABELS_ASSOCIATION",
  "CALL",
  "TYPEBOT_START",
  "TYPEBOT_CHANGE_STATUS",
  "REMOVE_INSTANCE",
  "LOGOUT_INSTANCE",
  "INSTANCE_CREATE",
  "INSTANCE_DELETE",
  "STATUS_INSTANCE",
] as const;

/** What the routes need besides the call. */
export interface ApiContext {
  world: EvolutionWorld;
  globalKey: string;
  behaviour: () => Behaviour;
  /** Numbers (digits) answered as not on WhatsApp. */
  notOnWhatsApp: Set<string>;
}

type Call = ApiCall<StoredMessage>;
type Json = Record<string, unknown>;

/** True for the paths of Evolution's API served here. */
export function isEvolutionPath(path: string): boolean {
  return /^\/(instance|webhook|message)(\/|$)/.test(path);
}

/** The caller's key for the kit's rate limit (checked by each route, in Evolution's order). */
export function callerKey(req: Request): string {
  return req.headers.get("apikey") ?? "anonymous";
}

/** True when the number (digits) is answered as not on WhatsApp. */
export function isNotOnWhatsApp(ctx: ApiContext, digits: string): boolean {
  return ctx.notOnWhatsApp.has(digits) || digits.endsWith("0000");
}

function authorized(ctx: ApiContext, req: Request, inst?: Instance): boolean {
  const key = req.headers.get("apikey");
  if (!key) return false;
  return key === ctx.globalKey || (inst !== undefined && inst.token === key);
}

async function jsonBody(req: Request): Promise<Json | Response> {
  const text = await req.text();
  if (!text.trim()) return {};
  try {
    const body = JSON.parse(text);
    if (typeof body === "object" && body !== null && !Array.isArray(body)) return body;
  } catch {
    // answered below
  }
  return evolutionError(400, ["The body must be a JSON object"]);
}

/** Guards of a route naming an instance: 404, then 401. */
function guard(ctx: ApiContext, call: Call, name: string): Instance | Response {
  const inst = ctx.world.get(name);
  if (!inst) return instanceNotFound(name);
  if (!authorized(ctx, call.req, inst)) return unauthorized();
  return inst;
}

function typeErrors(body: Json, types: Record<string, "string" | "boolean" | "object">): string[] {
  return Object.entries(types)
    .filter(([field, type]) => {
      const value = body[field];
      if (value === undefined) return false;
      if (type === "object") {
        return typeof value !== "object" || value === null || Array.isArray(value);
      }
      return type === "string" ? typeof value !== "string" : typeof value !== "boolean";
    })
    .map(([field, type]) => `${field} is not of a type(s) ${type}`);
}

/**
 * Validates a webhook configuration (`webhook` of create and of `/webhook/set`): errors in the
 * words of Evolution's JSON schema.
 */
function webhookErrors(hook: unknown, requireEnabled: boolean): string[] {
  if (typeof hook !== "object" || hook === null || Array.isArray(hook)) {
    return ["webhook is not of a type(s) object"];
  }
  const h = hook as Json;
  const errors: string[] = [];
  if (requireEnabled && h.enabled === undefined) errors.push('webhook requires property "enabled"');
  if (h.url === undefined) errors.push('webhook requires property "url"');
  else if (typeof h.url !== "string" || h.url === "") errors.push('The "url" cannot be empty');
  for (const field of ["enabled", "byEvents", "base64"]) {
    if (h[field] !== undefined && typeof h[field] !== "boolean") {
      errors.push(`webhook.${field} is not of a type(s) boolean`);
    }
  }
  if (
    h.headers !== undefined &&
    (typeof h.headers !== "object" || h.headers === null || Array.isArray(h.headers) ||
      Object.values(h.headers).some((v) => typeof v !== "string"))
  ) {
    errors.push("webhook.headers is not an object of strings");
  }
  if (h.events === undefined && h.enabled === false) {
    // A disabled webhook stores no events: Evolution does not read the list.
  } else if (!Array.isArray(h.events)) {
    errors.push("webhook.events must be an array of event names");
  } else {
    h.events.forEach((event, i) => {
      if (!(WEBHOOK_EVENTS as readonly unknown[]).includes(event)) {
        errors.push(`webhook.events[${i}] is not one of enum values: ${WEBHOOK_EVENTS.join(",")}`);
      }
    });
  }
  return errors;
}

/** Stores a validated webhook configuration on the instance; answers the stored row. */
function storeWebhook(ctx: ApiContext, inst: Instance, h: Json): WebhookRow {
  const now = new Date().toISOString();
  const enabled = h.enabled !== false;
  const events = (h.events ?? []) as string[];
  inst.webhook = {
    id: inst.webhook?.id ?? crypto.randomUUID(),
    url: h.url as string,
    headers: (h.headers as Record<string, string> | undefined) ?? null,
    enabled,
    events: !enabled ? [] : events.length === 0 ? [...WEBHOOK_EVENTS] : [...events],
    webhookByEvents: h.byEvents === true,
    webhookBase64: h.base64 === true,
    createdAt: inst.webhook?.createdAt ?? now,
    updatedAt: now,
    instanceId: inst.id,
  };
  ctx.world.touch(inst);
  return inst.webhook;
}

function settingsOf(body: Json): InstanceSettings {
  return {
    rejectCall: body.rejectCall === true,
    msgCall: typeof body.msgCall === "string" ? body.msgCall : "",
    groupsIgnore: body.groupsIgnore === true,
    alwaysOnline: body.alwaysOnline === true,
    readMessages: body.readMessages === true,
    readStatus: body.readStatus === true,
    syncFullHistory: body.syncFullHistory === true,
    wavoipToken: typeof body.wavoipToken === "string" ? body.wavoipToken : "",
  };
}

/** Creations running now, and the names they hold. */
interface Creations {
  running: number;
  names: Set<string>;
}

async function create(ctx: ApiContext, creations: Creations, call: Call): Promise<Response> {
  const body = await jsonBody(call.req);
  if (body instanceof Response) return body;
  const name = body.instanceName;
  if (typeof name !== "string" || name === "") {
    return evolutionError(400, ['The "instanceName" cannot be empty']);
  }
  if (ctx.world.get(name) || creations.names.has(name)) {
    return evolutionError(403, [`This name "${name}" is already in use.`]);
  }
  if (!authorized(ctx, call.req)) return unauthorized();
  const limit = ctx.behaviour().createConcurrency;
  if (limit !== null && creations.running >= limit) {
    return evolutionError(429, [
      `Too many instance creations at once (the local stand-in takes ${limit}); retry later`,
    ], { "retry-after": "1" });
  }
  const errors = typeErrors(body, {
    token: "string",
    number: "string",
    qrcode: "boolean",
    integration: "string",
  });
  if (errors.length) return evolutionError(400, errors);
  if (!(INTEGRATIONS as readonly unknown[]).includes(body.integration)) {
    return evolutionError(400, ["Invalid integration"]);
  }
  if (body.webhook !== undefined) {
    const hookErrors = webhookErrors(body.webhook, false);
    if (hookErrors.length) return evolutionError(400, [hookErrors[0]]);
  }

  creations.running++;
  creations.names.add(name);
  try {
    const latency = ctx.behaviour().createLatencyMs;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    await call.delay();
    const inst = ctx.world.add({
      name,
      token: typeof body.token === "string" && body.token
        ? body.token
        : crypto.randomUUID().toUpperCase(),
      integration: body.integration as string,
      number: typeof body.number === "string" ? body.number : null,
      settings: settingsOf(body),
    });
    const hook = body.webhook as Json | undefined;
    if (hook) storeWebhook(ctx, inst, { ...hook, enabled: true });
    ctx.world.emit(inst, "instance.create", { instanceName: name, instanceId: inst.id });
    if (body.qrcode === true) await ctx.world.connect(inst);
    return Response.json({
      instance: {
        instanceName: name,
        instanceId: inst.id,
        integration: inst.integration,
        webhookWaBusiness: null,
        accessTokenWaBusiness: "",
        status: inst.state,
      },
      hash: inst.token,
      webhook: {
        webhookUrl: hook?.url,
        webhookHeaders: hook?.headers,
        webhookByEvents: hook?.byEvents,
        webhookBase64: hook?.base64,
      },
      websocket: {},
      rabbitmq: {},
      nats: {},
      sqs: {},
      settings: inst.settings,
      ...(inst.qr ? { qrcode: inst.qr } : {}),
    }, { status: 201 });
  } finally {
    creations.running--;
    creations.names.delete(name);
  }
}

/** Evolution's `fetchInstances` row (Prisma's Instance with its relations). */
export function instanceRow(inst: Instance, messages: number): Json {
  return {
    id: inst.id,
    name: inst.name,
    connectionStatus: inst.state,
    ownerJid: inst.wuid,
    profileName: inst.profileName,
    profilePicUrl: null,
    integration: inst.integration,
    number: inst.number,
    businessId: null,
    token: inst.token,
    clientName: "evolution_local_stand_in",
    disconnectionReasonCode: inst.disconnectionReasonCode,
    disconnectionObject: null,
    disconnectionAt: inst.disconnectionAt,
    createdAt: inst.createdAt,
    updatedAt: inst.updatedAt,
    Chatwoot: null,
    Proxy: null,
    Rabbitmq: null,
    Nats: null,
    Sqs: null,
    Websocket: null,
    Setting: { id: inst.id, ...inst.settings, instanceId: inst.id },
    _count: { Message: messages, Contact: 0, Chat: 0 },
  };
}

function fetchInstances(ctx: ApiContext, call: Call): Response {
  const key = call.req.headers.get("apikey");
  if (!key) return unauthorized();
  const name = call.url.searchParams.get("instanceName") || undefined;
  const id = call.url.searchParams.get("instanceId") || undefined;
  const count = (inst: Instance) =>
    call.state.store.list({ where: (m) => m.instance === inst.name }).length;
  let found = ctx.world.list();
  if (key !== ctx.globalKey) {
    if (!found.some((inst) => inst.token === key)) return unauthorized();
    found = found.filter((inst) =>
      inst.token === key && (!name || inst.name === name) && (!id || inst.id === id)
    );
    if (found.length === 0) return unauthorized();
  } else if (name) {
    if (!ctx.world.get(name)) return evolutionError(404, [`Instance "${name}" not found`]);
    found = found.filter((inst) => inst.name === name);
  } else if (id) {
    found = found.filter((inst) => inst.id === id);
    if (found.length === 0) return evolutionError(404, [`Instance "${id}" not found`]);
  }
  return Response.json(found.map((inst) => instanceRow(inst, count(inst))));
}

async function connect(ctx: ApiContext, call: Call, name: string): Promise<Response> {
  const inst = guard(ctx, call, name);
  if (inst instanceof Response) return inst;
  await call.delay();
  if (inst.state === "open") {
    return Response.json({ instance: { instanceName: name, state: "open" } });
  }
  if (inst.state === "close") await ctx.world.connect(inst);
  const qr = inst.qr;
  return Response.json({
    pairingCode: qr?.pairingCode ?? null,
    code: qr?.code,
    base64: qr?.base64,
    count: qr?.count ?? 0,
  });
}

function connectionState(ctx: ApiContext, call: Call, name: string): Response {
  const inst = guard(ctx, call, name);
  if (inst instanceof Response) return inst;
  return Response.json({ instance: { instanceName: name, state: inst.state } });
}

async function logout(ctx: ApiContext, call: Call, name: string): Promise<Response> {
  const inst = guard(ctx, call, name);
  if (inst instanceof Response) return inst;
  if (inst.state === "close") {
    return evolutionError(400, [`The "${name}" instance is not connected`]);
  }
  await call.delay();
  ctx.world.logout(inst);
  return Response.json({
    status: "SUCCESS",
    error: false,
    response: { message: "Instance logged out" },
  });
}

async function remove(ctx: ApiContext, call: Call, name: string): Promise<Response> {
  const inst = guard(ctx, call, name);
  if (inst instanceof Response) return inst;
  await call.delay();
  ctx.world.delete(inst);
  return Response.json({
    status: "SUCCESS",
    error: false,
    response: { message: "Instance deleted" },
  });
}

async function setWebhook(ctx: ApiContext, call: Call, name: string): Promise<Response> {
  const inst = guard(ctx, call, name);
  if (inst instanceof Response) return inst;
  const body = await jsonBody(call.req);
  if (body instanceof Response) return body;
  if (body.webhook === undefined) return evolutionError(400, ['requires property "webhook"']);
  const errors = webhookErrors(body.webhook, true);
  if (errors.length) return evolutionError(400, errors);
  await call.delay();
  return Response.json(storeWebhook(ctx, inst, body.webhook as Json), { status: 201 });
}

function findWebhook(ctx: ApiContext, call: Call, name: string): Response {
  const inst = guard(ctx, call, name);
  if (inst instanceof Response) return inst;
  return Response.json(inst.webhook);
}

/** A message id shaped like Baileys' (`BAE5` + 12 hex digits, upper case). */
export function newMessageId(): string {
  const hex = [...crypto.getRandomValues(new Uint8Array(6))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `BAE5${hex}`.toUpperCase();
}

/** Evolution's message shape (`prepareMessage`) of a stored text message. */
export function messageRaw(message: StoredMessage, inst: Instance): Json {
  const fromMe = message.direction === "outgoing";
  return {
    key: { remoteJid: message.remote_jid, fromMe, id: message.id },
    pushName: fromMe ? "Você" : message.push_name,
    status: fromMe ? "PENDING" : "DELIVERY_ACK",
    message: { conversation: message.text },
    contextInfo: null,
    messageType: "conversation",
    messageTimestamp: Math.floor(Date.parse(message.created_at) / 1000),
    instanceId: inst.id,
    source: "android",
  };
}

async function sendText(ctx: ApiContext, call: Call, name: string): Promise<Response> {
  const inst = guard(ctx, call, name);
  if (inst instanceof Response) return inst;
  const body = await jsonBody(call.req);
  if (body instanceof Response) return body;
  const errors = [
    ...["number", "text"].filter((f) => body[f] === undefined).map((f) =>
      `requires property "${f}"`
    ),
    ...typeErrors(body, { number: "string", text: "string" }),
  ];
  if (errors.length) return evolutionError(400, errors);
  if (inst.state !== "open") {
    return evolutionError(400, [`The "${name}" instance is not connected`]);
  }
  const digits = (body.number as string).replace(/@.*$/, "").replace(/\D/g, "");
  const jid = `${digits}@s.whatsapp.net`;
  if (!digits || isNotOnWhatsApp(ctx, digits)) {
    return evolutionError(400, [{ jid, exists: false, number: body.number }]);
  }
  await call.delay();
  const message: StoredMessage = {
    id: newMessageId(),
    created_at: new Date().toISOString(),
    instance: name,
    direction: "outgoing",
    remote_jid: jid,
    number: digits,
    text: body.text as string,
    push_name: null,
  };
  await call.state.store.add([message]);
  ctx.world.keepMessage(message);
  ctx.world.touch(inst);
  const raw = messageRaw(message, inst);
  ctx.world.emit(inst, "send.message", raw);
  return Response.json(raw, { status: 201 });
}

/** The routes of the API, bound to the stand-in's state. */
export function evolutionRoutes(ctx: ApiContext): ApiRoute<StoredMessage>[] {
  const creations: Creations = { running: 0, names: new Set() };
  return [
    { method: "POST", path: "/instance/create", handle: (_, call) => create(ctx, creations, call) },
    {
      method: "GET",
      path: "/instance/fetchInstances",
      handle: (_, call) => fetchInstances(ctx, call),
    },
    { method: "GET", path: "/instance/connect/:i", handle: ({ i }, call) => connect(ctx, call, i) },
    {
      method: "GET",
      path: "/instance/connectionState/:i",
      handle: ({ i }, call) => connectionState(ctx, call, i),
    },
    {
      method: "DELETE",
      path: "/instance/logout/:i",
      handle: ({ i }, call) => logout(ctx, call, i),
    },
    {
      method: "DELETE",
      path: "/instance/delete/:i",
      handle: ({ i }, call) => remove(ctx, call, i),
    },
    { method: "POST", path: "/webhook/set/:i", handle: ({ i }, call) => setWebhook(ctx, call, i) },
    { method: "GET", path: "/webhook/find/:i", handle: ({ i }, call) => findWebhook(ctx, call, i) },
    {
      method: "POST",
      path: "/message/sendText/:i",
      handle: ({ i }, call) => sendText(ctx, call, i),
    },
  ];
}
