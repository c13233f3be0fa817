/**
 * The state of the Evolution API stand-in: instances and the phones behind them. An instance
 * lives as on a real Evolution server (WHATSAPP-BAILEYS):
 *
 * - `close` → `connect` (or create with `qrcode: true`) → `connecting`: a `connection.update`
 *   (state connecting), then a new QR code every `qrIntervalMs` (`qrcode.updated`), counted;
 * - after `qrLimit` codes, the next rotation gives up as Evolution does: `qrcode.updated` with
 *   "QR code limit reached, please login again" (statusCode 500), `connection.update` refused
 *   (statusReason 428), then the stand-in goes to `close` (a `connection.update` close, 428) and
 *   stops rotating; `connect` starts again at count 1;
 * - a scan (control API or the page's button) connects it: `open`, QR cleared, a
 *   `connection.update` open with `wuid` and `profileName`;
 * - logout: `status.instance`, `logout.instance` and `connection.update` close (401); delete:
 *   logout when connected, then `instance.delete` and `remove.instance`, and it is gone.
 *
 * Webhooks go through webhooks.ts with the instance's configuration. `revision` changes with
 * every visible change (the page polls it). With an instance file (dev profile), every change
 * and delete is written to it (instance_file.ts); `restore` puts the instances read back in place
 * and `resume` starts the QR rotation of those that were connecting.
 */
import type { InstanceFile } from "./instance_file.ts";
import type { StoredMessage } from "./message.ts";
import { newQrCodeText, qrDataUrl } from "./qr.ts";
import { configName, type WebhookDispatcher, type WebhookRow } from "./webhooks.ts";

/** What the control API can change (`PUT /_local/behaviour`). */
export interface Behaviour {
  /** Time between QR codes while connecting. Evolution/WhatsApp: about 45 s by default here. */
  qrIntervalMs: number;
  /** Codes before the instance is refused (Evolution's QRCODE_LIMIT, 30). */
  qrLimit: number;
  /** Base delay of webhook retries (Evolution: 5 s). */
  webhookRetryBaseMs: number;
  /** Tries per webhook delivery (Evolution: 10). */
  webhookMaxAttempts: number;
  /** Timeout of one webhook try (Evolution: 30 s). */
  webhookTimeoutMs: number;
  /**
   * Creations handled at once; past it `POST /instance/create` answers 429 with `retry-after: 1`
   * (a busy server). null: no limit.
   */
  createConcurrency: number | null;
  /** How long a creation takes (a real server takes seconds); 0 by default. */
  createLatencyMs: number;
}

/** The behaviour a fresh stand-in has. */
export const DEFAULT_BEHAVIOUR: Readonly<Behaviour> = {
  qrIntervalMs: 45_000,
  qrLimit: 30,
  webhookRetryBaseMs: 5_000,
  webhookMaxAttempts: 10,
  webhookTimeoutMs: 30_000,
  createConcurrency: null,
  createLatencyMs: 0,
};

/** Evolution's `connection.update` statusReason when the QR limit is reached. */
export const QR_LIMIT_STATUS_REASON = 428;
/** Evolution's statusReason of a logged-out connection. */
export const LOGGED_OUT_STATUS_REASON = 401;

/** An instance's connection state as Evolution reports it. */
export type ConnectionState = "open" | "connecting" | "close";

/** A QR code as Evolution answers it (`GET /instance/connect`, create's `qrcode`). */
export interface QrCode {
  pairingCode: string | null;
  code: string;
  base64: string;
  count: number;
}

/** The settings Evolution keeps per instance. */
export interface InstanceSettings {
  rejectCall: boolean;
  msgCall: string;
  groupsIgnore: boolean;
  alwaysOnline: boolean;
  readMessages: boolean;
  readStatus: boolean;
  syncFullHistory: boolean;
  wavoipToken: string;
}

/** One instance (a phone behind the server). */
export interface Instance {
  id: string;
  name: string;
  /** Its own apikey (`hash`), as given at creation. */
  token: string;
  integration: string;
  number: string | null;
  state: ConnectionState;
  /** True after the QR limit ended the last connection attempt (until the next connect). */
  refused: boolean;
  /** statusReason of the last `connection.update`. */
  statusReason: number | null;
  qr: QrCode | null;
  /** Codes shown in the current connection attempt. */
  qrCount: number;
  wuid: string | null;
  profileName: string | null;
  webhook: WebhookRow | null;
  settings: InstanceSettings;
  createdAt: string;
  updatedAt: string;
  disconnectionReasonCode: number | null;
  disconnectionAt: string | null;
}

interface Runtime {
  /** Changes at each connect, scan, logout: rotations of an older session stop. */
  session: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** Options of {@link EvolutionWorld}. */
export interface WorldOptions {
  webhooks: WebhookDispatcher;
  behaviour: () => Behaviour;
  /** The stand-in's URL (`server_url` of webhooks). */
  serverUrl: () => string;
  log: (line: string) => void;
  /** Where instances and messages are kept across restarts; none: in memory only. */
  file?: InstanceFile | null;
}

/** The instances and what happens to them. */
export class EvolutionWorld {
  #instances = new Map<string, Instance>();
  #runtime = new Map<string, Runtime>();
  #opts: WorldOptions;
  #revision = 0;
  #stopped = false;
  /** Instances read back as connecting, whose rotation {@link resume} starts again. */
  #toResume: Instance[] = [];

  constructor(opts: WorldOptions) {
    this.#opts = opts;
  }

  /** Changes with every visible change of an instance. */
  get revision(): number {
    return this.#revision;
  }

  /** Marks a visible change. */
  touch(inst?: Instance): void {
    this.#revision++;
    if (!inst) return;
    inst.updatedAt = new Date().toISOString();
    this.#opts.file?.save(inst);
  }

  /**
   * Puts instances read back from the instance file in place (before the server answers);
   * those that were connecting are closed until {@link resume} connects them again.
   */
  restore(instances: Instance[]): void {
    for (const inst of instances) {
      inst.qr = null;
      inst.qrCount = 0;
      if (inst.state === "connecting") {
        inst.state = "close";
        this.#toResume.push(inst);
      }
      this.#instances.set(inst.name, inst);
      this.#runtime.set(inst.name, { session: 0 });
    }
    this.touch();
  }

  /** Starts again the QR rotation of the restored instances that were connecting. */
  async resume(): Promise<void> {
    const toResume = this.#toResume;
    this.#toResume = [];
    for (const inst of toResume) {
      if (this.#instances.get(inst.name) === inst) await this.connect(inst);
    }
  }

  /** Keeps a message just stored in the kit's store in the instance file too. */
  keepMessage(message: StoredMessage): void {
    this.#opts.file?.message(message);
  }

  /** Every instance, oldest first. */
  list(): Instance[] {
    return [...this.#instances.values()];
  }

  /** The instance of that name. */
  get(name: string): Instance | undefined {
    return this.#instances.get(name);
  }

  /** Adds an instance (its name must be free); state `close`. */
  add(init: Pick<Instance, "name" | "token" | "integration" | "number" | "settings">): Instance {
    const now = new Date().toISOString();
    const inst: Instance = {
      ...init,
      id: crypto.randomUUID(),
      state: "close",
      refused: false,
      statusReason: null,
      qr: null,
      qrCount: 0,
      wuid: null,
      profileName: null,
      webhook: null,
      createdAt: now,
      updatedAt: now,
      disconnectionReasonCode: null,
      disconnectionAt: null,
    };
    this.#instances.set(inst.name, inst);
    this.#runtime.set(inst.name, { session: 0 });
    this.touch(inst);
    return inst;
  }

  #rt(inst: Instance): Runtime {
    let rt = this.#runtime.get(inst.name);
    if (!rt) this.#runtime.set(inst.name, rt = { session: 0 });
    return rt;
  }

  /** Stops the QR rotation of the current session. */
  #endSession(inst: Instance): void {
    const rt = this.#rt(inst);
    rt.session++;
    clearTimeout(rt.timer);
    rt.timer = undefined;
  }

  /** Sends an event to the instance's webhook when its configuration asks for it. */
  emit(inst: Instance, event: string, data: unknown): void {
    const hook = inst.webhook;
    if (this.#stopped || !hook?.enabled || !hook.events.includes(configName(event))) return;
    if (!/^https?:\/\//.test(hook.url)) return;
    const url = hook.webhookByEvents
      ? `${hook.url}/${configName(event).replace(/_/g, "-").toLowerCase()}`
      : hook.url;
    this.#opts.webhooks.send(url, { ...(hook.headers ?? {}) }, {
      event,
      instance: inst.name,
      data,
      destination: hook.url,
      date_time: new Date().toISOString(),
      ...(inst.wuid ? { sender: inst.wuid } : {}),
      server_url: this.#opts.serverUrl(),
      apikey: inst.token,
    });
  }

  #connectionUpdate(inst: Instance, state: string, statusReason: number, extra = {}): void {
    inst.statusReason = statusReason;
    this.emit(inst, "connection.update", { instance: inst.name, ...extra, state, statusReason });
  }

  /**
   * Starts connecting a closed instance: state `connecting` and its first QR code (resolves
   * once the code exists). An instance already connecting or open is left as it is.
   */
  async connect(inst: Instance): Promise<void> {
    if (inst.state !== "close") return;
    this.#endSession(inst);
    inst.state = "connecting";
    inst.refused = false;
    inst.qrCount = 0;
    inst.qr = null;
    this.touch(inst);
    this.#connectionUpdate(inst, "connecting", 200);
    await this.#rotate(inst, this.#rt(inst).session);
  }

  /** One rotation step: the next code, or the refusal at the limit. */
  async #rotate(inst: Instance, session: number): Promise<void> {
    const rt = this.#rt(inst);
    if (this.#stopped || rt.session !== session || inst.state !== "connecting") return;
    const behaviour = this.#opts.behaviour();
    if (inst.qrCount >= behaviour.qrLimit) return this.#refuse(inst);
    const code = newQrCodeText();
    const base64 = await qrDataUrl(code);
    if (this.#stopped || rt.session !== session || inst.state !== "connecting") return;
    inst.qrCount++;
    inst.qr = { pairingCode: null, code, base64, count: inst.qrCount };
    this.touch(inst);
    this.emit(inst, "qrcode.updated", {
      qrcode: { instance: inst.name, pairingCode: null, code, base64 },
    });
    this.#scheduleRotation(inst, session);
  }

  /** The next code of the session, one `qrIntervalMs` from now. */
  #scheduleRotation(inst: Instance, session: number): void {
    const rt = this.#rt(inst);
    clearTimeout(rt.timer);
    rt.timer = setTimeout(() => {
      this.#rotate(inst, session).catch((error) => this.#fail(inst, error));
    }, this.#opts.behaviour().qrIntervalMs);
  }

  /**
   * The QR interval changed: every instance waiting for its next code gets it one new interval
   * from now (not after the interval it was waiting for).
   */
  rescheduleRotations(): void {
    for (const inst of this.#instances.values()) {
      const rt = this.#runtime.get(inst.name);
      if (rt?.timer !== undefined && inst.state === "connecting") {
        this.#scheduleRotation(inst, rt.session);
      }
    }
  }

  #fail(inst: Instance, error: unknown): void {
    this.#opts.log(JSON.stringify({
      level: "error",
      component: "evolution_stand_in",
      msg: `QR rotation of instance ${inst.name} failed`,
      error: error instanceof Error ? error.message : String(error),
    }));
  }

  #refuse(inst: Instance): void {
    this.#endSession(inst);
    this.emit(inst, "qrcode.updated", {
      message: "QR code limit reached, please login again",
      statusCode: 500,
    });
    this.#connectionUpdate(inst, "refused", QR_LIMIT_STATUS_REASON, {
      wuid: inst.wuid ?? undefined,
      profileName: inst.profileName ?? undefined,
      profilePictureUrl: null,
    });
    inst.state = "close";
    inst.refused = true;
    inst.qr = null;
    inst.qrCount = 0;
    inst.disconnectionReasonCode = QR_LIMIT_STATUS_REASON;
    inst.disconnectionAt = new Date().toISOString();
    this.touch(inst);
    this.#connectionUpdate(inst, "close", QR_LIMIT_STATUS_REASON);
  }

  /** The phone scans the current code: the instance connects. */
  scan(inst: Instance, phone: { number?: string; profileName?: string } = {}): void {
    this.#endSession(inst);
    const digits = (phone.number ?? inst.number ?? fakeNumber(inst.id)).replace(/\D/g, "");
    inst.state = "open";
    inst.refused = false;
    inst.qr = null;
    inst.qrCount = 0;
    inst.wuid = `${digits}@s.whatsapp.net`;
    inst.number = digits;
    inst.profileName = phone.profileName ?? inst.profileName ?? "Local phone";
    this.touch(inst);
    this.#connectionUpdate(inst, "open", 200, {
      wuid: inst.wuid,
      profileName: inst.profileName,
      profilePictureUrl: null,
    });
  }

  /** Logs the phone out (the instance must be connecting or open): state `close`. */
  logout(inst: Instance): void {
    this.#endSession(inst);
    const at = new Date().toISOString();
    this.emit(inst, "status.instance", {
      instance: inst.name,
      status: "closed",
      disconnectionAt: at,
      disconnectionReasonCode: LOGGED_OUT_STATUS_REASON,
      disconnectionObject: null,
    });
    this.emit(inst, "logout.instance", null);
    inst.state = "close";
    inst.refused = false;
    inst.qr = null;
    inst.qrCount = 0;
    inst.disconnectionReasonCode = LOGGED_OUT_STATUS_REASON;
    inst.disconnectionAt = at;
    this.touch(inst);
    this.#connectionUpdate(inst, "close", LOGGED_OUT_STATUS_REASON);
    inst.wuid = null;
  }

  /** Deletes the instance (logging it out first when connecting or open). */
  delete(inst: Instance): void {
    if (inst.state !== "close") this.logout(inst);
    this.emit(inst, "instance.delete", { instanceName: inst.name, instanceId: inst.id });
    this.emit(inst, "remove.instance", null);
    this.#endSession(inst);
    this.#instances.delete(inst.name);
    this.#runtime.delete(inst.name);
    this.#opts.file?.deleted(inst);
    this.touch();
  }

  /** Forgets every instance and stops their rotations. */
  reset(): void {
    for (const inst of this.#instances.values()) this.#endSession(inst);
    this.#instances.clear();
    this.#runtime.clear();
    this.#toResume = [];
    this.touch();
  }

  /** Stops every rotation for good (the stand-in stops). */
  stop(): void {
    this.#stopped = true;
    for (const inst of this.#instances.values()) this.#endSession(inst);
  }
}

/** A stable made-up French mobile number for an instance scanned without one. */
export function fakeNumber(id: string): string {
  const digits = [...id].map((c) => c.charCodeAt(0) % 10).join("").slice(0, 8);
  return `336${digits.padEnd(8, "0")}`;
}
