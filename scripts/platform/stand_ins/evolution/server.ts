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
 * Instances live in memory only (no dev persistence): a restarted stand-in has none, as an
 * Evolution server whose store was wiped.
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
import { MESSAGES, type StoredMessage } from "./message.ts";
import { whatsappPageRoutes } from "./page.ts";
import { WebhookDispatcher } from "./webhooks.ts";
import { type Behaviour, DEFAULT_BEHAVIOUR, EvolutionWorld } from "./world.ts";

/** Requests per second and key the stand-in admits (Evolution has no limit of its own). */
export const DEFAULT_REQUESTS_PER_SECOND = 10_000;

/** Options of {@link startEvolutionStandIn}. */
export interface EvolutionStandInOptions
  extends Omit<StandInOptions, "requestsPerSecond" | "persistPath"> {
  /** The global API key (`AUTHENTICATION_API_KEY` of Evolution). */
  apiKey: string;
  /** Behaviour at start (and after a reset); defaults: {@link DEFAULT_BEHAVIOUR}. */
  behaviour?: Partial<Behaviour>;
  requestsPerSecond?: number;
}

/** A module and the handles its parts share. */
interface Built {
  module: StandInModule<StoredMessage>;
  setUrl(url: string): void;
}

function build(opts: EvolutionStandInOptions): Built {
  if (!opts.apiKey) throw new Error("The Evolution API stand-in needs a non-empty global API key");
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
  });
  const ctx: ControlContext = {
    world,
    globalKey: opts.apiKey,
    behaviour: () => behaviour,
    notOnWhatsApp: new Set(),
    webhooks,
    setBehaviour(patch) {
      behaviour = { ...behaviour, ...patch };
      return behaviour;
    },
  };
  return {
    setUrl: (url) => (serverUrl = url),
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
      async onReset() {
        world.reset();
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
 * Starts the stand-in.
 *
 * @throws {Error} when the key is empty or the port is taken.
 * @example
 * const evo = await startEvolutionStandIn({ port: 0, apiKey: "evo_test" });
 * await fetch(`${evo.url}/instance/fetchInstances`, { headers: { apikey: "evo_test" } });
 * await evo.stop();
 */
export async function startEvolutionStandIn(
  opts: EvolutionStandInOptions,
): Promise<RunningStandIn> {
  const { apiKey: _, behaviour: __, requestsPerSecond = DEFAULT_REQUESTS_PER_SECOND, ...rest } =
    opts;
  const built = build(opts);
  const running = await startStandIn(built.module, { ...rest, requestsPerSecond });
  built.setUrl(running.url);
  return running;
}
