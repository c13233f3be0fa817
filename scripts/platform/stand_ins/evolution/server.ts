/**
 * The local stand-in for the Evolution API v2 (the WhatsApp server), on one port: the
 * project's Evolution client works against it through `EVOLUTION_API_BASE_URL` with the global
 * key `EVOLUTION_API_KEY` in the `apikey` header. A module of the stand-in kit
 * (../kit/server.ts), which gives it faults, counters, the control API's common routes and the
 * page framework; what is Evolution's own lives here:
 *
 * - the instance, webhook and message endpoints, guards and errors (api.ts, errors.ts);
 * - the phones behind the instances: QR rotation, scans, logout, delete (world.ts, qr.ts);
 * - webhook deliveries with Evolution's body and retry rules, and their log (webhooks.ts);
 * - the stored item, a text message (message.ts), and its own control routes
 *   (control_routes.ts; control.ts is the typed client);
 * - `/`: the WhatsApp page (page.ts).
 *
 * With `persistPath` (the dev profile's `evolution_instances.jsonl`), instances (token, state,
 * webhook configuration, phone) and their messages are kept in that file and read back at start
 * (instance_file.ts): a restarted stand-in still knows the instances the database lists, those
 * that were open are open, deleted ones stay gone, and those that were connecting start a new QR
 * rotation. Without it (tests), everything lives in memory. Webhook deliveries, behaviour changes
 * and QR codes are never kept.
 */
import {
  type RunningStandIn,
  type StandInModule,
  type StandInOptions,
  startStandIn,
} from "../kit/server.ts";
import { callerKey, evolutionRoutes, isEvolutionPath } from "./api.ts";
import { type ControlContext, evolutionControlRoutes } from "./control_routes.ts";
import { EVOLUTION_ERRORS } from "./errors.ts";
import { InstanceFile, type LoadedState } from "./instance_file.ts";
import { MESSAGES, type StoredMessage } from "./message.ts";
import { whatsappPageRoutes } from "./page.ts";
import { WebhookDispatcher } from "./webhooks.ts";
import { type Behaviour, DEFAULT_BEHAVIOUR, EvolutionWorld } from "./world.ts";

/** Requests per second and key the stand-in admits (Evolution has no limit of its own). */
export const DEFAULT_REQUESTS_PER_SECOND = 10_000;

/** Options of {@link startEvolutionStandIn}. */
export interface EvolutionStandInOptions extends Omit<StandInOptions, "requestsPerSecond"> {
  /** The global API key (`AUTHENTICATION_API_KEY` of Evolution). */
  apiKey: string;
  /**
   * JSONL file keeping the instances and their messages across restarts (read back at start);
   * in memory only when absent.
   */
  persistPath?: string;
  /** Behaviour at start (and after a reset); defaults: {@link DEFAULT_BEHAVIOUR}. */
  behaviour?: Partial<Behaviour>;
  requestsPerSecond?: number;
}

/** A module and the handles its parts share. */
interface Built {
  module: StandInModule<StoredMessage>;
  setUrl(url: string): void;
  world: EvolutionWorld;
}

function build(
  opts: EvolutionStandInOptions,
  kept: { file: InstanceFile; loaded: LoadedState } | null,
): Built {
  const initial: Behaviour = { ...DEFAULT_BEHAVIOUR, ...opts.behaviour };
  let behaviour: Behaviour = { ...initial };
  let serverUrl = "";
  const log = opts.log ?? ((line: string) => console.error(line));
  const webhooks = new WebhookDispatcher(() => ({
    maxAttempts: behaviour.webhookMaxAttempts,
    baseDelayMs: behaviour.webhookRetryBaseMs,
    timeoutMs: behaviour.webhookTimeoutMs,
  }), () => world.touch());
  const world: EvolutionWorld = new EvolutionWorld({
    webhooks,
    behaviour: () => behaviour,
    serverUrl: () => serverUrl,
    log,
    file: kept?.file ?? null,
  });
  if (kept) world.restore(kept.loaded.instances);
  const ctx: ControlContext = {
    world,
    globalKey: opts.apiKey,
    behaviour: () => behaviour,
    notOnWhatsApp: new Set(),
    webhooks,
    setBehaviour(patch) {
      const interval = behaviour.qrIntervalMs;
      behaviour = { ...behaviour, ...patch };
      if (behaviour.qrIntervalMs !== interval) world.rescheduleRotations();
      return behaviour;
    },
  };
  return {
    setUrl: (url) => (serverUrl = url),
    world,
    module: {
      name: "Evolution API",
      component: "evolution_stand_in",
      items: MESSAGES,
      api: {
        owns: isEvolutionPath,
        routes: evolutionRoutes(ctx),
        errors: EVOLUTION_ERRORS,
        authenticate: callerKey,
      },
      pages: whatsappPageRoutes(ctx),
      control: evolutionControlRoutes(ctx),
      async onStart(state) {
        if (kept) await state.store.add(kept.loaded.messages);
      },
      async onReset() {
        world.reset();
        await kept?.file.clear();
        await webhooks.reset();
        ctx.notOnWhatsApp.clear();
        behaviour = { ...initial };
      },
      async onStop() {
        world.stop();
        await webhooks.stop();
      },
    },
  };
}

/**
 * Starts the stand-in; with `persistPath`, reads the instances and messages kept there first and
 * starts again the QR rotation of those that were connecting.
 *
 * @throws {Error} when the key is empty, the file cannot be read or the port is taken.
 * @example
 * const evo = await startEvolutionStandIn({ port: 0, apiKey: "evo_test" });
 * await fetch(`${evo.url}/instance/fetchInstances`, { headers: { apikey: "evo_test" } });
 * await evo.stop();
 */
export async function startEvolutionStandIn(
  opts: EvolutionStandInOptions,
): Promise<RunningStandIn> {
  const {
    apiKey,
    behaviour: _,
    persistPath,
    requestsPerSecond = DEFAULT_REQUESTS_PER_SECOND,
    ...rest
  } = opts;
  if (!apiKey) throw new Error("The Evolution API stand-in needs a non-empty global API key");
  const log = opts.log ?? ((line: string) => console.error(line));
  const kept = persistPath ? await InstanceFile.open(persistPath, log) : null;
  const built = build(opts, kept);
  const running = await startStandIn(built.module, { ...rest, requestsPerSecond });
  built.setUrl(running.url);
  await built.world.resume();
  let stopped: Promise<void> | null = null;
  return {
    ...running,
    stop() {
      stopped ??= (async () => {
        await running.stop();
        await kept?.file.close();
      })();
      return stopped;
    },
  };
}
