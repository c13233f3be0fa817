// The webhooks management API for admins (verify_jwt = true): endpoints, secrets, test events,
// messages, replay and recover, routed by Hono (see _shared/webhooks/api.ts).
import { userClient } from "../_shared/runtime/client.ts";
import { functionEnv } from "../_shared/runtime/env.ts";
import { webhooksApi } from "../_shared/webhooks/api.ts";

const env = functionEnv();

Deno.serve(webhooksApi({ asUser: (authorization) => userClient(env, authorization) }).fetch);
