// The page behind the rating links of review request emails: a public endpoint (no JWT; the link
// token is the credential). See _shared/shop/review_response.ts.
import { serviceClient } from "../_shared/runtime/client.ts";
import { publicEndpoint } from "../_shared/runtime/endpoints.ts";
import { functionEnv } from "../_shared/runtime/env.ts";
import { reviewResponses } from "../_shared/shop/review_response.ts";

Deno.serve(publicEndpoint(reviewResponses(serviceClient(functionEnv()))));
