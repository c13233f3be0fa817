/**
 * The items a stand-in keeps (Resend's emails, WhatsApp messages, webhook deliveries): in memory
 * and, when a file is given, appended to it as JSON lines and read back at start, so that the
 * dev profile's inbox survives a restart. The item type is the stand-in's; the store only needs
 * an `id` and a `created_at`, and a check that a line read back is one of its items.
 */

/** What every stored item has. */
export interface StoredItem {
  id: string;
  /** ISO 8601 with milliseconds, UTC. */
  created_at: string;
}

/** Options of {@link ItemStore.open}. */
export interface ItemStoreOptions<Item extends StoredItem> {
  /** JSONL file to append to and load from; in memory only when absent. */
  path?: string;
  /** True for a value read back from the file that is one of the items. */
  isItem: (value: unknown) => value is Item;
  /** What the items are called in messages (`email`). */
  singular: string;
  /** Log component (`resend_stand_in`). */
  component: string;
  /** Receives one JSON line per failure (unreadable line, failed write). */
  log: (line: string) => void;
}

/** Filters of {@link ItemStore.list}. */
export interface ListFilter<Item> {
  /** Keeps the items it answers true for. */
  where?: (item: Item) => boolean;
  limit?: number;
}

/** The folder part of a file path. */
function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** In-memory items, oldest first, with optional JSONL persistence. */
export class ItemStore<Item extends StoredItem> {
  #items: Item[] = [];
  #byId = new Map<string, Item>();
  #opts: ItemStoreOptions<Item>;
  #writing: Promise<void> = Promise.resolve();
  #revision = 0;

  private constructor(opts: ItemStoreOptions<Item>) {
    this.#opts = opts;
  }

  /**
   * Opens a store, loading the file's items when it exists (unreadable lines are logged and
   * skipped).
   *
   * @throws {Error} when the file exists but cannot be read.
   * @example
   * const store = await ItemStore.open({ isItem, singular: "email", component: "resend_stand_in", log });
   */
  static async open<Item extends StoredItem>(
    opts: ItemStoreOptions<Item>,
  ): Promise<ItemStore<Item>> {
    const store = new ItemStore(opts);
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
        const item = JSON.parse(line);
        if (!this.#opts.isItem(item)) throw new Error(`not a stored ${this.#opts.singular}`);
        this.#remember(item);
      } catch (error) {
        this.#fail(`Skipped an unreadable line of the ${this.#opts.singular} file`, {
          path,
          line: index + 1,
          error: messageOf(error),
        });
      }
    });
  }

  #fail(msg: string, fields: Record<string, unknown>): void {
    this.#opts.log(
      JSON.stringify({ level: "error", component: this.#opts.component, msg, ...fields }),
    );
  }

  #remember(item: Item): void {
    if (this.#byId.has(item.id)) return;
    this.#items.push(item);
    this.#byId.set(item.id, item);
    this.#revision++;
  }

  /** Changes whenever an item is added or the store is cleared (pages poll it). */
  get revision(): number {
    return this.#revision;
  }

  /** Number of stored items. */
  get size(): number {
    return this.#items.length;
  }

  /** Stores the items and, with a file, resolves once they are written. */
  add(items: Item[]): Promise<void> {
    for (const item of items) this.#remember(item);
    const path = this.#opts.path;
    if (!path || items.length === 0) return Promise.resolve();
    const lines = items.map((item) => JSON.stringify(item) + "\n").join("");
    return this.#enqueueWrite(() => Deno.writeTextFile(path, lines, { append: true }));
  }

  #enqueueWrite(write: () => Promise<void>): Promise<void> {
    const done = this.#writing.then(write).catch((error) => {
      this.#fail(`Could not write the ${this.#opts.singular} file`, {
        path: this.#opts.path,
        error: messageOf(error),
      });
    });
    this.#writing = done;
    return done;
  }

  /** The item with this id. */
  get(id: string): Item | undefined {
    return this.#byId.get(id);
  }

  /** Items newest first, filtered. */
  list(filter: ListFilter<Item> = {}): Item[] {
    const out: Item[] = [];
    for (let i = this.#items.length - 1; i >= 0; i--) {
      const item = this.#items[i];
      if (filter.where && !filter.where(item)) continue;
      out.push(item);
      if (filter.limit !== undefined && out.length >= filter.limit) break;
    }
    return out;
  }

  /** Forgets every item and empties the file; returns how many there were. */
  async clear(): Promise<number> {
    const count = this.#items.length;
    this.#items = [];
    this.#byId.clear();
    this.#revision++;
    const path = this.#opts.path;
    if (path) await this.#enqueueWrite(() => Deno.writeTextFile(path, ""));
    return count;
  }

  /** Resolves once every pending write has finished. */
  flush(): Promise<void> {
    return this.#writing;
  }
}
