/**
 * The inbox page, for people, on the kit's list page (kit/page.ts): `GET /` (or `/inbox`) lists
 * what was sent, newest first, and refreshes itself every 2 seconds; `GET /inbox/{id}` shows one
 * email as its recipient would see it, the HTML part in a sandboxed iframe whose links open in
 * the top window, then the text part. Each list entry is a link whose text is the subject.
 */
import { escapeHtml, type ListPage, timeElement } from "../kit/page.ts";
import type { StoredEmail } from "./email.ts";

function subjectOf(email: StoredEmail): string {
  return email.subject.trim() ? email.subject : "(no subject)";
}

/** The HTML part with `<base target="_top">`, so that its links open in the top window. */
export function withTopTarget(html: string): string {
  const base = `<base target="_top">`;
  for (const tag of [/<head\b[^>]*>/i, /<html\b[^>]*>/i, /^\s*<!doctype[^>]*>/i]) {
    const match = tag.exec(html);
    if (match) {
      const end = match.index + match[0].length;
      return html.slice(0, end) + base + html.slice(end);
    }
  }
  return base + html;
}

function emailPage(email: StoredEmail): { title: string; body: string } {
  const field = (label: string, values: string[] | null) =>
    values && values.length ? `<dt>${label}</dt><dd>${escapeHtml(values.join(", "))}</dd>` : "";
  const htmlPart = email.html === null ? "" : `
<iframe title="HTML part" sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation" srcdoc="${
    escapeHtml(withTopTarget(email.html))
  }"></iframe>`;
  const textPart = email.text === null
    ? ""
    : `\n<h2>Text part</h2>\n<pre>${escapeHtml(email.text)}</pre>`;
  const scheduled = email.scheduled_at
    ? `<dt>Scheduled</dt><dd>${escapeHtml(email.scheduled_at)}</dd>`
    : "";
  return {
    title: `${subjectOf(email)} · Local inbox`,
    body: `<p><a href="/">← Inbox</a></p>
<h1>${escapeHtml(subjectOf(email))}</h1>
<dl>
${field("From", [email.from])}
${field("To", email.to)}
${field("Cc", email.cc)}
${field("Bcc", email.bcc)}
${field("Reply-To", email.reply_to)}
<dt>Date</dt><dd>${timeElement(email.created_at)}</dd>
${scheduled}
</dl>${htmlPart}${textPart}
<p class="meta"><a href="/_local/emails/${encodeURIComponent(email.id)}">As JSON</a></p>`,
  };
}

/** The inbox: the stand-in's home page. */
export const INBOX: ListPage<StoredEmail> = {
  name: "inbox",
  home: true,
  title: "Local inbox",
  intro: "Emails sent to the local Resend stand-in, newest first. This page refreshes itself.",
  empty: "No emails yet.",
  limit: 200,
  renderEntry: (email, href) =>
    `<a href="${href}">${escapeHtml(subjectOf(email))}</a>
<div class="meta">To ${escapeHtml(email.to.join(", "))} · ${timeElement(email.created_at)}</div>`,
  renderItem: emailPage,
  notFound: {
    title: "Not found · Local inbox",
    body: `<p><a href="/">← Inbox</a></p>\n<h1>No such email</h1>`,
  },
  style: `
  iframe { width: 100%; height: 65vh; border: 1px solid #8886; border-radius: 4px; background: #fff; }
`,
};
