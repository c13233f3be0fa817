/**
 * The dev profile's memory of the Evolution API stand-in: one JSONL file that keeps its instances
 * (token, state, webhook configuration, phone) and their messages across restarts, so that the
 * instances the database lists still answer after `scripts/dev.sh` restarts. QR codes are not
 * kept: a connecting instance starts its rotation again at start (world.ts).
 *
 * Lines, appended in order: `{"kind":"instance","instance":{...}}` (the instance's state at that
 * moment; the last line of a name wins), `{"kind":"deleted","name":...}` (the name is gone) and
 * `{"kind":"message","message":{...}}`. An instance is written when something kept changes (not
 * at each QR code), a few changes of one synchronous step as one line. The file is rewritten
 * with only the current state at open, and while running once superseded lines outnumber the
 * live ones (plus a margin), so it stays about as small as what it keeps. Unreadable lines are
 * logged and skipped.
 */
import { isStoredMessage, type StoredMessage } from "./message.ts";
import type { Instance } from "./world.ts";

/** An instance as the file keeps it: everything but its QR code. */
export type KeptInstance = Omit<Instance, "qr" | "qrCount">;

type Line =
  | { kind: "instance"; instance: KeptInstance }
  | { kind: "deleted"; name: string }
  | { kind: "message"; message: StoredMessage };

/** What {@link InstanceFile.open} read back. */
export interface LoadedState {
  /** The live instances, in the order they were created; QR code cleared. */
  instances: Instance[];
  /** Their messages (and those of instances deleted since), oldest first. */
  messages: StoredMessage[];
}

/** Superseded lines tolerated beyond the live ones before a rewrite. */
const REWRITE_MARGIN = 200;

const STATES = new Set(["open", "connecting", "close"]);

function isKeptInstance(value: unknown): value is KeptInstance {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && typeof v.id === "string" &&
    typeof v.token === "string" && typeof v.state === "string" && STATES.has(v.state) &&
    typeof v.createdAt === "string";
}

function lineOf(value: unknown): Line | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v.kind === "instance" && isKeptInstance(v.instance)) return v as Line;
  if (v.kind === "deleted" && typeof v.name === "string") return v as Line;
  if (v.kind === "message" && isStoredMessage(v.message)) return v as Line;
  return null;
}

function kept(inst: Instance): KeptInstance {
  const { qr: _qr, qrCount: _count, ...rest } = inst;
  return structuredClone(rest);
}

/** What decides whether a new line is needed: the kept state without `updatedAt`. */
function keyOf(inst: KeptInstance): string {
  const { updatedAt: _, ...rest } = inst;
  return JSON.stringify(rest);
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The instance file of one stand-in; writes are queued and never throw (failures are logged). */
export class InstanceFile {
  #path: string;
  #log: (line: string) => void;
  /** Last kept state of each live instance, as written. */
  #live = new Map<string, KeptInstance>();
  #keys = new Map<string, string>();
  #messages: StoredMessage[] = [];
  #superseded = 0;
  #dirty = new Set<Instance>();
  #scheduled = false;
  #closed = false;
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string, log: (line: string) => void) {
    this.#path = path;
    this.#log = log;
  }

  /**
   * Opens the file (creating its folder), reads it back and rewrites it with the current state
   * when it held superseded lines.
   *
   * @throws {Error} when the file exists but cannot be read.
   * @example
   * const { file, loaded } = await InstanceFile.open(".local/dev/evolution_instances.jsonl", log);
   */
  static async open(
    path: string,
    log: (line: string) => void,
  ): Promise<{ file: InstanceFile; loaded: LoadedState }> {
    const file = new InstanceFile(path, log);
    await Deno.mkdir(dirname(path), { recursive: true });
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const seen = new Set<string>();
    let lines = 0;
    text.split("\n").forEach((raw, index) => {
      if (!raw.trim()) return;
      let line: Line | null = null;
      try {
        line = lineOf(JSON.parse(raw));
      } catch {
        // logged below
      }
      if (!line) {
        file.#fail("Skipped an unreadable line of the instance file", { line: index + 1 });
        return;
      }
      if (line.kind === "message") {
        if (!seen.has(line.message.id)) file.#messages.push(line.message);
        seen.add(line.message.id);
        return;
      }
      lines++;
      const name = line.kind === "instance" ? line.instance.name : line.name;
      file.#live.delete(name);
      if (line.kind === "instance") file.#live.set(name, line.instance);
    });
    for (const [name, inst] of file.#live) file.#keys.set(name, keyOf(inst));
    if (lines > file.#live.size) await file.#rewrite();
    const instances = [...file.#live.values()].map((inst): Instance => ({
      ...structuredClone(inst),
      qr: null,
      qrCount: 0,
    }));
    return { file, loaded: { instances, messages: [...file.#messages] } };
  }

  #fail(msg: string, fields: Record<string, unknown>): void {
    this.#log(JSON.stringify({
      level: "error",
      component: "evolution_stand_in",
      msg,
      path: this.#path,
      ...fields,
    }));
  }

  #enqueue(write: () => Promise<void>): Promise<void> {
    const done = this.#writing.then(write).catch((error) => {
      this.#fail("Could not write the instance file", { error: messageOf(error) });
    });
    this.#writing = done;
    return done;
  }

  #append(lines: Line[]): void {
    if (lines.length === 0) return;
    const text = lines.map((line) => JSON.stringify(line) + "\n").join("");
    this.#enqueue(() => Deno.writeTextFile(this.#path, text, { append: true }));
    if (this.#superseded > this.#live.size + REWRITE_MARGIN) this.#enqueue(() => this.#rewrite());
  }

  /** Replaces the file with the current state (a temporary file renamed over it). */
  async #rewrite(): Promise<void> {
    const lines: Line[] = [
      ...[...this.#live.values()].map((instance) => ({ kind: "instance" as const, instance })),
      ...this.#messages.map((message) => ({ kind: "message" as const, message })),
    ];
    const tmp = `${this.#path}.tmp`;
    await Deno.writeTextFile(tmp, lines.map((line) => JSON.stringify(line) + "\n").join(""));
    await Deno.rename(tmp, this.#path);
    this.#superseded = 0;
  }

  /**
   * Notes that the instance changed; its state is written at the end of the current synchronous
   * step, when what the file keeps of it changed.
   */
  save(inst: Instance): void {
    if (this.#closed) return;
    this.#dirty.add(inst);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#writeDirty());
  }

  #writeDirty(): void {
    this.#scheduled = false;
    const lines: Line[] = [];
    for (const inst of this.#dirty) {
      const instance = kept(inst);
      const key = keyOf(instance);
      if (this.#keys.get(inst.name) === key) continue;
      if (this.#keys.has(inst.name)) this.#superseded++;
      this.#keys.set(inst.name, key);
      this.#live.set(inst.name, instance);
      lines.push({ kind: "instance", instance });
    }
    this.#dirty.clear();
    this.#append(lines);
  }

  /** The instance is deleted: it stays gone after a restart. */
  deleted(inst: Instance): void {
    if (this.#closed) return;
    this.#dirty.delete(inst);
    if (!this.#keys.has(inst.name)) return;
    this.#keys.delete(inst.name);
    this.#live.delete(inst.name);
    this.#superseded += 2;
    this.#append([{ kind: "deleted", name: inst.name }]);
  }

  /** Keeps a message (stored in the kit's store by the caller). */
  message(message: StoredMessage): void {
    if (this.#closed) return;
    this.#messages.push(message);
    this.#append([{ kind: "message", message }]);
  }

  /** Forgets everything (the control API's reset) and empties the file. */
  clear(): Promise<void> {
    this.#dirty.clear();
    this.#live.clear();
    this.#keys.clear();
    this.#messages = [];
    this.#superseded = 0;
    return this.#enqueue(() => Deno.writeTextFile(this.#path, ""));
  }

  /** Writes what is pending and stops writing; resolves once the file is complete. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#writeDirty();
      this.#closed = true;
    }
    return this.#writing;
  }
}
