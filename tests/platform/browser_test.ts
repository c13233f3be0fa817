/**
 * Browser tests can run here: headless Chromium (Debian's package) driven by playwright-core
 * opens a page served by a local `Deno.serve`, fills its form and submits it.
 */
import type { Browser } from "playwright-core";
import { assert, assertEquals, assertRejects } from "../_support/assert.ts";
import { withBrowser, withPage } from "../_support/browser.ts";

interface Submission {
  contentType: string | null;
  fields: Record<string, string>;
}

const FORM_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Book a slot</title></head>
<body>
  <h1>Book a slot</h1>
  <form method="post" action="/book">
    <label>Name <input name="name" required></label>
    <label>Email <input name="email" type="email" required></label>
    <label>Slot
      <select name="slot">
        <option value="09:00">09:00</option>
        <option value="10:30">10:30</option>
      </select>
    </label>
    <label><input type="checkbox" name="reminder" value="yes"> Remind me</label>
    <button type="submit">Book</button>
  </form>
</body>
</html>`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A server on a free port with the form at `/`; it records each POST to `/book`. */
function startFormServer() {
  const submissions: Submission[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/") {
      return new Response(FORM_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (req.method === "POST" && url.pathname === "/book") {
      const fields = Object.fromEntries(new URLSearchParams(await req.text()));
      submissions.push({ contentType: req.headers.get("content-type"), fields });
      const body = `<!doctype html><title>Booked</title>
        <h1>Booked: ${escapeHtml(fields.name ?? "")} at ${escapeHtml(fields.slot ?? "")}</h1>`;
      return new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    submissions,
    close: () => server.shutdown(),
  };
}

Deno.test(
  "a form filled and submitted in headless Chromium reaches the server as a POST and shows its answer",
  async () => {
    const server = startFormServer();
    try {
      await withPage(async (page) => {
        await page.goto(server.url + "/");
        assertEquals(await page.title(), "Book a slot");
        await page.getByLabel("Name").fill("Ada Lovelace");
        await page.getByLabel("Email").fill("ada@example.com");
        await page.getByLabel("Slot").selectOption("10:30");
        await page.getByLabel("Remind me").check();
        await page.getByRole("button", { name: "Book" }).click();
        await page.waitForURL(server.url + "/book");
        assertEquals(await page.locator("h1").textContent(), "Booked: Ada Lovelace at 10:30");
      });
      assertEquals(server.submissions, [{
        contentType: "application/x-www-form-urlencoded",
        fields: {
          name: "Ada Lovelace",
          email: "ada@example.com",
          slot: "10:30",
          reminder: "yes",
        },
      }]);
    } finally {
      await server.close();
    }
  },
);

Deno.test(
  "withBrowser closes the browser when the test body throws, and passes the error on",
  async () => {
    let opened: Browser | undefined;
    const error = await assertRejects(() =>
      withBrowser(async (browser) => {
        opened = browser;
        const page = await browser.newPage();
        await page.setContent("<p>about to fail</p>");
        throw new Error("the test body failed");
      })
    );
    assertEquals(error.message, "the test body failed");
    assert(opened, "the browser was launched");
    assertEquals(opened.isConnected(), false);
  },
);
