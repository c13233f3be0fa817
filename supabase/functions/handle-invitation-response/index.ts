// The page behind the Accept and Decline links of waitlist invitations. Public (no JWT): the
// link token is the credential. See _shared/waitlist/response_handler.ts.
import { functionEnv } from "../_shared/env.ts";
import { serviceClient } from "../_shared/supabase_client.ts";
import { invitationResponseHandler } from "../_shared/waitlist/response_handler.ts";

Deno.serve(invitationResponseHandler(serviceClient(functionEnv())));
