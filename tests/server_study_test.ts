/**
 * The dashboard's study page: the API lists the studies of the runs folder
 * (or the study the folder is), returns their tables, cells and plot
 * names, and serves each plot as SVG; a study folder lists its cells as
 * runs. In headless Chromium (skipped without it) the page shows the
 * tables, the plots and the cells, and a cell's link opens it as a run.
 */
import assert from "node:assert/strict";
import { createStatusApp } from "../plugins/server/app.ts";
import { runStudy } from "../study/mod.ts";
import {
  browserTest,
  firstNaturalWidth,
  until,
  withDashboard,
} from "./server_browser.ts";
import { expectStatus } from "./server_helpers.ts";
import { AUGMENT_GRID, endedCounts, fakeRunner } from "./study_helpers.ts";

/** `<root>/study-a` with every cell but one finished (fake reports). */
async function studyFixture(): Promise<{ root: string; study: string }> {
  const root = await Deno.makeTempDir({ prefix: "server_study_" });
  const study = `${root}/study-a`;
  const f = fakeRunner(
    (c) => [c.method === "supervised" ? 0.3 + 0.01 * c.seed : 0.34, 0.3],
    (j) => j.id === "det-random-st-S4-f100-s1",
  );
  await runStudy({ dir: study, grid: AUGMENT_GRID, run: f.run });
  // Not a study: ignored.
  await Deno.mkdir(`${root}/other`);
  return { root, study };
}

Deno.test("server study api: lists studies, returns tables, cells and plots, serves SVG", async () => {
  const { root } = await studyFixture();
  const app = createStatusApp({ runsDir: root });
  const list = await (await app.request("/api/studies")).json();
  assert.deepEqual(list, [{
    id: "study-a",
    name: "test",
    counts: endedCounts(7, 1),
  }]);
  const r = await (await app.request("/api/studies/study-a")).json();
  assert.equal(r.cells.length, 8);
  assert.deepEqual(r.tables.map((t: { id: string }) => t.id), [
    "detection-augment-100pct",
  ]);
  assert.deepEqual(r.tables[0].headings, ["S1", "S4"]);
  assert.equal(r.tables[0].rows[0].entries[0].stat.mean, 30.5);
  assert.deepEqual(r.plots, ["detection-augment-100pct.svg"]);
  const svg = await app.request(
    "/api/studies/study-a/plots/detection-augment-100pct.svg",
  );
  assert.equal(svg.status, 200);
  assert.equal(svg.headers.get("content-type"), "image/svg+xml; charset=utf-8");
  assert.match(
    await svg.text(),
    /^<svg [^]*random init \/ self-training[^]*<\/svg>\n$/,
  );
  await expectStatus(app, [
    "/api/studies/nope",
    "/api/studies/study-a/plots/nope.svg",
    "/api/studies/..%2Fstudy-a",
    "/api/studies/other",
  ], 404);
  assert.deepEqual(
    await (await createStatusApp().request("/api/studies")).json(),
    [],
  );
});

Deno.test("server study api: a study folder as the runs folder lists its cells as runs", async () => {
  const { study } = await studyFixture();
  const app = createStatusApp({ runsDir: study });
  const studies = await (await app.request("/api/studies")).json();
  assert.deepEqual(studies.map((s: { id: string }) => s.id), ["study-a"]);
  const runs = await (await app.request("/api/runs")).json();
  // Only cells with a report are runs; the failed one has neither file.
  assert.equal(runs.length, 7);
  assert.ok(runs.every((r: { finished: boolean }) => r.finished));
  const d = await (await app.request("/api/runs/det-random-sup-S1-f100-s0"))
    .json();
  assert.equal(d.report.recipe, "coco-supervised");
});

browserTest(
  "server study page: tables, plots and cells show; a cell opens as a run",
  async () => {
    const { study } = await studyFixture();
    await withDashboard(
      { runsDir: study },
      async ({ server, page, errors }) => {
        await page.goto(server.url);
        await page.locator("#study-card table.study-table").first().waitFor();
        assert.equal(await page.locator("#study-pick").isVisible(), true);
        const text = await page.locator("#study-tables").textContent() ?? "";
        assert.match(text, /random init \/ supervised30\.5 ± 0\.730\.5 ± 0\.7/);
        assert.match(
          text,
          /random init \/ self-training34\.0 ± 0\.0 \(\+3\.5\)34\.0 \(\+3\.5\) \[1\/2 seeds\]/,
        );
        assert.match(
          await page.locator("#study-summary").textContent() ?? "",
          /^7 of 8 cells finished, 1 failed/,
        );
        const width = await firstNaturalWidth(page.locator("#study-plots img"));
        assert.ok(width > 0);
        assert.equal(await page.locator("#study-cells tr.cell").count(), 8);
        assert.equal(
          await page.locator("#study-cells tr.cell.failed").count(),
          1,
        );
        await page.locator(
          '#study-cells tr[data-cell="det-random-st-S1-f100-s1"] a',
        ).click();
        await until(
          async () =>
            await page.locator("#run-select").inputValue() ===
              "det-random-st-S1-f100-s1",
          "the cell chosen as the run",
        );
        assert.deepEqual(errors, []);
      },
    );
  },
);
