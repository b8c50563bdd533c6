/**
 * End to end with a real training run: the `classify` recipe trains through
 * the registry, trainer and runner while headless Chromium watches the
 * dashboard; the step counter and the loss chart must advance. Skipped,
 * with a message, without Debian's `chromium`.
 */
import assert from "node:assert/strict";
import { EventBus } from "../core/events.ts";
import { Registry } from "../core/registry.ts";
import { runRecipe } from "../core/runner.ts";
import { wasmBackend } from "../plugins/backends/wasm.ts";
import classifierPlugin from "../plugins/classifier/mod.ts";
import { classifyRecipe } from "../recipes/classify.ts";
import { browserTest, withDashboard } from "./server_browser.ts";

browserTest(
  "server e2e: the dashboard follows a real training run",
  async () => {
    const registry = new Registry().use(classifierPlugin);
    registry.register("backend", wasmBackend);
    registry.register("recipe", classifyRecipe as never);
    const bus = new EventBus();
    const out = await Deno.makeTempDir({ prefix: "server_e2e_run_" });
    await withDashboard({ bus }, async ({ server, page }) => {
      await page.goto(server.url);
      const run = runRecipe({
        registry,
        recipe: "classify",
        overrides: {
          "train.steps": "400",
          "train.batchSize": "8",
          "train.checkpointEvery": "0",
        },
        out,
        events: bus,
      });
      const step = page.locator("#step");
      const loss = page.locator('#loss-chart path[data-series="train:loss"]');
      const stepNow = async () =>
        Number((await step.textContent())?.split(" / ")[0]);
      const seen: number[] = [];
      const points: number[] = [];
      // Sample the page until it has shown three increasing step counts (bounded).
      for (let i = 0; i < 600 && seen.length < 3; i++) {
        const s = await stepNow();
        if (
          Number.isFinite(s) && s > 0 && (seen.length === 0 || s > seen.at(-1)!)
        ) {
          seen.push(s);
          points.push(Number(await loss.getAttribute("data-points")));
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(seen.length, 3, `the step counter advanced: ${seen}`);
      assert.ok(points[2] > points[0], `the loss chart grew: ${points}`);
      assert.match((await step.textContent()) ?? "", / \/ 400$/);
      await run;
    });
  },
);
