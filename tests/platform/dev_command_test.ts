/**
 * The dev command starts the whole platform, proves the job pipeline with a probe, prints where
 * everything is and how to try the waitlist (the statement it prints brings invitations to the
 * inbox) and WhatsApp provisioning (the seeded doctors' instances in their demo states; the
 * statement it prints signs up a user whose instance appears on the Evolution stand-in) and the
 * workshop's overdue-ticket webhooks (the statements it prints bring a verified delivery to the
 * webhook receiver stand-in), and Ctrl-C (SIGINT) stops every process it started.
 *
 * It runs a dev stack of its own (`PLATFORM_PORT_OFFSET`, folder `.local/dev-<offset>`) on ports
 * chosen so that nothing else can hold them:
 * - above the kernel's ephemeral range (32768–60999 by default). Outgoing connections take their
 *   local port from that range, even-numbered ones on Linux, and hold it up to a minute after
 *   they close (TIME_WAIT); a server cannot bind it meanwhile. The Resend stand-in's port is
 *   even and bound after the stack has opened many connections to Postgres: inside the range
 *   (57324 at the former fixed offset 3000) it now and then failed with AddrInUse, and dev.ts
 *   exited having printed nothing on stdout.
 * - 50 off every stack whose offset is a multiple of 100, and one offset per such run's
 *   `PLATFORM_PORT_OFFSET`, so that test runs at once never share the ports or the folder (a
 *   second `--reset` would delete the first run's running database).
 */
import postgres from "postgres";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { waitFor } from "../_support/wait.ts";
import { portInUse } from "../../scripts/platform/process.ts";
import { resendControl } from "../../scripts/platform/stand_ins/resend/email.ts";
import { evolutionControl } from "../../scripts/platform/stand_ins/evolution/control.ts";
import { webhookReceiverControl } from "../../scripts/platform/stand_ins/webhook_receiver/control.ts";
import { REQUEST_REVIEWS_STATEMENT, REVIEWER } from "../../scripts/demo/shop.ts";

const OFFSET = 6750 + Number(Deno.env.get("PLATFORM_PORT_OFFSET") ?? 0) % 4400;
const API_PORT = 54321 + OFFSET; // 61071 to 65371
const DB_PORT = 54322 + OFFSET;
const INBOX_PORT = 54324 + OFFSET;
const EVOLUTION_PORT = 54325 + OFFSET;
const RECEIVER_PORT = 54326 + OFFSET;

/** What dev.ts prints for the waitlist demo: one statement to paste into psql. */
const CANCEL_STATEMENT = "update appointments set status = 'cancelled' where id = " +
  "(select id from appointments where status = 'confirmed' " +
  "and starts_at > now() + interval '3 hours' order by starts_at limit 1);";
const QUIET_HOURS_OFF =
  "update waitlist_settings set quiet_hours_start = null, quiet_hours_end = null;";
/** What dev.ts prints for the WhatsApp demo: the sign-up, and the query to watch. */
const SIGN_UP_STATEMENT = "insert into auth.users (email, raw_user_meta_data) values " +
  `('user-' || substr(md5(random()::text), 1, 8) || '@example.com', '{"full_name": "Alex Dupont"}');`;
const WATCH_STATEMENT = "select p.full_name, i.instance_name, i.instance_status, i.qr_count, " +
  "i.last_qr_update from evolution_instances i join profiles p on p.id = i.user_id " +
  "order by i.created_at desc limit 5;";
/** What dev.ts prints for the workshop demo: a ticket made overdue, and the check run now. */
const OVERDUE_STATEMENT =
  /\n {7}(update tickets set scheduled_date = now\(\) - interval '1 hour' where id = (\d+);)\n/;
const CHECK_NOW_STATEMENT = "select jobs.call_function('check-overdue', '{}', 'manual');";

/** Pids of the processes whose command line contains `text`. */
async function processesWith(text: string): Promise<Set<string>> {
  const pids = new Set<string>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(text)) pids.add(entry.name);
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Collects a stream's text as it comes; `done` resolves at its end. */
function collect(stream: ReadableStream<Uint8Array>) {
  const sink = { text: "", done: Promise.resolve() };
  const decoder = new TextDecoder();
  sink.done = (async () => {
    for await (const chunk of stream) sink.text += decoder.decode(chunk, { stream: true });
  })();
  return sink;
}

/**
 * `scripts/dev.ts --reset` on the test's ports, its output collected. `stop()` sends SIGINT
 * (once) and waits for the end of the process and its output; a process that has not finished
 * after two minutes is interrupted, so a hung start fails the test instead of blocking it.
 */
function startDev() {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "scripts/dev.ts", "--reset"],
    env: { PLATFORM_PORT_OFFSET: String(OFFSET), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  let interrupted = false;
  const interrupt = () => {
    if (interrupted) return;
    interrupted = true;
    try {
      child.kill("SIGINT");
    } catch {
      // It has already exited.
    }
  };
  const watchdog = setTimeout(interrupt, 120_000);
  const ended = Promise.all([child.status, stdout.done, stderr.done]).then(([status]) => {
    clearTimeout(watchdog);
    return status;
  });
  return {
    get stdout() {
      return stdout.text;
    },
    /** Waits until stdout contains `text`, or the process ended. */
    async waitForOutput(text: string): Promise<void> {
      let finished = false;
      ended.then(() => (finished = true));
      while (!stdout.text.includes(text) && !finished) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(): Promise<Deno.CommandStatus> {
      interrupt();
      return await ended;
    },
    /** What dev.ts printed, for failure messages (its log lines go to stderr). */
    transcript(): string {
      return `--- dev.ts stdout:\n${stdout.text || "(nothing)\n"}` +
        `--- dev.ts stderr (end):\n${stderr.text.slice(-4000) || "(nothing)\n"}`;
    },
  };
}

Deno.test("scripts/dev.ts starts everything, prints the waitlist, WhatsApp, workshop and shop demos, and SIGINT leaves nothing running", async () => {
  for (const port of [API_PORT, DB_PORT, INBOX_PORT, EVOLUTION_PORT, RECEIVER_PORT]) {
    assertEquals(
      await portInUse(port),
      false,
      `port ${port} is already taken (a dev.ts left running by an earlier run?)`,
    );
  }
  const functionsBefore = await processesWith("supabase/functions/job-probe/index.ts");
  const dev = startDev();
  try {
    await dev.waitForOutput(WATCH_STATEMENT);
    const output = dev.stdout;
    assertMatch(output, /Job pipeline check: probe \d+ handled \d+ ms after its insert\./);
    assertMatch(
      output,
      new RegExp(`Functions +http://127\\.0\\.0\\.1:${API_PORT}/functions/v1/<name>`),
    );
    assertMatch(
      output,
      new RegExp(`postgresql://postgres:postgres@127\\.0\\.0\\.1:${DB_PORT}/postgres`),
    );
    assertMatch(output, new RegExp(`Inbox +http://127\\.0\\.0\\.1:${INBOX_PORT}/\n`));
    assert(
      output.includes(`\n       ${CANCEL_STATEMENT}\n`),
      "the cancel statement, on its own line",
    );
    assert(
      output.includes(`Open the inbox, http://127.0.0.1:${INBOX_PORT}/, where the invitations`),
      "the line that says to open the inbox",
    );
    if (output.includes("inside the quiet hours")) {
      assert(output.includes(`\n       ${QUIET_HOURS_OFF}\n`), "how to turn quiet hours off");
    }
    assertMatch(output, new RegExp(`WhatsApp +http://127\\.0\\.0\\.1:${EVOLUTION_PORT}/\n`));
    assert(
      output.includes(
        "WhatsApp check: 3 demo instances on the Evolution stand-in: Dr Claire Martin's open, " +
          "Dr Julien Bernard's connecting, Dr Sophie Leroy's connecting.\n",
      ),
      "the seeded instances in their demo states",
    );
    assert(
      output.includes(`\n       ${SIGN_UP_STATEMENT}\n`),
      "the sign-up statement, on its own line",
    );
    assert(
      output.includes(
        `Open the Evolution stand-in's WhatsApp page, http://127.0.0.1:${EVOLUTION_PORT}/,`,
      ),
      "the line that says to open the stand-in's page",
    );
    assert(output.includes(`\n       ${WATCH_STATEMENT}\n`), "the query to watch, on its own line");
    assertMatch(output, new RegExp(`Webhooks +http://127\\.0\\.0\\.1:${RECEIVER_PORT}/\n`));
    assertMatch(
      output,
      /Workshop check: 10 users, 9 machines, 12 tickets; webhook endpoint [0-9a-f-]{36} created for /,
    );
    const overdue = OVERDUE_STATEMENT.exec(output);
    assert(overdue, "the statement that makes a ticket overdue, on its own line");
    assert(output.includes(`\n       ${CHECK_NOW_STATEMENT}\n`), "the check-now statement");
    assert(
      output.includes(`Open the webhook receiver's page, http://127.0.0.1:${RECEIVER_PORT}/,`),
      "the line that says to open the receiver's page",
    );
    assertMatch(
      output,
      /Shop check: 7 customers, 6 products, 11 orders \(\d+ picked up 7\+ days ago without a request\), 5 carts \(3 expired\); the shop's WhatsApp instance \S+ is open\./,
    );
    assert(
      output.includes(`\n       ${REQUEST_REVIEWS_STATEMENT}\n`),
      "the statement that asks for the reviews now",
    );
    assert(
      output.includes(`type "2" as customer ${REVIEWER.whatsapp_number}`),
      "the line that says to answer a review request on the stand-in's page",
    );
    assert(await portInUse(API_PORT), "the gateway listens");
    assert(await portInUse(DB_PORT), "Postgres listens");
    assert(await portInUse(INBOX_PORT), "the Resend stand-in listens");
    assert(await portInUse(EVOLUTION_PORT), "the Evolution stand-in listens");
    assert(await portInUse(RECEIVER_PORT), "the webhook receiver stand-in listens");

    // The demo as a person tries it: the printed statement, pasted into psql (quiet hours off,
    // whatever the time), brings the invitations to the inbox.
    const sql = postgres(`postgresql://postgres:postgres@127.0.0.1:${DB_PORT}/postgres`, {
      max: 1,
      onnotice: () => {},
    });
    try {
      await sql.unsafe(QUIET_HOURS_OFF);
      await sql.unsafe(CANCEL_STATEMENT);
      const [offer] = await sql`
        select id from public.appointment_slot_offers order by created_at desc limit 1`;
      assert(offer, "the statement opened a slot offer");
      const invited = await waitFor(async () => {
        const rows = await sql`
          select email, status from public.slot_offer_invitations where slot_offer_id = ${offer.id}`;
        return rows.length > 0 && rows.every((r) => r.status === "sent") ? rows : undefined;
      }, { what: `the invitations of demo offer ${offer.id} to be emailed` });
      const data = await resendControl(`http://127.0.0.1:${INBOX_PORT}`).list();
      assertEquals(
        data.flatMap((e) => e.to).sort(),
        invited.map((r) => r.email as string).sort(),
        "the inbox holds one invitation per invited patient",
      );

      // The WhatsApp demo as a person tries it: the printed sign-up, pasted into psql, brings
      // a new instance with its QR code to the stand-in and to evolution_instances.
      const [user] = await sql.unsafe(SIGN_UP_STATEMENT.replace(/;$/, " returning id;"));
      const instance = await waitFor(async () => {
        const [row] = await sql`
          select instance_name, instance_status from public.evolution_instances
          where user_id = ${user.id} and qr_code is not null`;
        return row;
      }, { what: `the WhatsApp instance of the demo sign-up ${user.id}` });
      assertEquals(instance.instance_status, "connecting");
      const held = await evolutionControl(`http://127.0.0.1:${EVOLUTION_PORT}`)
        .instance(instance.instance_name);
      assertEquals(held?.state, "connecting", "the stand-in holds the instance, connecting");

      // The workshop demo as a person tries it: the two printed statements bring one verified
      // ticket.overdue delivery to the receiver.
      await sql.unsafe(overdue[1]);
      await sql.unsafe(CHECK_NOW_STATEMENT);
      const receiver = webhookReceiverControl(`http://127.0.0.1:${RECEIVER_PORT}`);
      const [delivery] = await waitFor(async () => {
        const list = await receiver.list({ endpoint: "automation" });
        return list.length ? list : undefined;
      }, { what: "the delivery of the demo's overdue ticket", timeoutMs: 15_000 });
      assertEquals([delivery.verified, delivery.event_type], [true, "ticket.overdue"]);
      // deno-lint-ignore no-explicit-any
      assertEquals((delivery.json as any).data.ticket.id, Number(overdue[2]));
    } finally {
      await sql.end();
    }

    const status = await dev.stop();
    assertEquals(status.code, 0);
    assertMatch(dev.stdout, /Stopping…/);
    assertEquals(await portInUse(API_PORT), false, "the gateway port is closed");
    assertEquals(await portInUse(DB_PORT), false, "the database port is closed");
    assertEquals(await portInUse(INBOX_PORT), false, "the inbox port is closed");
    assertEquals(await portInUse(EVOLUTION_PORT), false, "the Evolution stand-in's port is closed");
    assertEquals(await portInUse(RECEIVER_PORT), false, "the receiver's port is closed");
    assertEquals((await processesWith(`.local/dev-${OFFSET}/pg`)).size, 0, "no postgres is left");
    const functionsAfter = await processesWith("supabase/functions/job-probe/index.ts");
    const leftover = [...functionsAfter].filter((pid) => !functionsBefore.has(pid));
    assertEquals(leftover, [], "no function process is left");
  } catch (error) {
    await dev.stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n${dev.transcript()}`, { cause: error });
  } finally {
    await dev.stop();
  }
});
