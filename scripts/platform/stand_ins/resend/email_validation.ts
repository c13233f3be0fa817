/**
 * Validates one email of `POST /emails` or `POST /emails/batch` the way Resend does, and
 * normalises it (recipients as arrays, absent optional fields as null).
 *
 * Required: `from`, `to` (a string or 1 to 50 strings), `subject`, and `html` or `text`.
 * Addresses are `email@example.com` or `Name <email@example.com>`. Batch emails may not carry
 * `attachments` or `scheduled_at` (Resend's batch limitations). Templates are not supported by
 * the stand-in: an email with `template` is refused with a message saying so.
 */
import { missingField, resendError, type ResendErrorBody, validationError } from "./errors.ts";

/** Most `to` addresses Resend accepts in one email. */
export const MAX_TO_RECIPIENTS = 50;

/** A tag: ASCII letters, digits, `_` and `-`, at most 256 characters each. */
export interface EmailTag {
  name: string;
  value: string;
}

/** What is kept of an attachment: never its content. */
export interface AttachmentInfo {
  filename: string | null;
  content_type: string | null;
  path: string | null;
  /** Length of the content as sent (base64 text for binary files). */
  content_length: number | null;
}

/** A valid email, normalised. */
export interface EmailInput {
  from: string;
  to: string[];
  cc: string[] | null;
  bcc: string[] | null;
  reply_to: string[] | null;
  subject: string;
  html: string | null;
  text: string | null;
  headers: Record<string, string> | null;
  tags: EmailTag[] | null;
  attachments: AttachmentInfo[] | null;
  scheduled_at: string | null;
}

/** The outcome of {@link validateEmail}. */
export type EmailValidation =
  | { ok: true; email: EmailInput }
  | { ok: false; error: ResendErrorBody };

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const ADDR_SPEC = new RegExp(`^[^\\s@<>()\\[\\],;:"]+@${LABEL}(?:\\.${LABEL})+$`);
const NAME_ADDR = /^(?:"(?:[^"\\]|\\.)*"|[^<>"]*)\s*<([^<>\s]+)>$/;
const TAG_PART = /^[A-Za-z0-9_-]{1,256}$/;

/** The bare address of `email@example.com` or `Name <email@example.com>`; null when invalid. */
export function bareAddress(address: string): string | null {
  const trimmed = address.trim();
  if (ADDR_SPEC.test(trimmed)) return trimmed;
  const match = NAME_ADDR.exec(trimmed);
  return match && ADDR_SPEC.test(match[1]) ? match[1] : null;
}

function invalidAddress(field: string): ResendErrorBody {
  return validationError(
    `Invalid \`${field}\` field. The email address needs to follow the ` +
      "`email@example.com` or `Name <email@example.com>` format.",
  );
}

function mustBe(field: string, type: string): ResendErrorBody {
  return validationError(`The \`${field}\` field must be ${type}.`);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** A string or an array of strings, each a valid address; null when absent. */
function addressList(
  body: Record<string, unknown>,
  field: string,
): string[] | null | ResendErrorBody {
  const value = body[field];
  if (isAbsent(value)) return null;
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== "string")) {
    return mustBe(field, "a `string` or an array of `string`");
  }
  for (const item of list as string[]) {
    if (!bareAddress(item)) return invalidAddress(field);
  }
  return (list as string[]).map((item) => item.trim());
}

function optionalString(body: Record<string, unknown>, field: string): string | null | undefined {
  const value = body[field];
  if (isAbsent(value)) return null;
  return typeof value === "string" ? value : undefined;
}

function readHeaders(value: unknown): Record<string, string> | null | ResendErrorBody {
  if (isAbsent(value)) return null;
  if (typeof value !== "object" || Array.isArray(value)) {
    return mustBe("headers", "an object of `string` values");
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.some(([, v]) => typeof v !== "string")) {
    return mustBe("headers", "an object of `string` values");
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function readTags(value: unknown): EmailTag[] | null | ResendErrorBody {
  if (isAbsent(value)) return null;
  const invalid = validationError(
    "Invalid `tags` field. Each tag needs a `name` and a `value` made of ASCII letters, " +
      "numbers, underscores or dashes, at most 256 characters each.",
  );
  if (!Array.isArray(value)) return invalid;
  const tags: EmailTag[] = [];
  for (const tag of value) {
    if (typeof tag !== "object" || tag === null) return invalid;
    const { name, value: tagValue } = tag as Record<string, unknown>;
    if (typeof name !== "string" || !TAG_PART.test(name)) return invalid;
    if (typeof tagValue !== "string" || !TAG_PART.test(tagValue)) return invalid;
    tags.push({ name, value: tagValue });
  }
  return tags;
}

function readAttachments(value: unknown): AttachmentInfo[] | null | ResendErrorBody {
  if (isAbsent(value)) return null;
  if (!Array.isArray(value)) return mustBe("attachments", "an array");
  const missing = resendError(
    422,
    "invalid_attachment",
    "Attachment must have either a `content` or `path`.",
  );
  const out: AttachmentInfo[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) return missing;
    const { content, path, filename, content_type } = item as Record<string, unknown>;
    const hasContent = typeof content === "string" && content.length > 0;
    const hasPath = typeof path === "string" && path.length > 0;
    if (!hasContent && !hasPath) return missing;
    out.push({
      filename: typeof filename === "string" ? filename : null,
      content_type: typeof content_type === "string" ? content_type : null,
      path: hasPath ? path as string : null,
      content_length: hasContent ? (content as string).length : null,
    });
  }
  return out;
}

function isError(value: unknown): value is ResendErrorBody {
  return typeof value === "object" && value !== null && "statusCode" in value;
}

/** Validates one email; `batch` applies the batch endpoint's limitations. */
export function validateEmail(input: unknown, opts: { batch: boolean }): EmailValidation {
  const fail = (error: ResendErrorBody): EmailValidation => ({ ok: false, error });
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail(validationError("The email must be a JSON object."));
  }
  const body = input as Record<string, unknown>;
  if (!isAbsent(body.template)) {
    return fail(validationError("The local Resend stand-in does not support `template`."));
  }

  for (const field of ["from", "to", "subject"]) {
    const value = body[field];
    if (isAbsent(value) || value === "" || (Array.isArray(value) && value.length === 0)) {
      return fail(missingField(field));
    }
  }
  if (typeof body.from !== "string") return fail(mustBe("from", "a `string`"));
  if (!bareAddress(body.from)) return fail(invalidAddress("from"));
  const to = addressList(body, "to");
  if (isError(to)) return fail(to);
  if (to === null) return fail(missingField("to"));
  if (to.length > MAX_TO_RECIPIENTS) {
    return fail(
      validationError(`The \`to\` field can contain at most ${MAX_TO_RECIPIENTS} addresses.`),
    );
  }
  if (typeof body.subject !== "string") return fail(mustBe("subject", "a `string`"));

  const lists: Record<"cc" | "bcc" | "reply_to", string[] | null> = {
    cc: null,
    bcc: null,
    reply_to: null,
  };
  for (const field of ["cc", "bcc", "reply_to"] as const) {
    const list = addressList(body, field);
    if (isError(list)) return fail(list);
    lists[field] = list;
  }

  const html = optionalString(body, "html");
  if (html === undefined) return fail(mustBe("html", "a `string`"));
  const text = optionalString(body, "text");
  if (text === undefined) return fail(mustBe("text", "a `string`"));
  if (html === null && text === null) {
    return fail(resendError(422, "missing_required_field", "Missing `html` or `text` field."));
  }

  const headers = readHeaders(body.headers);
  if (isError(headers)) return fail(headers);
  const tags = readTags(body.tags);
  if (isError(tags)) return fail(tags);

  const scheduledAt = optionalString(body, "scheduled_at");
  if (scheduledAt === undefined) return fail(mustBe("scheduled_at", "a `string`"));
  if (opts.batch && scheduledAt !== null) {
    return fail(validationError("The `scheduled_at` field is not supported in batch emails."));
  }
  if (opts.batch && !isAbsent(body.attachments)) {
    return fail(validationError("The `attachments` field is not supported in batch emails."));
  }
  const attachments = readAttachments(body.attachments);
  if (isError(attachments)) return fail(attachments);

  return {
    ok: true,
    email: {
      from: body.from.trim(),
      to,
      ...lists,
      subject: body.subject,
      html,
      text,
      headers,
      tags,
      attachments,
      scheduled_at: scheduledAt,
    },
  };
}
