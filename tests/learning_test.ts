import assert from "node:assert/strict";
import { runRecipe } from "../core/runner.ts";
import { Registry } from "../core/registry.ts";
import { loadPlugin } from "../cli/plugins.ts";
import { wasmBackend } from "../plugins/backends/wasm.ts";
import classifierPlugin from "../plugins/classifier/mod.ts";
import { classifyRecipe } from "../recipes/classify.ts";
import { readJson } from "../core/fs.ts";

function registry(): Registry {
  const r = new Registry().use(classifierPlugin);
  r.register("backend", wasmBackend);
  r.register("recipe", classifyRecipe as never);
  return r;
}

const quick = {
  "train.steps": "70",
  "train.batchSize": "24",
  "train.checkpointEvery": "35",
};

Deno.test("the classifier learns: >= 90% held-out accuracy through registry, trainer and runner", async () => {
  const out = await Deno.makeTempDir();
  const { report } = await runRecipe({
    registry: registry(),
    recipe: "classify",
    overrides: quick,
    out,
  });
  const acc = (report.metrics as { accuracy: number }).accuracy;
  assert.ok(acc >= 0.9, `held-out accuracy ${acc}`);
  assert.deepEqual(await readJson(`${out}/report.json`), report);
  const config = await readJson<{ config: { train: { steps: number } } }>(
    `${out}/config.json`,
  );
  assert.equal(config.config.train.steps, 70);
  // A second run with the same --out skips the finished phase.
  const again = await runRecipe({
    registry: registry(),
    recipe: "classify",
    overrides: quick,
    out,
  });
  assert.deepEqual(again.report.metrics, report.metrics);
  const events = (await Deno.readTextFile(`${out}/events.jsonl`)).trim().split(
    "\n",
  ).map((l) => JSON.parse(l));
  assert.ok(events.some((e) => e.type === "phase-end" && e.skipped === true));
});

Deno.test("a user plugin from a file is used exactly like a built-in one", async () => {
  const r = registry();
  await loadPlugin("./examples/custom_backbone.ts", r);
  assert.ok(r.list("backbone").includes("separable-net"));
  const out = await Deno.makeTempDir();
  const { report } = await runRecipe({
    registry: r,
    recipe: "classify",
    overrides: { ...quick, backbone: "separable-net", "train.steps": "30" },
    out,
  });
  const m = report.metrics as { accuracy: number; params: number };
  assert.ok(
    m.params > 0 && m.accuracy > 0.25,
    `custom backbone trained: ${JSON.stringify(m)}`,
  );
  await assert.rejects(
    runRecipe({
      registry: r,
      recipe: "classify",
      overrides: { backbone: "nope" },
      out: await Deno.makeTempDir(),
    }),
    /unknown backbone "nope"; registered: separable-net, tiny-convnet/,
  );
});
