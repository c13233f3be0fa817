// The page behind the Accept and Decline links of waitlist invitations: a public endpoint (no
// JWT; the link token is the credential). See _shared/waitlist/response_handler.ts.
import { serviceClient } from "../_shared/runtime/client.ts";
import { publicEndpoint } from "../_shared/runtime/endpoints.ts";
import { functionEnv } from "../_shared/runtime/env.ts";
import { invitationResponses } from "../_shared/waitlist/response_handler.ts";

Deno.serve(publicEndpoint(invitationResponses(serviceClient(functionEnv()))));
