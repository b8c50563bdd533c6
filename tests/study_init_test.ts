/**
 * A pre-trained initialisation through the study, with the real recipes:
 * the pre-training job runs first and writes `<out>/backbone/`, and the
 * cells of that init start from it through `model.init` (their init.json
 * names it). The pre-training recipe here is a stand-in that saves a
 * tiny-convnet checkpoint, as `pretrain-supervised` will.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import type { Recipe } from "../core/registry.ts";
import { PLUGIN_KINDS, Registry } from "../core/registry.ts";
import { inProcessRunner } from "../cli/study.ts";
import { buildPreset } from "../cli/study_presets.ts";
import { readJson } from "../core/fs.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import { runStudy, type StudyGrid, writeStudyReport } from "../study/mod.ts";
import { tinyConvnetCheckpoint } from "./init_helpers.ts";
import { tempStudyDir } from "./study_helpers.ts";

/** The built-in registry with a stand-in `pretrain-supervised`. */
function registryWithStandIn(): Registry {
  const base = createBuiltinRegistry();
  const reg = new Registry();
  for (const kind of PLUGIN_KINDS) {
    for (const e of base.entries(kind)) {
      if (!(kind === "recipe" && e.name === "pretrain-supervised")) {
        reg.register(kind, e as never);
      }
    }
  }
  const standIn: Recipe<{ seed: number }> = {
    name: "pretrain-supervised",
    description: "stand-in: saves a tiny-convnet backbone checkpoint",
    defaults: { seed: 0 },
    help: {},
    run: async (ctx) => {
      await tinyConvnetCheckpoint(`${ctx.out}/backbone`);
      return { recipe: "pretrain-supervised", seed: ctx.config.seed };
    },
  };
  reg.register("recipe", standIn);
  return reg;
}

Deno.test("study init: the pre-training job runs first and its backbone initialises the pre-trained cells", async () => {
  const registry = registryWithStandIn();
  const quick = (await buildPreset("quick", registry)).grid;
  const grid: StudyGrid = {
    name: "init",
    seeds: [0],
    design: "full",
    tasks: {
      detection: {
        ...quick.tasks.detection!,
        inits: ["random", "imagenet"],
        methods: ["supervised", "pretrain-self-training"],
        fractions: [1],
      },
    },
  };
  const dir = await tempStudyDir();
  const order: string[] = [];
  const run = inProcessRunner(registry, "wasm", false);
  const s = await runStudy({
    dir,
    grid,
    run: (job, out) => {
      order.push(`${job.stage}/${job.id}`);
      return run(job, out);
    },
  });
  assert.deepEqual(s.failed, []);
  assert.deepEqual(order, [
    "pretrain/det-imagenet-s0",
    "cells/det-random-sup-S1-f100-s0",
    "cells/det-imagenet-sup-S1-f100-s0",
    "cells/det-imagenet-pst-S1-f100-s0",
  ]);
  const backbone = resolve(`${dir}/pretrain/det-imagenet-s0/backbone`);
  for (
    const id of ["det-imagenet-sup-S1-f100-s0", "det-imagenet-pst-S1-f100-s0"]
  ) {
    const init = await readJson<{ path: string; architecture: string }>(
      `${dir}/cells/${id}/init.json`,
    );
    assert.equal(init.path, backbone, id);
    assert.equal(init.architecture, "tiny-convnet");
  }
  const random = await readJson<{ init: string; path?: string }>(
    `${dir}/cells/det-random-sup-S1-f100-s0/init.json`,
  );
  assert.deepEqual([random.init, random.path], ["random", undefined]);

  const r = await writeStudyReport([dir]);
  const rows = r.tables[0].rows;
  assert.deepEqual(rows.map((x) => x.label), [
    "random init / supervised",
    "supervised pre-training / supervised",
    "supervised pre-training / pre-training + self-training",
  ]);
  assert.equal(rows[0].entries[0].delta, null);
  for (const row of rows.slice(1)) {
    const e = row.entries[0];
    assert.ok(
      Math.abs(e.delta! - (e.stat!.mean - rows[0].entries[0].stat!.mean)) <
        1e-9,
    );
  }
  assert.notEqual(rows[2].entries[0].vsBaseline, null);
});
