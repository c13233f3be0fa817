// The fallback for QR codes no webhook brought: called by the pg_cron job refresh-qr-codes
// (cron secret) when an instance is due, or by hand (see _shared/whatsapp/qr_refresh.ts).
import {
  EvolutionClient,
  evolutionConfig,
} from "../_shared/providers/whatsapp/evolution_client.ts";
import { serviceClient } from "../_shared/runtime/client.ts";
import { internalEndpoint } from "../_shared/runtime/endpoints.ts";
import { refreshQrCodes } from "../_shared/whatsapp/qr_refresh.ts";

const evolution = new EvolutionClient(evolutionConfig());

Deno.serve(internalEndpoint({
  methods: ["POST", "GET"],
  methodHint: "Call refresh-qr-codes with POST (or GET).",
  failureCode: "qr_refresh_failed",
  handle: async (req, env) => {
    await req.body?.cancel();
    return await refreshQrCodes(serviceClient(env), evolution);
  },
}));
