/**
 * The inbox page, for people: `GET /` (or `/inbox`) lists what was sent, newest first, and
 * refreshes itself every 2 seconds; `GET /inbox/{id}` shows one email as its recipient would
 * see it, the HTML part in a sandboxed iframe whose links open in the top window.
 *
 * Self-contained (no external assets), readable on a phone, every value escaped. Each list
 * entry is a link whose text is the subject.
 */
import type { StoredEmail } from "./email_store.ts";

/** How many emails the list shows. */
export const INBOX_LIST_LIMIT = 200;
/** How often the list page checks for new emails. */
export const INBOX_REFRESH_MS = 2000;
/** Response header carrying the store's revision, for the list's refresh script. */
export const INBOX_VERSION_HEADER = "x-inbox-version";

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** `2026-11-21 14:03:12 UTC` from an ISO timestamp. */
function displayTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

function subjectOf(email: StoredEmail): string {
  return email.subject.trim() ? email.subject : "(no subject)";
}

const STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
  body { margin: 0; }
  main { max-width: 48rem; margin: 0 auto; padding: 1rem; }
  h1 { font-size: 1.3rem; margin: 0.5rem 0 1rem; overflow-wrap: anywhere; }
  ul.emails { list-style: none; margin: 0; padding: 0; }
  ul.emails li { padding: 0.7rem 0; border-bottom: 1px solid #8884; }
  ul.emails a { font-weight: 600; overflow-wrap: anywhere; }
  .meta { font-size: 0.85rem; opacity: 0.75; overflow-wrap: anywhere; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 0.8rem; margin: 0 0 1rem; }
  dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
  iframe { width: 100%; height: 65vh; border: 1px solid #8886; border-radius: 4px; background: #fff; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0.8rem; border: 1px solid #8886; border-radius: 4px; }
  .empty { opacity: 0.75; }
`;

function page(title: string, body: string, script = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>${script}
</body>
</html>
`;
}

/** The `<li>` entries of the list (also what the refresh script fetches). */
export function renderInboxItems(emails: StoredEmail[]): string {
  if (emails.length === 0) return `<li class="empty">No emails yet.</li>`;
  return emails.map((email) =>
    `<li><a href="/inbox/${encodeURIComponent(email.id)}">${escapeHtml(subjectOf(email))}</a>
<div class="meta">To ${escapeHtml(email.to.join(", "))} · <time datetime="${
      escapeHtml(email.created_at)
    }">${escapeHtml(displayTime(email.created_at))}</time></div></li>`
  ).join("\n");
}

/** The list page; `version` is the store revision the refresh script compares against. */
export function renderInboxList(emails: StoredEmail[], version: number): string {
  const script = `
<script>
  (() => {
    const list = document.getElementById("emails");
    setInterval(async () => {
      try {
        const res = await fetch("/inbox?partial=1", { cache: "no-store" });
        const version = res.headers.get("${INBOX_VERSION_HEADER}");
        if (!res.ok || version === list.dataset.version) return;
        list.innerHTML = await res.text();
        list.dataset.version = version;
      } catch {}
    }, ${INBOX_REFRESH_MS});
  })();
</script>`;
  return page(
    "Local inbox",
    `<h1>Local inbox</h1>
<p class="meta">Emails sent to the local Resend stand-in, newest first. This page refreshes itself.</p>
<ul class="emails" id="emails" data-version="${version}">
${renderInboxItems(emails)}
</ul>`,
    script,
  );
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

/** One email as its recipient would see it. */
export function renderEmailPage(email: StoredEmail): string {
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
  return page(
    `${subjectOf(email)} · Local inbox`,
    `<p><a href="/">← Inbox</a></p>
<h1>${escapeHtml(subjectOf(email))}</h1>
<dl>
${field("From", [email.from])}
${field("To", email.to)}
${field("Cc", email.cc)}
${field("Bcc", email.bcc)}
${field("Reply-To", email.reply_to)}
<dt>Date</dt><dd><time datetime="${escapeHtml(email.created_at)}">${
      escapeHtml(displayTime(email.created_at))
    }</time></dd>
${scheduled}
</dl>${htmlPart}${textPart}
<p class="meta"><a href="/_local/emails/${encodeURIComponent(email.id)}">As JSON</a></p>`,
  );
}

/** The page for an unknown email id. */
export function renderNotFound(): string {
  return page(
    "Not found · Local inbox",
    `<p><a href="/">← Inbox</a></p>\n<h1>No such email</h1>`,
  );
}
