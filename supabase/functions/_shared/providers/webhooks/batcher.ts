/**
 * Micro-batching: many concurrent callers each ask for one item (`add`), and the batcher makes
 * one call for all the items that came in together (`run(items)`, whose answer has one result
 * per item, in order). A call starts once the current turn of the event loop is over (plus
 * `lingerMs`), so every job the runner started at once lands in the same call; while
 * `maxInFlight` calls are under way, new items wait and go together in the next one. A failed
 * call rejects each of its callers with the same error.
 *
 * The delivery engine batches its two SQL functions with it: a hundred deliveries in flight
 * cost two database round trips per wave, not two hundred.
 *
 * @example
 * const squares = new Batcher<number, number>((xs) => Promise.resolve(xs.map((x) => x * x)));
 * const [a, b] = await Promise.all([squares.add(2), squares.add(3)]); // one call: [2, 3]
 */

/** Options of a {@link Batcher}. */
export interface BatcherOptions {
  /** Most items in one call (default 500). */
  maxBatch?: number;
  /** Calls under way at once (default 2). */
  maxInFlight?: number;
  /** Extra wait before a call starts, in milliseconds, to gather more items (default 0). */
  lingerMs?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

/** Gathers concurrent `add`s into calls of `run`; see the module's description. */
export class Batcher<I, O> {
  readonly #run: (items: I[]) => Promise<O[]>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #lingerMs: number;
  #waiting: Waiting<I, O>[] = [];
  #inFlight = 0;
  #scheduled = false;
  /** Calls made so far (for tests and metrics). */
  calls = 0;

  /** @param run makes one call for `items`; answers one result per item, in order. */
  constructor(run: (items: I[]) => Promise<O[]>, opts: BatcherOptions = {}) {
    this.#run = run;
    this.#maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.#maxInFlight = Math.max(1, opts.maxInFlight ?? 2);
    this.#lingerMs = Math.max(0, opts.lingerMs ?? 0);
  }

  /** Adds one item to the next call; resolves with its result. */
  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Starts a call after this turn of the event loop, unless one is planned or none may start. */
  #schedule() {
    if (this.#scheduled || this.#waiting.length === 0 || this.#inFlight >= this.#maxInFlight) {
      return;
    }
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.#flush();
    }, this.#lingerMs);
  }

  #flush() {
    while (this.#waiting.length > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      this.#inFlight++;
      this.calls++;
      this.#call(batch).finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
    }
  }

  async #call(batch: Waiting<I, O>[]) {
    try {
      const results = await this.#run(batch.map((w) => w.item));
      if (results.length !== batch.length) {
        throw new Error(
          `A batched call answered ${results.length} results for ${batch.length} items`,
        );
      }
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }
}
