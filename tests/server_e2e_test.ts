/**
 * End to end: real headless Chromium opens the dashboard while a fake
 * training loop emits step events through the bus; the step counter and the
 * loss curve must advance. Needs Debian's `chromium` at /usr/bin/chromium
 * (skipped, with a message, when it is absent).
 */
import assert from "node:assert/strict";
import type { Locator } from "playwright-core";
import { EventBus } from "../core/events.ts";
import {
  browserTest,
  firstNaturalWidth,
  until,
  withDashboard,
} from "./server_browser.ts";
import { whileFakeRun, writeRunsFixture } from "./server_helpers.ts";

/** The step the page's counter shows (NaN before the first). */
async function shownStep(step: Locator): Promise<number> {
  return Number((await step.textContent())?.split(" / ")[0]);
}

/** Waits until the counter shows a step of the fake run's 10,000. */
function stepShown(step: Locator): Promise<void> {
  return until(
    async () => /^\d+ \/ 10000$/.test(await step.textContent() ?? ""),
    "a step is shown",
  );
}

browserTest(
  "server e2e: the dashboard's step counter and loss chart advance during a run",
  async () => {
    const root = await Deno.makeTempDir({ prefix: "server_e2e_" });
    const { runs } = await writeRunsFixture(root);
    const bus = new EventBus();
    await withDashboard(
      { bus, runsDir: runs },
      async ({ server, page, errors }) => {
        await whileFakeRun(bus, async () => {
          await page.goto(server.url);

          const step = page.locator("#step");
          const lossPath = page.locator(
            '#loss-chart path[data-series="teacher:loss"]',
          );
          const stepNow = () => shownStep(step);
          // Points and path vertices in one read: the chart redraws between two
          // separate reads while the run advances.
          const chartNow = async (): Promise<[number, number]> => {
            const [points, d] = await lossPath.evaluate((el) => [
              el.getAttribute("data-points"),
              el.getAttribute("d"),
            ]);
            return [Number(points), (d ?? "").split(/[ML]/).length - 1];
          };

          await stepShown(step);
          await lossPath.waitFor();
          const s0 = await stepNow();
          const [p0, d0] = await chartNow();
          assert.ok(s0 >= 1);
          assert.equal(d0, p0, "one path vertex per point");

          // Advance: wait until the page shows 5 more steps than it did.
          await until(
            async () => await stepNow() >= s0 + 5,
            `step ${s0 + 5} is shown`,
          );
          const s1 = await stepNow();
          const [p1, d1] = await chartNow();
          assert.ok(s1 >= s0 + 5, `step ${s0} -> ${s1}`);
          assert.ok(p1 > p0, `loss points ${p0} -> ${p1}`);
          assert.ok(d1 > d0, `loss path vertices ${d0} -> ${d1}`);
          assert.equal(await page.locator("#phase").textContent(), "teacher");
          assert.equal(
            await page.locator("#recipe").textContent(),
            "selftrain-demo",
          );

          // The finished run in the runs folder: AP bars, pseudo-labels, samples.
          await page.selectOption("#run-select", "demo");
          await page.locator('#ap-chart rect[data-bar="student:AP"]').waitFor();
          await page.locator("#samples img").first().waitFor();
          const loaded = await firstNaturalWidth(page.locator("#samples img"));
          assert.equal(loaded, 1);
          assert.match(
            await page.locator("#pseudo").textContent() ?? "",
            /boxes123/,
          );
          assert.deepEqual(errors, []);
        });
      },
    );
  },
);

browserTest(
  "server e2e: with a token, the dashboard opened as /?token= streams the run",
  async () => {
    const bus = new EventBus();
    await withDashboard({ bus, token: "t0k" }, async ({ server, page }) => {
      const denied = await page.goto(server.url);
      assert.equal(denied?.status(), 401);
      await whileFakeRun(bus, async () => {
        await page.goto(`${server.url}?token=t0k`);
        const step = page.locator("#step");
        await stepShown(step);
        const s0 = await shownStep(step);
        await until(
          async () => await shownStep(step) > s0,
          "the step advances",
        );
      });
    });
  },
);
