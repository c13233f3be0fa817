// CONTRACT (to be implemented): serves /functions/v1/<name> and /rest/v1/rpc/<fn> on cfg.apiPort.
import type { PlatformConfig } from "../config.ts";
export interface Gateway {
  stop(): Promise<void>;
}
export function startGateway(
  _opts: { cfg: PlatformConfig; functionEnv: Record<string, string>; log: (line: string) => void },
): Promise<Gateway> {
  return Promise.resolve({ stop: () => Promise.resolve() });
}
