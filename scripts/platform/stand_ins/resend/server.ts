/**
 * The local stand-in for Resend's email API (https://resend.com/docs/api-reference), on one
 * port: the `resend` SDK works against it through its base URL (`RESEND_BASE_URL`, or
 * `new Resend(key, { baseUrl })`). A module of the stand-in kit (../kit/server.ts), which gives
 * it the control API, faults, the rate limit, idempotency keys, persistence and the page
 * framework; what is Resend's own lives here:
 *
 * - `/emails`, `/emails/batch`, `/emails/{id}`: Resend's endpoints and errors (emails_api.ts),
 *   with API keys as Resend checks them;
 * - the stored item, an email, and the `to` filter of `/_local/emails` (email.ts);
 * - `/` and `/inbox/{id}`: the inbox page (inbox_page.ts).
 */
import { listPageRoutes } from "../kit/page.ts";
import {
  type RunningStandIn,
  type StandInModule,
  type StandInOptions,
  startStandIn,
} from "../kit/server.ts";
import { EMAILS, type StoredEmail } from "./email.ts";
import { authenticate, EMAIL_ROUTES, isEmailsPath, RESEND_ERRORS } from "./emails_api.ts";
import { INBOX } from "./inbox_page.ts";

/** Resend's default rate limit: 5 requests per second per team. */
export const DEFAULT_REQUESTS_PER_SECOND = 5;

/** Options of {@link startResendStandIn}. */
export interface ResendStandInOptions extends Omit<StandInOptions, "requestsPerSecond"> {
  /** Accepted API keys; at least one. */
  apiKeys: string[];
  /** Requests admitted per second and API key. Default 5, as on Resend. */
  requestsPerSecond?: number;
}

/**
 * The Resend stand-in as a kit module, accepting these API keys.
 *
 * @throws {Error} when no key, or an empty one, is given.
 */
export function resendModule(apiKeys: string[]): StandInModule<StoredEmail> {
  if (apiKeys.length === 0 || apiKeys.some((key) => !key)) {
    throw new Error("The Resend stand-in needs at least one non-empty API key");
  }
  const keys = new Set(apiKeys);
  return {
    name: "Resend",
    component: "resend_stand_in",
    items: EMAILS,
    api: {
      owns: isEmailsPath,
      routes: EMAIL_ROUTES,
      errors: RESEND_ERRORS,
      authenticate: (req) => authenticate(keys, req),
    },
    pages: listPageRoutes(INBOX),
  };
}

/**
 * Starts the stand-in; loads `persistPath` first when given.
 *
 * @throws {Error} when the options are invalid, the file cannot be read or the port is taken.
 * @example
 * const resend = await startResendStandIn({ port: 0, apiKeys: ["re_test"] });
 * const client = new Resend("re_test", { baseUrl: resend.url });
 * await resend.stop();
 */
export function startResendStandIn(opts: ResendStandInOptions): Promise<RunningStandIn> {
  const { apiKeys, requestsPerSecond = DEFAULT_REQUESTS_PER_SECOND, ...rest } = opts;
  return startStandIn(resendModule(apiKeys), { ...rest, requestsPerSecond });
}
