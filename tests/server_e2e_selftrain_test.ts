/**
 * End to end: headless Chromium opens the dashboard on a finished
 * `coco-selftrain` run folder (no `run-end`, eval phases never ended, a
 * report.json of the self-training shape). The run must read as finished,
 * and the comparison table, score histogram, per-class chart and preview
 * grid must show the report. With `SELFTRAIN_E2E_SCREENSHOT=<file.png>` the
 * page is also saved as a screenshot, to check it by eye.
 */
import assert from "node:assert/strict";
import { FATE_COLORS } from "../ui/pseudo_data.ts";
import {
  assertComparison,
  assertTaskViews,
  decodedImages,
  finishedRunTest,
} from "./server_browser.ts";
import { PREVIEWS, writeSelftrainRun } from "./server_selftrain_fixture.ts";

finishedRunTest(
  "server e2e: a finished self-training run shows done phases, the comparison and the pseudo-label views",
  { write: writeSelftrainRun, chart: "#score-hist", phases: 7, took: "6m 40s" },
  async (page) => {
    // Finished: every phase done, none running, status says so.
    assert.equal(
      await page.locator("#phase").textContent(),
      "all done (7 phases)",
    );
    assert.equal(await page.locator("#eta").textContent(), "finished");
    assert.equal(await page.locator("#memory").isVisible(), false);

    // Score histogram: 10 bars, coloured by the fate of their score band.
    const bins = page.locator('#score-hist rect[data-bar^="boxes:"]');
    assert.equal(await bins.count(), 10);
    const fills = await bins.evaluateAll((rs) =>
      rs.map((r) => r.getAttribute("fill"))
    );
    assert.deepEqual(fills, [
      FATE_COLORS.dropped,
      FATE_COLORS.ignored,
      FATE_COLORS.ignored,
      ...Array(7).fill(FATE_COLORS.kept),
    ]);

    // Per-class shares: both distributions, the skewed classes marked.
    const chart = page.locator("#class-chart");
    assert.equal(await chart.locator('rect[data-bar^="pseudo:"]').count(), 4);
    assert.equal(await chart.locator('rect[data-bar^="human:"]').count(), 4);
    const flagged = await chart.locator("text[data-flagged]").evaluateAll((
      ts,
    ) => ts.map((t) => t.getAttribute("data-flagged")).sort());
    assert.deepEqual(flagged, ["circle", "star"]);

    // Stats: numbers and the file, no object shown as "–".
    const stats = await page.locator("#pseudo").textContent() ?? "";
    assert.match(stats, /fileruns\/st\/labels\/pseudo_labels\.json/);
    assert.match(stats, /ignored300/);
    assert.doesNotMatch(stats, /score_histogram|per_class/);

    // Comparison: three models, Δ vs baseline first, headline from it.
    await assertComparison(
      page,
      "baseline (from teacher)",
      ["", "", "+1.3", "+1.3", "+1.3", "–", "+1.3", "+1.3"],
      "student − baseline: +1.3 AP",
    );

    // Detection: no per-class IoU card; the box views, not the mask ones.
    await assertTaskViews(page, "detection");

    // Previews load; the sample grid keeps the other samples only.
    const previews = await decodedImages(page.locator("#pseudo-previews img"));
    assert.equal(previews.length, PREVIEWS.length);
    assert.deepEqual(previews.map((i) => i.width), [96, 96]);
    const samples = await decodedImages(page.locator("#samples img"));
    assert.deepEqual(samples.map((i) => i.alt), ["student_1.jpg"]);
  },
);
