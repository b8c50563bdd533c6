/**
 * Headless Chromium for the dashboard's end-to-end tests: Debian's
 * `chromium` at /usr/bin/chromium (tests skip, with a message, without it),
 * launched through playwright-core; a status server with a browser for the
 * length of a test, a page that records its errors, and a bounded wait for
 * a condition.
 */
import assert from "node:assert/strict";
import {
  type Browser,
  chromium,
  type Locator,
  type Page,
} from "playwright-core";
import {
  startStatusServer,
  type StatusServer,
  type StatusServerOptions,
} from "../plugins/server/serve.ts";

/** Where Debian installs chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** True when chromium is installed. */
export const hasChromium: boolean = await Deno.stat(CHROMIUM).then(
  () => true,
  () => false,
);

/** Warns that the tests of `what` are skipped when chromium is missing. */
export function warnIfNoChromium(what: string): void {
  if (!hasChromium) {
    console.warn(
      `SKIP ${what}: ${CHROMIUM} not found (apt-get install -y chromium)`,
    );
  }
}

/**
 * Registers a test that needs chromium: ignored without it, and without
 * the op and resource sanitizers (playwright-core keeps its own pipes and
 * timers alive between calls).
 */
export function browserTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: !hasChromium,
    sanitizeOps: false,
    sanitizeResources: false,
  }, fn);
}

/** Starts headless chromium, offline and without first-run chores. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Polls `cond` until true; fails naming `what` after 20 s (a bound, not a timing check). */
export async function until(
  cond: () => Promise<boolean>,
  what: string,
): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`dashboard never showed: ${what}`);
}

/**
 * Starts a status server on a free port (quietly) with `opts` and headless
 * chromium, runs `body` with both, then closes the browser and the server.
 */
export async function withDashboard(
  opts: StatusServerOptions,
  body: (server: StatusServer, browser: Browser) => Promise<void>,
): Promise<void> {
  const server = startStatusServer({ port: 0, onListen: () => {}, ...opts });
  const browser = await launchChromium();
  try {
    await body(server, browser);
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

/** A new page of `browser` whose errors and failed (>= 400) responses go to `errors`. */
export async function watchedPage(
  browser: Browser,
  viewport?: { width: number; height: number },
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage(viewport ? { viewport } : undefined);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on(
    "response",
    (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`),
  );
  return { page, errors };
}

/**
 * Ends a page's checks: saves it to `SELFTRAIN_E2E_SCREENSHOT` when that
 * names a file (to check it by eye), then asserts it recorded no errors.
 */
export async function assertPageClean(
  page: Page,
  errors: readonly string[],
): Promise<void> {
  const shot = Deno.env.get("SELFTRAIN_E2E_SCREENSHOT");
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  assert.deepEqual(errors, []);
}

/** Decodes every image `images` matches now; their natural widths. */
export function naturalWidths(images: Locator): Promise<number[]> {
  return images.evaluateAll((imgs) =>
    Promise.all(imgs.map(async (el) => {
      const img = el as unknown as {
        decode(): Promise<void>;
        naturalWidth: number;
      };
      await img.decode();
      return img.naturalWidth;
    }))
  );
}

/** Waits for the first image `images` matches, decodes it; its natural width. */
export async function firstNaturalWidth(images: Locator): Promise<number> {
  const first = images.first();
  await first.waitFor({ state: "attached" });
  return (await naturalWidths(first))[0];
}

/** The heading cell of each row of the comparison table. */
export function compareRowHeadings(page: Page): Promise<string[]> {
  return page.locator("#compare tr").evaluateAll((trs) =>
    trs.map((tr) => tr.querySelector("th")?.textContent ?? "")
  );
}
