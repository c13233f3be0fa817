/**
 * WhatsApp provisioning end to end, driven the way people drive it, in headless Chromium: a user
 * signs up (a row in auth.users, written by SQL as Supabase Auth would); within seconds the
 * instance appears on the Evolution stand-in's WhatsApp page with its QR code; a person clicks
 * Scan, as a phone would scan the code; `evolution_instances` shows the instance open, its QR
 * cleared and its phone number known.
 *
 * The test removes its user afterwards (the profile, queue entry and instance row go with it by
 * cascade). On failure, a screenshot of the page goes to `.local/e2e/`.
 */
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { screenshot, withPage } from "../_support/browser.ts";
import { testSql } from "../_support/db.ts";
import { waitFor } from "../_support/wait.ts";

const STAND_IN_URL = `${Deno.env.get("EVOLUTION_API_BASE_URL")}/`;
/** How long a step may wait (the instance is provisioned in about a second). */
const STEP_TIMEOUT_MS = 15_000;

Deno.test("a new user's WhatsApp instance shows its QR code on the stand-in's page, and scanning it opens the instance in the database", async () => {
  const sql = testSql();
  const run = crypto.randomUUID().slice(0, 8);
  const fullName = `Browser User ${run}`;
  let userId: string | undefined;
  try {
    // (1) Sign-up: the triggers create the profile and enqueue the instance's creation.
    const [user] = await sql`
      insert into auth.users (email, raw_user_meta_data)
      values (${`browser.${run}@example.com`}, ${sql.json({ full_name: fullName })})
      returning id`;
    const id = userId = user.id as string;
    const [profile] = await sql`select full_name from public.profiles where id = ${id}`;
    assertEquals(profile?.full_name, fullName, "the sign-up created the profile");

    // (2) The worker creates the instance with its webhooks and stores the first code (which
    // may come by webhook before the creation is recorded: wait for both).
    const created = await waitFor(async () => {
      const [row] = await sql`
        select instance_name, instance_status, qr_code, webhook_url
        from public.evolution_instances
        where user_id = ${id} and qr_code is not null and webhook_url is not null`;
      return row;
    }, { timeoutMs: STEP_TIMEOUT_MS, what: `the instance of user ${id} with its first QR` });
    const name = created.instance_name as string;
    assertEquals(name, `user_${id.replaceAll("-", "")}`);
    assertEquals(created.instance_status, "connecting");
    assertMatch(created.qr_code as string, /^data:image\/png;base64,/);
    assertMatch(created.webhook_url as string, /\/functions\/v1\/evolution-webhook$/);

    await withPage(async (page) => {
      page.setDefaultTimeout(STEP_TIMEOUT_MS);
      let step = "page";
      try {
        // (3) The stand-in's page shows the instance, waiting for a scan, with its QR code.
        await page.goto(STAND_IN_URL);
        const card = page.locator("section.instance").filter({
          has: page.getByRole("heading", { name, exact: true }),
        });
        await card.waitFor();
        await card.getByText("Waiting for a scan").waitFor();
        step = "qr";
        const qr = card.getByRole("img", {
          name: new RegExp(`^QR code \\d+ of \\d+ for ${name}$`),
        });
        await qr.waitFor();
        assertMatch(String(await qr.getAttribute("src")), /^data:image\/png;base64,/);

        // (4) Scan, as a phone would: the instance connects.
        step = "scan";
        await card.getByRole("button", { name: "Scan" }).click();

        // (5) Evolution's connection.update reached evolution-webhook: the row is open.
        step = "open";
        const open = await waitFor(async () => {
          const [row] = await sql`
            select instance_status, qr_code, phone_number, connected_at
            from public.evolution_instances where user_id = ${id}`;
          return row?.instance_status === "open" ? row : undefined;
        }, { timeoutMs: STEP_TIMEOUT_MS, what: `instance ${name} to be open in the database` });
        assertEquals(open.qr_code, null, "the code is cleared once connected");
        assertMatch(String(open.phone_number), /^\d{6,}$/);
        assert(open.connected_at instanceof Date, "connected_at is set");

        // (6) The page, which refreshes itself, shows the phone connected, without a QR code.
        step = "page connected";
        await card.getByText("Connected", { exact: true }).waitFor();
        assertEquals(await card.getByRole("img").count(), 0, "no QR code once connected");
      } catch (error) {
        const where = await screenshot(page, `whatsapp-${step.replaceAll(" ", "-")}`);
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`Step "${step}" failed: ${message}\nScreenshot: ${where}`, {
          cause: error,
        });
      }
    });
    const [queue] = await sql`
      select status from public.evolution_instance_creation_queue where user_id = ${id}`;
    assertEquals(queue?.status, "completed", "the queue entry is completed");
  } finally {
    if (userId) await sql`delete from auth.users where id = ${userId}`;
    await sql.end();
  }
});
