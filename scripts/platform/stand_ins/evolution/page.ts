/**
 * The WhatsApp page of the Evolution API stand-in, for people, on the kit's page framework
 * (kit/page.ts): `GET /` shows each instance as a phone: its state, its live QR code (the PNG
 * Evolution would send, with its count) and a Scan button while connecting, the number and
 * profile once open, and a conversation view of the messages sent and received, with a form to
 * answer as a customer. The page polls `GET /?partial=1` (JSON: the store and instance revisions
 * and each card's live part) every second and swaps the live parts in, so codes rotating and
 * messages arriving show without reload, and what a person is typing is kept. Buttons call the
 * control API (`/_local/instances/{name}/scan` and `/messages`).
 */
import type { ItemStore } from "../kit/item_store.ts";
import {
  escapeHtml,
  htmlResponse,
  type PageRoute,
  renderDocument,
  timeElement,
} from "../kit/page.ts";
import type { StoredMessage } from "./message.ts";
import type { Behaviour, EvolutionWorld, Instance } from "./world.ts";

/** How often the page asks for changes. */
export const WHATSAPP_PAGE_REFRESH_MS = 1000;
/** Messages shown per conversation (the latest). */
export const CONVERSATION_LIMIT = 50;

/** What the page needs. */
export interface PageContext {
  world: EvolutionWorld;
  behaviour: () => Behaviour;
}

function stateLabel(inst: Instance): string {
  if (inst.refused) return "QR limit reached (refused, closed)";
  return { open: "Connected", connecting: "Waiting for a scan", close: "Closed" }[inst.state];
}

function conversation(inst: Instance, store: ItemStore<StoredMessage>): string {
  const messages = store.list({ where: (m) => m.instance === inst.name, limit: CONVERSATION_LIMIT })
    .reverse();
  if (messages.length === 0) return `<p class="empty">No messages yet.</p>`;
  return `<ol class="chat">${
    messages.map((m) =>
      `<li class="${m.direction}"><span class="who">${
        m.direction === "outgoing"
          ? `To +${escapeHtml(m.number)}`
          : `From +${escapeHtml(m.number)}${m.push_name ? ` (${escapeHtml(m.push_name)})` : ""}`
      }</span><span class="text">${escapeHtml(m.text)}</span>${timeElement(m.created_at)}</li>`
    ).join("")
  }</ol>`;
}

/** The part of an instance's card that changes (state, QR code, conversation). */
export function renderLive(
  inst: Instance,
  store: ItemStore<StoredMessage>,
  behaviour: Behaviour,
): string {
  const qr = inst.state === "connecting" && inst.qr
    ? `<figure class="qr"><img src="${
      escapeHtml(inst.qr.base64)
    }" alt="QR code ${inst.qr.count} of ${behaviour.qrLimit} for ${
      escapeHtml(inst.name)
    }" width="200" height="200">
<figcaption>Code ${inst.qr.count} of ${behaviour.qrLimit}; a new one every ${
      Math.round(behaviour.qrIntervalMs / 100) / 10
    } s</figcaption></figure>
<button type="button" class="scan" data-name="${escapeHtml(inst.name)}">Scan</button>`
    : "";
  const phone = inst.state === "open"
    ? `<p class="meta">Phone +${escapeHtml(inst.number ?? "")} · ${
      escapeHtml(inst.profileName ?? "")
    }</p>`
    : "";
  return `<p class="state state-${inst.refused ? "refused" : inst.state}">${
    escapeHtml(stateLabel(inst))
  }</p>${qr}${phone}
<h3>Conversation</h3>${conversation(inst, store)}`;
}

function renderCard(inst: Instance, store: ItemStore<StoredMessage>, behaviour: Behaviour): string {
  const name = escapeHtml(inst.name);
  return `<section class="instance" data-name="${name}">
<h2>${name}</h2>
<div class="live">${renderLive(inst, store, behaviour)}</div>
<form class="reply" data-name="${name}">
<input name="from" value="33612345678" aria-label="Customer number" inputmode="tel" required>
<input name="text" placeholder="Write as the customer…" aria-label="Message" required>
<button type="submit">Send</button>
<p class="error" role="status"></p>
</form>
</section>`;
}

const STYLE = `
  main { max-width: 64rem; }
  #instances { display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr)); gap: 1rem; }
  section.instance { border: 1px solid #8886; border-radius: 1.2rem; padding: 0.8rem 1rem; }
  section.instance h2 { font-size: 1rem; margin: 0 0 0.4rem; overflow-wrap: anywhere; }
  h3 { font-size: 0.9rem; margin: 0.8rem 0 0.3rem; }
  .state { font-weight: 600; margin: 0.2rem 0; }
  .state-open { color: #1a7f37; } .state-refused { color: #c62828; }
  figure.qr { margin: 0.4rem 0; } figure.qr img { background: #fff; image-rendering: pixelated; }
  figcaption { font-size: 0.8rem; opacity: 0.75; }
  ol.chat { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 0.3rem; }
  ol.chat li { max-width: 85%; padding: 0.3rem 0.6rem; border-radius: 0.8rem; display: flex; flex-direction: column; }
  ol.chat li.outgoing { align-self: flex-end; background: #d9fdd3; color: #111; }
  ol.chat li.incoming { align-self: flex-start; background: #eee; color: #111; }
  .who, ol.chat time { font-size: 0.7rem; opacity: 0.7; }
  form.reply { display: flex; flex-wrap: wrap; gap: 0.3rem; margin-top: 0.6rem; }
  form.reply input[name=from] { width: 9rem; } form.reply input[name=text] { flex: 1; min-width: 8rem; }
  .error { color: #c62828; font-size: 0.8rem; width: 100%; margin: 0; }
`;

const SCRIPT = `
<script>
  (() => {
    const box = document.getElementById("instances");
    const refresh = async () => {
      try {
        const res = await fetch("/?partial=1", { cache: "no-store" });
        if (!res.ok) return;
        const page = await res.json();
        if (page.version === box.dataset.version) return;
        box.dataset.version = page.version;
        const names = new Set(page.cards.map((c) => c.name));
        for (const el of [...box.querySelectorAll("section.instance")]) {
          if (!names.has(el.dataset.name)) el.remove();
        }
        box.querySelector(".empty")?.remove();
        for (const card of page.cards) {
          const el = [...box.querySelectorAll("section.instance")].find((s) => s.dataset.name === card.name);
          if (el) el.querySelector(".live").innerHTML = card.live;
          else box.insertAdjacentHTML("beforeend", card.card);
        }
        if (page.cards.length === 0) box.innerHTML = page.empty;
      } catch {}
    };
    const post = async (path, body) => {
      const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return res.ok ? "" : ((await res.json().catch(() => ({}))).error ?? "Failed (" + res.status + ")");
    };
    box.addEventListener("click", async (event) => {
      const button = event.target.closest("button.scan");
      if (!button) return;
      button.disabled = true;
      await post("/_local/instances/" + encodeURIComponent(button.dataset.name) + "/scan", {});
      refresh();
    });
    box.addEventListener("submit", async (event) => {
      const form = event.target.closest("form.reply");
      if (!form) return;
      event.preventDefault();
      const error = await post("/_local/instances/" + encodeURIComponent(form.dataset.name) + "/messages",
        { from: form.from.value, text: form.text.value });
      form.querySelector(".error").textContent = error;
      if (!error) form.text.value = "";
      refresh();
    });
    setInterval(refresh, ${WHATSAPP_PAGE_REFRESH_MS});
  })();
</script>`;

const EMPTY =
  `<p class="empty">No instances yet. Creating one (POST /instance/create) shows it here.</p>`;

/** The page's routes: `GET /` (and `/?partial=1`). */
export function whatsappPageRoutes(ctx: PageContext): PageRoute<StoredMessage>[] {
  return [{
    method: "GET",
    path: "/",
    handle: (_, { url, state }) => {
      const behaviour = ctx.behaviour();
      const instances = ctx.world.list();
      const version = `${ctx.world.revision}.${state.store.revision}`;
      if (url.searchParams.has("partial")) {
        return Response.json({
          version,
          empty: EMPTY,
          cards: instances.map((inst) => ({
            name: inst.name,
            live: renderLive(inst, state.store, behaviour),
            card: renderCard(inst, state.store, behaviour),
          })),
        }, { headers: { "cache-control": "no-store" } });
      }
      const cards = instances.length
        ? instances.map((inst) => renderCard(inst, state.store, behaviour)).join("\n")
        : EMPTY;
      return htmlResponse(
        renderDocument({
          title: "WhatsApp (local Evolution API)",
          body: `<h1>WhatsApp (local Evolution API)</h1>
<p class="meta">Instances of the local Evolution API stand-in, each a phone. Scan a QR code to
connect it; write as a customer to send it a message. This page refreshes itself.</p>
<div id="instances" data-version="${escapeHtml(version)}">
${cards}
</div>`,
        }, { style: STYLE, script: SCRIPT }),
      );
    },
  }];
}
