// Where Evolution API posts each instance's events: a public endpoint (verify_jwt = false), each
// call authenticated by the instance's secret header (see _shared/whatsapp/webhook_receiver.ts).
import { serviceClient } from "../_shared/runtime/client.ts";
import { functionEnv } from "../_shared/runtime/env.ts";
import { evolutionWebhook } from "../_shared/whatsapp/webhook_receiver.ts";

Deno.serve(evolutionWebhook(serviceClient(functionEnv())));
