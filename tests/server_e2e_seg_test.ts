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
  assertComparison,
  assertTaskViews,
  decodedImages,
  finishedRunTest,
} from "./server_browser.ts";
import {
  SEG_CLASS_NAMES,
  SEG_POOL,
  SEG_SIZE,
  writeSegRun,
} from "./server_seg_fixture.ts";

finishedRunTest(
  "server e2e: a finished segmentation run shows mIoU with Δ rows, IoU per class, pseudo-mask statistics and overlays",
  {
    write: (runs, root) => writeSegRun(runs, join(root, "cache")),
    chart: "#iou-chart",
    phases: 3,
    took: "1m 35s",
  },
  async (page) => {
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
    await assertComparison(
      page,
      "baseline (= teacher)",
      ["", "", "+5.0", "+0.5", "+5.0", "+0.5"],
      "student − baseline: +5.0 mIoU",
    );

    // The mask views, not the box ones; IoU per class: three models, one
    // bar per class each.
    await assertTaskViews(page, "segmentation");
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
    const previews = await decodedImages(page.locator("#pseudo-previews img"));
    assert.deepEqual(
      previews.map((i) => i.width),
      Array(SEG_POOL).fill(SEG_SIZE),
    );
    const samples = await decodedImages(page.locator("#samples img"));
    assert.deepEqual(samples.map((i) => i.alt.split("_")[0]), [
      "student",
      "teacher",
    ]);
    assert.deepEqual(samples.map((i) => i.width), [SEG_SIZE, SEG_SIZE]);
  },
);
