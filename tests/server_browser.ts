/**
 * Headless Chromium for the dashboard's end-to-end tests: Debian's
 * `chromium` at /usr/bin/chromium (tests skip, with a message, without it),
 * launched through playwright-core; a status server with a browser for the
 * length of a test, a page that records its errors, and a bounded wait for
 * a condition.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
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

// The dashboards are opened without a token unless a test gives one.
Deno.env.delete("SELFTRAIN_TOKEN");

/** Where Debian installs chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** True when chromium is installed. */
export const hasChromium: boolean = await Deno.stat(CHROMIUM).then(
  () => true,
  () => false,
);

/** Warns that the tests of `what` are skipped when chromium is missing. */
function warnIfNoChromium(what: string): void {
  if (!hasChromium) {
    console.warn(
      `SKIP ${what}: ${CHROMIUM} not found (apt-get install -y chromium)`,
    );
  }
}

/**
 * Registers a test that needs chromium: ignored, with a warning, without
 * it, and run without the op and resource sanitizers (playwright-core
 * keeps its own pipes and timers alive between calls).
 */
export function browserTest(name: string, fn: () => Promise<void>): void {
  warnIfNoChromium(name);
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

/** What a dashboard test gets: the server, the browser and a watched page. */
export interface Dashboard {
  /** The status server. */
  server: StatusServer;
  /** Headless chromium. */
  browser: Browser;
  /** A page, not yet opened, whose errors go to `errors`. */
  page: Page;
  /** Page errors and failed (>= 400) responses, as they come. */
  errors: string[];
}

/**
 * Starts a status server on a free port (quietly) with `opts`, headless
 * chromium and a page of `viewport` that records its errors; runs `body`
 * with them, then closes the browser and the server.
 */
export async function withDashboard(
  opts: StatusServerOptions & { viewport?: { width: number; height: number } },
  body: (d: Dashboard) => Promise<void>,
): Promise<void> {
  const { viewport, ...serverOpts } = opts;
  const server = startStatusServer({
    port: 0,
    onListen: () => {},
    ...serverOpts,
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage(viewport ? { viewport } : undefined);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on(
      "response",
      (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`),
    );
    await body({ server, browser, page, errors });
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

/**
 * Asserts the page shows a finished run of `phases` phases, all done, none
 * running, and the run state `finished in <took>`.
 */
async function assertRunFinished(
  page: Page,
  phases: number,
  took: string,
): Promise<void> {
  assert.equal(await page.locator("#phases .phase").count(), phases);
  assert.equal(await page.locator("#phases .phase.running").count(), 0);
  assert.equal(await page.locator("#phases .phase.done").count(), phases);
  assert.equal(
    await page.locator("#run-state").textContent(),
    `finished in ${took}`,
  );
}

/**
 * Ends a page's checks: saves it to `SELFTRAIN_E2E_SCREENSHOT` when that
 * names a file (to check it by eye), then asserts it recorded no errors.
 */
async function assertPageClean(
  page: Page,
  errors: readonly string[],
): Promise<void> {
  const shot = Deno.env.get("SELFTRAIN_E2E_SCREENSHOT");
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  assert.deepEqual(errors, []);
}

/** A finished run a dashboard test opens. */
export interface FinishedRun {
  /** Fills the runs folder `runs` (`root` is a scratch folder above it). */
  write: (runs: string, root: string) => Promise<unknown>;
  /** The chart whose first bar shows that the page has loaded the run. */
  chart: string;
  /** The run's phases. */
  phases: number;
  /** The run's duration as the page shows it, e.g. `1m 35s`. */
  took: string;
}

/**
 * Registers a browser test that opens the dashboard (1400×900) on the runs
 * folder `run.write` fills (under a temporary root), waits for the
 * comparison table and the first bar of `run.chart`, asserts the run reads
 * as finished, runs `checks`, then ends the page with `assertPageClean`
 * and removes the root.
 */
export function finishedRunTest(
  name: string,
  run: FinishedRun,
  checks: (page: Page) => Promise<void>,
): void {
  browserTest(name, async () => {
    const root = await Deno.makeTempDir({ prefix: "server_e2e_" });
    try {
      const runs = join(root, "runs");
      await run.write(runs, root);
      await withDashboard({
        runsDir: runs,
        viewport: { width: 1400, height: 900 },
      }, async ({ server, page, errors }) => {
        await page.goto(server.url);
        await page.locator("#compare table").waitFor();
        await page.locator(`${run.chart} rect[data-bar]`).first().waitFor();
        await assertRunFinished(page, run.phases, run.took);
        await checks(page);
        await assertPageClean(page, errors);
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

/** Decodes each image `images` matches now: its alt text and natural width. */
export function decodedImages(
  images: Locator,
): Promise<{ alt: string; width: number }[]> {
  return images.evaluateAll((imgs) =>
    Promise.all(imgs.map(async (el) => {
      const img = el as unknown as {
        decode(): Promise<void>;
        naturalWidth: number;
        getAttribute(name: string): string | null;
      };
      await img.decode();
      return { alt: img.getAttribute("alt") ?? "", width: img.naturalWidth };
    }))
  );
}

/** Waits for the first image `images` matches, decodes it; its natural width. */
export async function firstNaturalWidth(images: Locator): Promise<number> {
  const first = images.first();
  await first.waitFor({ state: "attached" });
  return (await decodedImages(first))[0].width;
}

/** What the pseudo-label card shows of each task's run. */
const TASK_VIEWS = {
  detection: {
    iou: false,
    boxes: true,
    classTitle: "Boxes per class, share of all boxes",
  },
  segmentation: {
    iou: true,
    boxes: false,
    classTitle: "Pixels per class, share of all labelled pixels",
  },
} as const;

/**
 * Asserts the views of a `task` run: the per-class IoU card for
 * segmentation only, the score histogram and box-fate legend for detection
 * only, and the per-class chart's title.
 */
export async function assertTaskViews(
  page: Page,
  task: keyof typeof TASK_VIEWS,
): Promise<void> {
  const v = TASK_VIEWS[task];
  assert.equal(await page.locator("#iou-card").isVisible(), v.iou);
  assert.equal(await page.locator("#score-hist-box").isVisible(), v.boxes);
  assert.equal(await page.locator("#fate-legend").isVisible(), v.boxes);
  assert.equal(await page.locator("#class-title").textContent(), v.classTitle);
}

/**
 * Asserts a self-training run's comparison table: rows teacher,
 * `baseline`, student, Δ vs baseline (cells `delta`) and Δ vs teacher,
 * and the headline `headline` under it.
 */
export async function assertComparison(
  page: Page,
  baseline: string,
  delta: readonly string[],
  headline: string,
): Promise<void> {
  const rows = await page.locator("#compare tr").evaluateAll((trs) =>
    trs.map((tr) => tr.querySelector("th")?.textContent ?? "")
  );
  assert.deepEqual(rows, [
    "",
    "teacher",
    baseline,
    "student",
    "Δ vs baseline",
    "Δ vs teacher",
  ]);
  assert.deepEqual(
    await page.locator("#compare tr.headline > *").allTextContents(),
    ["Δ vs baseline", ...delta],
  );
  assert.equal(await page.locator("#compare-headline").textContent(), headline);
}
