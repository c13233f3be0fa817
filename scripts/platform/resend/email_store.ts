/**
 * The emails the stand-in accepted: kept in memory and, when a file is given, appended to it as
 * JSON lines and read back at start (the dev profile's inbox survives a restart).
 */
import { bareAddress, type EmailInput } from "./email_validation.ts";

/** An accepted email as stored and as the control API returns it. */
export interface StoredEmail extends EmailInput {
  id: string;
  /** ISO 8601 with milliseconds, UTC. */
  created_at: string;
  idempotency_key: string | null;
}

/** Options of {@link EmailStore.open}. */
export interface EmailStoreOptions {
  /** JSONL file to append to and load from; in memory only when absent. */
  path?: string;
  /** Receives one JSON line per failure (unreadable line, failed write). */
  log: (line: string) => void;
}

/** Filters of {@link EmailStore.list}. */
export interface ListFilter {
  /** Keeps emails with this address among `to`, `cc` or `bcc` (case-insensitive). */
  to?: string;
  limit?: number;
}

/** The folder part of a file path. */
function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function isStoredEmail(value: unknown): value is StoredEmail {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "string" && typeof v.created_at === "string" &&
    typeof v.from === "string" && Array.isArray(v.to) && typeof v.subject === "string";
}

/** In-memory emails, oldest first, with optional JSONL persistence. */
export class EmailStore {
  #emails: StoredEmail[] = [];
  #byId = new Map<string, StoredEmail>();
  #path?: string;
  #log: (line: string) => void;
  #writing: Promise<void> = Promise.resolve();
  #revision = 0;

  private constructor(opts: EmailStoreOptions) {
    this.#path = opts.path;
    this.#log = opts.log;
  }

  /** Opens a store, loading the file's emails when it exists. */
  static async open(opts: EmailStoreOptions): Promise<EmailStore> {
    const store = new EmailStore(opts);
    if (opts.path) await store.#load(opts.path);
    return store;
  }

  async #load(path: string): Promise<void> {
    await Deno.mkdir(dirname(path), { recursive: true });
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    text.split("\n").forEach((line, index) => {
      if (!line.trim()) return;
      try {
        const email = JSON.parse(line);
        if (!isStoredEmail(email)) throw new Error("not an email");
        this.#remember(email);
      } catch (error) {
        this.#fail("Skipped an unreadable line of the email file", {
          path,
          line: index + 1,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
  }

  #fail(msg: string, fields: Record<string, unknown>): void {
    this.#log(JSON.stringify({ level: "error", component: "resend_stand_in", msg, ...fields }));
  }

  #remember(email: StoredEmail): void {
    if (this.#byId.has(email.id)) return;
    this.#emails.push(email);
    this.#byId.set(email.id, email);
    this.#revision++;
  }

  /** Changes whenever an email is added or the store is cleared (the inbox polls it). */
  get revision(): number {
    return this.#revision;
  }

  /** Number of stored emails. */
  get size(): number {
    return this.#emails.length;
  }

  /** Stores the emails and, with a file, resolves once they are written. */
  add(emails: StoredEmail[]): Promise<void> {
    for (const email of emails) this.#remember(email);
    const path = this.#path;
    if (!path || emails.length === 0) return Promise.resolve();
    const lines = emails.map((email) => JSON.stringify(email) + "\n").join("");
    return this.#enqueueWrite(() => Deno.writeTextFile(path, lines, { append: true }));
  }

  #enqueueWrite(write: () => Promise<void>): Promise<void> {
    const done = this.#writing.then(write).catch((error) => {
      this.#fail("Could not write the email file", {
        path: this.#path,
        error: error instanceof Error ? error.message : String(error),
      });
    });
    this.#writing = done;
    return done;
  }

  /** The email with this id. */
  get(id: string): StoredEmail | undefined {
    return this.#byId.get(id);
  }

  /** Emails newest first, filtered. */
  list(filter: ListFilter = {}): StoredEmail[] {
    const wanted = filter.to ? (bareAddress(filter.to) ?? filter.to).toLowerCase() : null;
    const out: StoredEmail[] = [];
    for (let i = this.#emails.length - 1; i >= 0; i--) {
      const email = this.#emails[i];
      if (wanted && !recipientsOf(email).includes(wanted)) continue;
      out.push(email);
      if (filter.limit !== undefined && out.length >= filter.limit) break;
    }
    return out;
  }

  /** Forgets every email and empties the file; returns how many there were. */
  async clear(): Promise<number> {
    const count = this.#emails.length;
    this.#emails = [];
    this.#byId.clear();
    this.#revision++;
    const path = this.#path;
    if (path) await this.#enqueueWrite(() => Deno.writeTextFile(path, ""));
    return count;
  }

  /** Resolves once every pending write has finished. */
  flush(): Promise<void> {
    return this.#writing;
  }
}

/** Bare, lower-cased addresses of every recipient (`to`, `cc`, `bcc`). */
function recipientsOf(email: StoredEmail): string[] {
  return [...email.to, ...(email.cc ?? []), ...(email.bcc ?? [])]
    .map((address) => (bareAddress(address) ?? address).toLowerCase());
}
