/**
 * End to end: real headless Chromium opens the dashboard while a fake
 * training loop emits step events through the bus; the step counter and the
 * loss curve must advance. Needs Debian's `chromium` at /usr/bin/chromium
 * (skipped, with a message, when it is absent).
 */
import assert from "node:assert/strict";
import { EventBus } from "../core/events.ts";
import {
  browserTest,
  firstNaturalWidth,
  until,
  warnIfNoChromium,
  watchedPage,
  withDashboard,
} from "./server_browser.ts";
import { driveFakeRun, writeRunsFixture } from "./server_helpers.ts";

Deno.env.delete("SELFTRAIN_TOKEN"); // the page is opened without a token

warnIfNoChromium("server e2e");

browserTest(
  "server e2e: the dashboard's step counter and loss chart advance during a run",
  async () => {
    const root = await Deno.makeTempDir({ prefix: "server_e2e_" });
    const { runs } = await writeRunsFixture(root);
    const bus = new EventBus();
    await withDashboard({ bus, runsDir: runs }, async (server, browser) => {
      const ac = new AbortController();
      let training: Promise<void> | undefined;
      try {
        const { page, errors } = await watchedPage(browser);
        training = driveFakeRun(bus, 10_000, 40, ac.signal);
        await page.goto(server.url);

        const step = page.locator("#step");
        const lossPath = page.locator(
          '#loss-chart path[data-series="teacher:loss"]',
        );
        const stepNow = async () =>
          Number((await step.textContent())?.split(" / ")[0]);
        // Points and path vertices in one read: the chart redraws between two
        // separate reads while the run advances.
        const chartNow = async (): Promise<[number, number]> => {
          const [points, d] = await lossPath.evaluate((el) => [
            el.getAttribute("data-points"),
            el.getAttribute("d"),
          ]);
          return [Number(points), (d ?? "").split(/[ML]/).length - 1];
        };

        await until(
          async () => /^\d+ \/ 10000$/.test(await step.textContent() ?? ""),
          "a step is shown",
        );
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
      } finally {
        ac.abort();
        await training;
      }
    });
  },
);

browserTest(
  "server e2e: with a token, the dashboard opened as /?token= streams the run",
  async () => {
    const bus = new EventBus();
    await withDashboard({ bus, token: "t0k" }, async (server, browser) => {
      const ac = new AbortController();
      let training: Promise<void> | undefined;
      try {
        const page = await browser.newPage();
        const denied = await page.goto(server.url);
        assert.equal(denied?.status(), 401);
        training = driveFakeRun(bus, 10_000, 40, ac.signal);
        await page.goto(`${server.url}?token=t0k`);
        const step = page.locator("#step");
        await until(
          async () => /^\d+ \/ 10000$/.test(await step.textContent() ?? ""),
          "a step is shown",
        );
        const s0 = Number((await step.textContent())?.split(" / ")[0]);
        await until(
          async () => Number((await step.textContent())?.split(" / ")[0]) > s0,
          "the step advances",
        );
      } finally {
        ac.abort();
        await training;
      }
    });
  },
);
