/**
 * End to end: headless Chromium opens the dashboard on a finished
 * `pascal-selftrain` run (report written by the recipe's report writer).
 * The comparison shows mIoU, pixel accuracy and their tune numbers with the
 * Δ rows (per-class IoU is left to its own chart), the per-class IoU card
 * draws teacher, baseline and student per class, the pseudo-mask panel
 * shows the ignored-pixel fraction and pixel shares per class (no score
 * histogram, no box-fate legend), and the mask overlays load. With
 * `SELFTRAIN_E2E_SCREENSHOT=<file.png>` the page is saved as a screenshot.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertPageClean,
  browserTest,
  compareRowHeadings,
  naturalWidths,
  warnIfNoChromium,
  watchedPage,
  withDashboard,
} from "./server_browser.ts";
import {
  SEG_CLASS_NAMES,
  SEG_POOL,
  SEG_SIZE,
  writeSegRun,
} from "./server_seg_fixture.ts";

Deno.env.delete("SELFTRAIN_TOKEN");
warnIfNoChromium("server e2e segmentation views");

browserTest(
  "server e2e: a finished segmentation run shows mIoU with Δ rows, IoU per class, pseudo-mask statistics and overlays",
  async () => {
    const root = await Deno.makeTempDir({ prefix: "server_e2e_seg_" });
    const runs = join(root, "runs");
    await writeSegRun(runs, join(root, "cache"));
    try {
      await withDashboard({ runsDir: runs }, async (server, browser) => {
        const { page, errors } = await watchedPage(browser, {
          width: 1400,
          height: 900,
        });
        await page.goto(server.url);
        await page.locator("#compare table").waitFor();
        await page.locator("#iou-chart rect[data-bar]").first().waitFor();

        assert.equal(await page.locator("#phases .phase.done").count(), 3);
        assert.equal(
          await page.locator("#run-state").textContent(),
          "finished in 1m 35s",
        );

        // Comparison: the summary numbers only, the reused teacher named.
        assert.deepEqual(
          await page.locator("#compare tr:first-child th").allTextContents(),
          [
            "",
            "steps",
            "images / step",
            "mIoU",
            "pixelAccuracy",
            "tune/mIoU",
            "tune/pixelAccuracy",
          ],
        );
        const rows = await compareRowHeadings(page);
        assert.deepEqual(rows, [
          "",
          "teacher",
          "baseline (= teacher)",
          "student",
          "Δ vs baseline",
          "Δ vs teacher",
        ]);
        assert.deepEqual(
          await page.locator("#compare tr.headline > *").allTextContents(),
          ["Δ vs baseline", "", "", "+5.0", "+0.5", "+5.0", "+0.5"],
        );
        assert.equal(
          await page.locator("#compare-headline").textContent(),
          "student − baseline: +5.0 mIoU",
        );

        // IoU per class: three models, one bar per class each.
        assert.equal(await page.locator("#iou-card").isVisible(), true);
        for (const model of ["teacher", "baseline", "student"]) {
          const bars = page.locator(`#iou-chart rect[data-bar^="${model}:"]`);
          assert.equal(await bars.count(), SEG_CLASS_NAMES.length, model);
        }
        assert.equal(
          await page.locator('#iou-chart rect[data-bar="student:circle"]')
            .count(),
          1,
        );

        // Pseudo masks: the ignored quarter, pixel shares, no box views.
        const stats = await page.locator("#pseudo").textContent() ?? "";
        assert.match(stats, /ignored_fraction25\.0%/);
        assert.match(stats, new RegExp(`images${SEG_POOL}`));
        assert.match(stats, /unitpixels/);
        assert.equal(await page.locator("#score-hist-box").isVisible(), false);
        assert.equal(await page.locator("#fate-legend").isVisible(), false);
        assert.equal(
          await page.locator("#class-title").textContent(),
          "Pixels per class, share of all labelled pixels",
        );
        const chart = page.locator("#class-chart");
        assert.ok(
          await chart.locator('rect[data-bar^="pseudo:"]').count() >= 2,
        );
        assert.ok(await chart.locator('rect[data-bar^="human:"]').count() >= 2);
        assert.equal(
          await chart.locator('rect[data-bar="human:background"]').count(),
          1,
        );

        // Overlays: pseudo masks in their panel, the models' in the samples.
        const decoded = (sel: string) => naturalWidths(page.locator(sel));
        assert.deepEqual(
          await decoded("#pseudo-previews img"),
          Array(SEG_POOL).fill(SEG_SIZE),
        );
        const samples = await page.locator("#samples img").evaluateAll((imgs) =>
          imgs.map((i) => i.getAttribute("alt") ?? "")
        );
        assert.deepEqual(samples.map((n) => n.split("_")[0]), [
          "student",
          "teacher",
        ]);
        assert.deepEqual(await decoded("#samples img"), [SEG_SIZE, SEG_SIZE]);

        await assertPageClean(page, errors);
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
