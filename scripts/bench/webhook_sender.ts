/// <reference lib="deno.worker" />
/**
 * The load of the WhatsApp benchmark's webhook section (scripts/bench/whatsapp.ts), run in a
 * worker thread: `clients` concurrent senders post Evolution's events `from`..`to` to
 * `evolution-webhook`, as Evolution posts them, and the answer times come back in one message.
 */

/** An instance to post events for, with the secret its webhook carries. */
export interface Target {
  instance: string;
  token: string;
  secret: string;
  url: string;
}

/** What the worker is asked to send. */
export interface SenderJob {
  targets: Target[];
  from: number;
  to: number;
  clients: number;
  /** Evolution's `server_url` in the bodies. */
  serverUrl: string;
  /** The `sender` of every body: how the benchmark finds its own events. */
  sender: string;
}

/** Answer times (ms) and how many answers of each status. */
export interface SenderResult {
  times: number[];
  statuses: [string, number][];
}

/** The body Evolution posts for event number `n` to `target` (a mix, each one unique). */
function eventBody(target: Target, n: number, serverUrl: string, sender: string) {
  const common = {
    instance: target.instance,
    destination: target.url,
    date_time: new Date().toISOString(),
    sender,
    server_url: serverUrl,
    apikey: target.token,
  };
  const kind = n % 20;
  if (kind < 16) {
    const from = `336${String(10_000_000 + (n % 5000)).slice(-8)}`;
    return {
      event: "messages.upsert",
      ...common,
      data: {
        key: {
          id: `BENCH${n.toString(16).toUpperCase()}${Date.now()}`,
          remoteJid: `${from}@s.whatsapp.net`,
          fromMe: false,
        },
        pushName: `Customer ${n % 5000}`,
        message: { conversation: `Bench message ${n}` },
        messageType: "conversation",
        messageTimestamp: Math.floor(Date.now() / 1000),
      },
    };
  }
  if (kind < 19) {
    return {
      event: "qrcode.updated",
      ...common,
      data: {
        qrcode: {
          instance: target.instance,
          pairingCode: null,
          code: `2@bench${n},${crypto.randomUUID()}`,
          base64: `data:image/png;base64,iVBORw0KGgo${btoa(String(n))}`,
        },
      },
    };
  }
  return {
    event: "connection.update",
    ...common,
    data: { instance: target.instance, state: "connecting", statusReason: 200 },
  };
}

/** Posts events `from`..`to` with `clients` concurrent senders; answer times and statuses. */
async function postEvents(job: SenderJob): Promise<SenderResult> {
  const { targets, from, to, clients, serverUrl, sender } = job;
  const times: number[] = [];
  const statuses = new Map<string, number>();
  let next = from;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < to) {
      const n = next++;
      const target = targets[n % targets.length];
      const body = JSON.stringify(eventBody(target, n, serverUrl, sender));
      const t0 = performance.now();
      let status: string;
      try {
        const res = await fetch(target.url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-evolution-secret": target.secret },
          body,
        });
        await res.body?.cancel();
        status = String(res.status);
      } catch (error) {
        status = `network: ${(error as Error).message.slice(0, 60)}`;
      }
      times.push(performance.now() - t0);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  }));
  return { times, statuses: [...statuses] };
}

self.onmessage = async (e: MessageEvent<SenderJob>) => {
  self.postMessage(await postEvents(e.data));
};
