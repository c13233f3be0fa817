/**
 * The probe flow's SQL function, `job_probe_record`, with its typed arguments, its checked
 * result and the error policy of `../runtime/rpc.ts` (P0002, an unknown probe, is permanent).
 */
import { z } from "zod";
import type { DbClient } from "../runtime/client.ts";
import { callRpc } from "../runtime/rpc.ts";

const probeSchema = z.object({ handled_at: z.string().nullable() }).passthrough();

/** Records when the handler of probe `probeId` started; answers when it was handled. */
export function recordProbe(
  client: DbClient,
  probeId: number,
  handlerStartedAt: string,
  context: string,
): Promise<z.infer<typeof probeSchema>> {
  return callRpc(
    client,
    "job_probe_record",
    {
      p_probe_id: probeId,
      p_handler_started_at: handlerStartedAt,
    },
    probeSchema,
    { context },
  );
}
