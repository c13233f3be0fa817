/**
 * The client of Evolution API v2 (the WhatsApp gateway, Baileys integration): one method per
 * call the WhatsApp flows make — create, find and fetch instances, get a QR code or the
 * connection state, set and read an instance's webhook, log out, delete, send a text. Every
 * call carries the global key (`apikey` header) and its own timeout (`timeoutMs`), and its
 * answer is checked with zod before it becomes one of our types (`./types.ts`).
 *
 * Failures follow the job core's vocabulary (`../../jobs/errors.ts`, `httpFailure`): 429 is
 * `ThrottledError`, 408 and 5xx are `RetryLaterError`, other 4xx are `PermanentJobError`; a
 * timeout, a network error or an answer of the wrong shape is a `RetryLaterError`. Two
 * refusals have their own classes: `NameInUseError` (403 "This name … is already in use", on
 * create) and `NotOnWhatsAppError` (400 with `exists: false`, on send). Every message names the
 * call, the instance and the status.
 *
 * @example
 * const evolution = new EvolutionClient(evolutionConfig());
 * const created = await evolution.createInstance({
 *   instanceName: "user_0f3c…",
 *   token,
 *   webhook: { url: config.webhookUrl, headers: { "x-evolution-secret": secret }, events },
 * });
 */
import { z } from "zod";
import { httpFailure, PermanentJobError, RetryLaterError } from "../../jobs/errors.ts";
import { errorText } from "../../runtime/log.ts";
import type { EvolutionConfig } from "./config.ts";
import type {
  CreatedInstance,
  FetchedInstance,
  QrCode,
  StoredWebhook,
  WebhookConfig,
} from "./types.ts";

export type { EvolutionConfig } from "./config.ts";
export { evolutionConfig } from "./config.ts";
/** The provider's types (instances, QR codes, webhooks, and the sender's journal). */
export type * from "./types.ts";

/** Evolution refused to create an instance: its name is taken (by us after a lost answer?). */
export class NameInUseError extends PermanentJobError {
  override name = "NameInUseError";
  constructor(message: string, readonly instanceName: string) {
    super(message);
  }
}

/** Evolution refused a message: the number has no WhatsApp account. No retry changes that. */
export class NotOnWhatsAppError extends PermanentJobError {
  override name = "NotOnWhatsAppError";
  constructor(message: string, readonly number: string) {
    super(message);
  }
}

/**
 * Evolution has no instance of that name (404 "… does not exist"): it was deleted there, or a
 * test server was reset. No retry brings it back; the user can ask for a new one.
 */
export class InstanceNotFoundError extends PermanentJobError {
  override name = "InstanceNotFoundError";
  constructor(message: string, readonly instanceName: string) {
    super(message);
  }
}

/** The integration every instance uses: WhatsApp Web through Baileys, paired by QR code. */
const INTEGRATION = "WHATSAPP-BAILEYS";

const qrSchema = z.looseObject({
  base64: z.string().nullish(),
  code: z.string().nullish(),
  pairingCode: z.string().nullish(),
  count: z.number().nullish(),
});

const createdSchema = z.looseObject({
  instance: z.looseObject({
    instanceName: z.string(),
    instanceId: z.string(),
    status: z.string(),
  }),
  /** The token: a string since v2.1, `{apikey}` before. */
  hash: z.union([z.string(), z.looseObject({ apikey: z.string() })]),
  qrcode: qrSchema.nullish(),
});

const fetchedSchema = z.array(z.looseObject({
  id: z.string(),
  name: z.string(),
  connectionStatus: z.string(),
  token: z.string().nullish(),
}));

/** `connect` answers the QR code, or the state when there is no code to show (open). */
const connectSchema = z.looseObject({
  ...qrSchema.shape,
  instance: z.looseObject({ state: z.string() }).optional(),
  /** Evolution answers its own failures here with 200 `{error: true, message}`. */
  error: z.boolean().optional(),
  message: z.unknown().optional(),
});

const stateSchema = z.looseObject({
  instance: z.looseObject({ state: z.string() }),
});

const webhookSchema = z.looseObject({
  url: z.string(),
  enabled: z.boolean(),
  events: z.array(z.string()).nullish(),
  headers: z.record(z.string(), z.string()).nullish(),
});

const sentSchema = z.looseObject({
  key: z.looseObject({ id: z.string().min(1) }),
});

/** A code Evolution has ready; `null` while there is none (no base64 image or text yet). */
function qrCode(raw: z.infer<typeof qrSchema> | null | undefined): QrCode | null {
  if (!raw?.base64 || !raw.code) return null;
  return {
    base64: raw.base64,
    code: raw.code,
    pairingCode: raw.pairingCode ?? null,
    count: raw.count ?? 0,
  };
}

function storedWebhook(raw: z.infer<typeof webhookSchema>): StoredWebhook {
  return {
    url: raw.url,
    enabled: raw.enabled,
    events: raw.events ?? [],
    headers: raw.headers ?? {},
  };
}

/** The JSON of an error answer, or null; its messages (`response.message`) as a list. */
function errorMessages(body: string): unknown[] {
  try {
    const message = (JSON.parse(body) as { response?: { message?: unknown } })?.response?.message;
    return Array.isArray(message) ? message : message === undefined ? [] : [message];
  } catch {
    return [];
  }
}

/** A 404 about the instance (not an unknown route: "Cannot GET /…"). */
function isAbsent(body: string): boolean {
  const text = errorMessages(body).join(" ");
  return /not found|does not exist/i.test(text) && !/^Cannot [A-Z]+ \//.test(text);
}

/** One call: its method, path, the instance it is about, its body, how to read its answer. */
interface Call<S extends z.ZodType> {
  method: "GET" | "POST" | "DELETE";
  /** The route as Evolution names it, e.g. `/instance/connect` (the instance is appended). */
  route: string;
  /** The instance the call is about. */
  instance: string;
  /**
   * Where the instance's name goes: a path segment after the route (default), the query
   * (`?instanceName=`), or nowhere (it is in the body).
   */
  nameIn?: "path" | "query" | "body";
  body?: unknown;
  schema: S;
}

/** The Evolution API v2 client; see the module's description. */
export class EvolutionClient {
  readonly #config: EvolutionConfig;
  readonly #fetch: typeof fetch;

  /**
   * @param config base URL, global key and timeout (`evolutionConfig()`)
   * @param fetchImpl the fetch to use (default: the global one)
   */
  constructor(config: EvolutionConfig, fetchImpl: typeof fetch = fetch) {
    this.#config = config;
    this.#fetch = fetchImpl;
  }

  /**
   * Creates an instance with our token, its webhook (`events` must not be empty) and a first QR
   * code. Throws `NameInUseError` when the name is taken: `fetchInstance` tells whose it is.
   */
  async createInstance(
    req: { instanceName: string; token: string; webhook: WebhookConfig },
  ): Promise<CreatedInstance> {
    const call = {
      method: "POST",
      route: "/instance/create",
      instance: req.instanceName,
      nameIn: "body",
      body: {
        instanceName: req.instanceName,
        token: req.token,
        integration: INTEGRATION,
        qrcode: true,
        webhook: this.#webhookBody(req.webhook),
      },
      schema: createdSchema,
    } as const;
    const answer = await this.#call(call, (status, message, body) => {
      if (status === 403 && /already in use/i.test(body)) {
        return new NameInUseError(message, req.instanceName);
      }
    });
    return {
      instanceName: answer.instance.instanceName,
      instanceId: answer.instance.instanceId,
      token: typeof answer.hash === "string" ? answer.hash : answer.hash.apikey,
      status: answer.instance.status,
      qr: qrCode(answer.qrcode),
    };
  }

  /** The instance named `name`, or `null` when Evolution has none by that name. */
  async fetchInstance(name: string): Promise<FetchedInstance | null> {
    const call = {
      method: "GET",
      route: "/instance/fetchInstances",
      instance: name,
      nameIn: "query",
      schema: fetchedSchema,
    } as const;
    const answer = await this.#call(call, undefined, { absentOn404: true });
    const found = answer?.find((i) => i.name === name);
    if (!found) return null;
    return {
      instanceName: found.name,
      instanceId: found.id,
      token: found.token ?? null,
      connectionStatus: found.connectionStatus,
    };
  }

  /**
   * Asks for a QR code (`GET /instance/connect`; a closed instance starts connecting): the
   * current code, or the state when there is none to show (`open`, or `connecting` before the
   * first code). Evolution's `{error: true}` answer (a 200) is a `RetryLaterError`.
   */
  async connect(name: string): Promise<{ qr: QrCode } | { state: string }> {
    const answer = await this.#call({
      method: "GET",
      route: "/instance/connect",
      instance: name,
      schema: connectSchema,
    });
    if (answer.error === true) {
      throw new RetryLaterError(
        `Evolution GET /instance/connect for instance ${name} answered 200 with an error: ` +
          String(answer.message).slice(0, 500),
      );
    }
    if (answer.instance) return { state: answer.instance.state };
    const qr = qrCode(answer);
    return qr ? { qr } : { state: "connecting" };
  }

  /** The instance's connection state: open, connecting or close. */
  async connectionState(name: string): Promise<{ state: string }> {
    const answer = await this.#call({
      method: "GET",
      route: "/instance/connectionState",
      instance: name,
      schema: stateSchema,
    });
    return { state: answer.instance.state };
  }

  /** Sets (replaces) the instance's webhook; answers it as Evolution stored it. */
  async setWebhook(name: string, webhook: WebhookConfig): Promise<StoredWebhook> {
    const answer = await this.#call({
      method: "POST",
      route: "/webhook/set",
      instance: name,
      body: { webhook: this.#webhookBody(webhook) },
      schema: webhookSchema,
    });
    return storedWebhook(answer);
  }

  /** The instance's webhook, or `null` when it has none. */
  async findWebhook(name: string): Promise<StoredWebhook | null> {
    const answer = await this.#call({
      method: "GET",
      route: "/webhook/find",
      instance: name,
      schema: webhookSchema.nullable(),
    });
    return answer ? storedWebhook(answer) : null;
  }

  /** Logs the instance's phone out (Evolution refuses with 400 when it is not connected). */
  async logout(name: string): Promise<void> {
    await this.#call({
      method: "DELETE",
      route: "/instance/logout",
      instance: name,
      schema: z.unknown(),
    });
  }

  /** Deletes the instance; `false` when Evolution had none by that name (404). */
  async deleteInstance(name: string): Promise<boolean> {
    const answer = await this.#call(
      { method: "DELETE", route: "/instance/delete", instance: name, schema: z.unknown() },
      undefined,
      { absentOn404: true },
    );
    return answer !== null;
  }

  /**
   * Sends a text message. Throws `NotOnWhatsAppError` when the number has no WhatsApp. Without
   * an answer (a timeout, a 5xx) the message may have gone: Evolution has no idempotency key.
   */
  async sendText(name: string, message: { number: string; text: string }): Promise<{
    messageId: string;
  }> {
    const call = {
      method: "POST",
      route: "/message/sendText",
      instance: name,
      body: { number: message.number, text: message.text },
      schema: sentSchema,
    } as const;
    const answer = await this.#call(call, (status, text, body) => {
      const refused = errorMessages(body).some((m) =>
        typeof m === "object" && m !== null && (m as { exists?: unknown }).exists === false
      );
      if (status === 400 && refused) {
        return new NotOnWhatsAppError(
          `${text} (number ${message.number} has no WhatsApp account)`,
          message.number,
        );
      }
    });
    return { messageId: answer.key.id };
  }

  /** The webhook object of create and set: ours, plus the settings every instance gets. */
  #webhookBody(webhook: WebhookConfig) {
    return {
      enabled: true,
      url: webhook.url,
      headers: webhook.headers,
      byEvents: false,
      base64: true,
      events: webhook.events,
    };
  }

  /**
   * Makes one call and parses its answer. `refine` may turn a failure into a more precise
   * error; with `absentOn404` a 404 answers `null`.
   */
  async #call<S extends z.ZodType>(
    call: Call<S>,
    refine?: (status: number, message: string, body: string) => Error | undefined,
  ): Promise<z.infer<S>>;
  async #call<S extends z.ZodType>(
    call: Call<S>,
    refine: ((status: number, message: string, body: string) => Error | undefined) | undefined,
    opts: { absentOn404: true },
  ): Promise<z.infer<S> | null>;
  async #call<S extends z.ZodType>(
    call: Call<S>,
    refine?: (status: number, message: string, body: string) => Error | undefined,
    opts: { absentOn404?: boolean } = {},
  ): Promise<z.infer<S> | null> {
    const what = `Evolution ${call.method} ${call.route} for instance ${call.instance}`;
    const name = encodeURIComponent(call.instance);
    const where = { path: `/${name}`, query: `?instanceName=${name}`, body: "" };
    const url = this.#config.baseUrl + call.route + where[call.nameIn ?? "path"];
    const timeoutMs = this.#config.timeoutMs;
    let status: number;
    let headers: Headers;
    let body: string;
    try {
      const res = await this.#fetch(url, {
        method: call.method,
        headers: {
          apikey: this.#config.apiKey,
          ...(call.body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      headers = res.headers;
      body = await res.text();
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") {
        throw new RetryLaterError(`${what} got no answer within ${timeoutMs} ms`);
      }
      throw new RetryLaterError(`${what} failed without an answer: ${errorText(error)}`);
    }
    if (status === 404 && isAbsent(body)) {
      if (opts.absentOn404) return null;
      throw new InstanceNotFoundError(`${what} answered 404: ${body.slice(0, 300)}`, call.instance);
    }
    if (status < 200 || status >= 300) {
      const failure = httpFailure(what, status, headers, body);
      throw refine?.(status, failure.message, body) ?? failure;
    }
    let json: unknown;
    try {
      json = body === "" ? null : JSON.parse(body);
    } catch {
      throw new RetryLaterError(`${what} answered ${status} with a body that is not JSON`);
    }
    const parsed = call.schema.safeParse(json);
    if (!parsed.success) {
      throw new RetryLaterError(
        `${what} answered ${status} with an unexpected body: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }
}
