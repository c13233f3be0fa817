// CONTRACT (to be implemented): executes rows of net.http_request_queue after their
// transaction commits and writes net._http_response; see the pg_net stand-in SQL.
export interface PgNetWorker {
  stop(): Promise<void>;
}
export function startPgNetWorker(
  _opts: { dbUrl: string; log: (line: string) => void },
): Promise<PgNetWorker> {
  return Promise.resolve({ stop: () => Promise.resolve() });
}
