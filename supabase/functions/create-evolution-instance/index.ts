// The app's WhatsApp settings for a signed-in user (verify_jwt = true): GET the state and QR
// code of one's own instance, POST an action on it (see _shared/whatsapp/settings.ts).
import {
  EvolutionClient,
  evolutionConfig,
} from "../_shared/providers/whatsapp/evolution_client.ts";
import { serviceClient, userClient } from "../_shared/runtime/client.ts";
import { functionEnv } from "../_shared/runtime/env.ts";
import { whatsappSettings } from "../_shared/whatsapp/settings.ts";

const env = functionEnv();
const config = evolutionConfig();

Deno.serve(whatsappSettings({
  service: serviceClient(env),
  asUser: (authorization) => userClient(env, authorization),
  evolution: new EvolutionClient(config),
  webhookUrl: config.webhookUrl,
}));
