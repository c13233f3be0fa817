/**
 * Headless Chromium for browser tests: Debian's `chromium` package (installed by
 * scripts/bootstrap.sh) driven by `playwright-core`. Playwright's own browser builds are never
 * downloaded (our machines reach no host that serves them).
 *
 * ```ts
 * Deno.test("the form posts its fields", async () => {
 *   await withPage(async (page) => {
 *     await page.goto(url);
 *     await page.getByLabel("Name").fill("Ada");
 *     await page.getByRole("button", { name: "Send" }).click();
 *   });
 * });
 * ```
 *
 * Deno's test sanitizers stay on: playwright-core runs on Deno's Node compatibility layer, and a
 * browser closed inside the test (as these helpers do) leaves no op or resource behind.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { PROJECT_ROOT } from "../../scripts/platform/config.ts";

/**
 * Where Chromium is looked for: `CHROMIUM_PATH` when set, otherwise Debian's binary. The real
 * binary comes before Debian's `/usr/bin/chromium` launcher script, which only adds the flags of
 * `/etc/chromium.d` (extensions, GPU rasterization) and a shell in between.
 */
const CANDIDATES = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

/**
 * Flags for a container or CI machine. playwright-core adds its own automation defaults
 * (`--headless`, a throwaway profile, `--disable-extensions`, ... and today also most of these);
 * they are stated here so that they hold whatever a later playwright-core changes.
 *
 * Not `--disable-crashpad-for-testing`, although it would spare the two crash-report daemons each
 * launch starts: with it Chromium's network service crash-loops ("Crashing due to FD ownership
 * violation") and every navigation fails with net::ERR_ABORTED.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  // We run as root, where Chromium refuses to start with its sandbox.
  "--no-sandbox",
  // No GPU here: do not probe for one (rendering is done in software).
  "--disable-gpu",
  // Docker's /dev/shm is 64 MB, too small for Chromium's shared memory: use /tmp instead.
  "--disable-dev-shm-usage",
  // No update checks, field trials or first-run pages: nothing but what the test loads.
  "--disable-background-networking",
  "--no-first-run",
  "--no-default-browser-check",
];

/** How long `browser.close()` may take before the helper kills what is left. */
const CLOSE_TIMEOUT_MS = 10_000;

/** The path of the Chromium executable, or an error that says how to get one. */
export async function chromiumPath(): Promise<string> {
  const configured = Deno.env.get("CHROMIUM_PATH");
  for (const path of configured ? [configured] : CANDIDATES) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not there: try the next one
    }
  }
  const where = configured ? `CHROMIUM_PATH=${configured}` : CANDIDATES.join(" or ");
  throw new Error(
    `Chromium not found (${where}): run scripts/bootstrap.sh, which installs Debian's chromium ` +
      "package, or point CHROMIUM_PATH at a Chromium executable",
  );
}

/**
 * Marks each launched browser's processes with an environment variable (every Chromium child
 * inherits it), so {@link closeBrowser} can find and kill any that survive.
 */
const MARKER = "DENO_TEST_BROWSER_ID";
const markers = new WeakMap<Browser, string>();

/**
 * Launches headless Chromium with {@link CHROMIUM_ARGS}. The caller must close it with
 * {@link closeBrowser} (or use {@link withBrowser}, which does).
 */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = await chromiumPath();
  const id = crypto.randomUUID();
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    env: { ...Deno.env.toObject(), [MARKER]: id },
    timeout: 30_000,
  });
  markers.set(browser, id);
  return browser;
}

/**
 * Closes a browser from {@link launchBrowser} and makes sure none of its processes survive:
 * when `close()` fails or takes longer than 10 s, what is left is killed.
 */
export async function closeBrowser(browser: Browser): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      browser.close(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`browser.close() took over ${CLOSE_TIMEOUT_MS} ms`)),
          CLOSE_TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    const id = markers.get(browser);
    if (id) await killMarked(id);
  }
}

/** Sends SIGKILL to every live process whose environment carries the marker `id`. */
async function killMarked(id: string): Promise<void> {
  const needle = `\0${MARKER}=${id}\0`;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let environ: string;
    try {
      environ = "\0" + await Deno.readTextFile(`/proc/${entry.name}/environ`);
    } catch {
      continue; // exited meanwhile, or a zombie, or not ours
    }
    if (!environ.includes(needle)) continue;
    try {
      Deno.kill(Number(entry.name), "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
}

/** Runs `fn` with a fresh browser and closes the browser afterwards, also when `fn` throws. */
export async function withBrowser<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await launchBrowser();
  try {
    return await fn(browser);
  } finally {
    await closeBrowser(browser);
  }
}

/** Like {@link withBrowser}, with a new page in its own browser context. */
export async function withPage<T>(fn: (page: Page, browser: Browser) => Promise<T>): Promise<T> {
  return await withBrowser(async (browser) => {
    const page = await browser.newPage();
    return await fn(page, browser);
  });
}

/**
 * Saves a full-page screenshot under `.local/e2e/` for a failed step (`<name>-<time>.png`);
 * answers where, or why there is none (a failed step must still report its own error).
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = `${PROJECT_ROOT}/.local/e2e`;
  const path = `${dir}/${name}-${new Date().toISOString().replaceAll(":", "-")}.png`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await page.screenshot({ path, fullPage: true, timeout: 5_000 });
    return path;
  } catch (error) {
    return `no screenshot (${error instanceof Error ? error.message : error})`;
  }
}
