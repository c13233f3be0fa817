/**
 * The receiver's page, for people, on the kit's list page (kit/page.ts): `GET /` (or
 * `/deliveries`) lists the deliveries newest first and refreshes itself every 2 seconds: the
 * endpoint, the `webhook-id`, the event type, whether the signature verified (✓, or ✗ and why),
 * whether it was a duplicate, and, folded, the headers and the body. `GET /deliveries/{id}`
 * shows one delivery whole. Everything a sender controls is escaped.
 */
import { escapeHtml, type ListPage, type PageContent, timeElement } from "../kit/page.ts";
import type { StoredDelivery } from "./delivery.ts";

function verdict(delivery: StoredDelivery): string {
  if (delivery.verified) {
    return `<span class="ok">✓ verified</span> (secret ${delivery.secret_index! + 1})`;
  }
  const why = delivery.failure_message ?? delivery.failure ?? "unknown";
  return `<span class="bad">✗ not verified</span>: ${escapeHtml(why)}`;
}

function headerText(delivery: StoredDelivery): string {
  return Object.entries(delivery.headers).map(([name, value]) => `${name}: ${value}`).join("\n");
}

function bodyText(delivery: StoredDelivery): string {
  return delivery.json === null ? delivery.body : JSON.stringify(delivery.json, null, 2);
}

function summary(delivery: StoredDelivery): string {
  const duplicate = delivery.duplicate ? ` · <span class="dup">duplicate</span>` : "";
  return `${verdict(delivery)}${duplicate} · ${escapeHtml(delivery.event_type ?? "(no type)")} · ${
    timeElement(delivery.created_at)
  }`;
}

function title(delivery: StoredDelivery): string {
  return `${delivery.endpoint} · ${delivery.webhook_id ?? "(no webhook-id)"}`;
}

function deliveryPage(delivery: StoredDelivery): PageContent {
  return {
    title: `${title(delivery)} · Local webhook receiver`,
    body: `<p><a href="/">← Deliveries</a></p>
<h1>${escapeHtml(title(delivery))}</h1>
<p class="meta">${summary(delivery)}</p>
<dl>
<dt>Endpoint</dt><dd>${escapeHtml(delivery.path)}</dd>
<dt>webhook-id</dt><dd>${escapeHtml(delivery.webhook_id ?? "")}</dd>
<dt>webhook-timestamp</dt><dd>${escapeHtml(delivery.webhook_timestamp ?? "")}</dd>
<dt>webhook-signature</dt><dd>${escapeHtml(delivery.webhook_signature ?? "")}</dd>
</dl>
<h2>Headers</h2>
<pre>${escapeHtml(headerText(delivery))}</pre>
<h2>Body</h2>
<pre>${escapeHtml(bodyText(delivery))}</pre>
<p class="meta"><a href="/_local/deliveries/${encodeURIComponent(delivery.id)}">As JSON</a></p>`,
  };
}

/** The list of deliveries: the receiver's home page. */
export const DELIVERIES_PAGE: ListPage<StoredDelivery> = {
  name: "deliveries",
  home: true,
  title: "Local webhook receiver",
  intro: "Requests to /hooks/<endpoint>, newest first, with their signature check. " +
    "This page refreshes itself.",
  empty: "No deliveries yet.",
  limit: 200,
  renderEntry: (delivery, href) =>
    `<a href="${href}">${escapeHtml(title(delivery))}</a>
<div class="meta">${summary(delivery)}</div>
<details><summary>Headers and body</summary>
<pre>${escapeHtml(headerText(delivery))}</pre>
<pre>${escapeHtml(bodyText(delivery))}</pre>
</details>`,
  renderItem: deliveryPage,
  notFound: {
    title: "Not found · Local webhook receiver",
    body: `<p><a href="/">← Deliveries</a></p>\n<h1>No such delivery</h1>`,
  },
  style: `
  .ok { color: #2a8a3a; font-weight: 600; } .bad { color: #c0392b; font-weight: 600; }
  .dup { font-weight: 600; }
  details pre { max-height: 20rem; overflow: auto; }
`,
};
