import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  latestCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  stepName,
} from "../core/train/checkpoint.ts";
import { restoreModel } from "../core/train/checkpoint.ts";
import { EventBus } from "../core/events.ts";
import {
  assertSameWeights,
  crashingLoader,
  snapshot,
  tinyModel,
  trainTiny,
} from "./foundation_helpers.ts";

Deno.test("checkpoint round trip is bit-identical, in standard tfjs format", async () => {
  const dir = await Deno.makeTempDir();
  const model = tinyModel(7);
  const before = snapshot(model);
  const path = await saveCheckpoint(dir, stepName(3), {
    weights: new Map(model.namedVariables()),
    state: new Map([["opt/x", tf.tensor1d([1, 2, 3])]]),
    meta: { step: 3, rng: [1, 2, 3, 4] },
  });
  const json = JSON.parse(await Deno.readTextFile(`${path}/model.json`));
  assert.equal(json.weightsManifest[0].paths[0], "./weights.bin");
  assert.equal(
    json.weightsManifest[0].weights.length,
    model.namedVariables().length,
  );
  // The standard format: tfjs alone decodes the manifest and the bytes.
  const decoded = tf.io.decodeWeights(
    (await Deno.readFile(`${path}/weights.bin`)).buffer,
    json.weightsManifest[0].weights,
  );
  for (const [k, v] of before) {
    assert.deepEqual(Array.from(decoded[k].dataSync()), Array.from(v), k);
  }
  tf.dispose(Object.values(decoded));

  const other = tinyModel(8);
  const ck = await loadCheckpoint(path);
  restoreModel(other, ck.weights, path);
  for (const [k, v] of snapshot(other)) assert.deepEqual(v, before.get(k), k);
  assert.equal(ck.meta.step, 3);
  assert.deepEqual(ck.meta.rng, [1, 2, 3, 4]);
  assert.deepEqual(Array.from(ck.state.get("opt/x")!.dataSync()), [1, 2, 3]);
  assert.equal(await latestCheckpoint(dir), path);
  tf.dispose([...ck.weights.values(), ...ck.state.values()]);
  model.dispose();
  other.dispose();
});

Deno.test("a missing variable or shape mismatch names the checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const model = tinyModel(1);
  const path = await saveCheckpoint(dir, stepName(1), {
    weights: new Map(model.namedVariables().slice(1)),
    state: new Map(),
    meta: { step: 1 },
  });
  const ck = await loadCheckpoint(path);
  assert.throws(
    () => restoreModel(model, ck.weights, path),
    new RegExp(`${path}: missing variable`),
  );
  await Deno.writeFile(`${path}/weights.bin`, new Uint8Array(3));
  await assert.rejects(
    loadCheckpoint(path),
    /model\.json: weights are 3 bytes, manifest says/,
  );
  model.dispose();
});

Deno.test("resume continues at the saved step with the same schedule and result", async () => {
  const straight = tinyModel(11);
  const lrs: number[] = [];
  const bus = new EventBus();
  bus.on((e) => e.type === "step" && lrs.push(e.lr));
  await trainTiny(straight, 10, 11, { phase: "a", events: bus });

  const dir = await Deno.makeTempDir();
  const first = tinyModel(11);
  await trainTiny(first, 10, 11, {
    phase: "b",
    config: { checkpointEvery: 4 },
    // Stop after step 6 by failing the data source, as a crash would.
    data: crashingLoader(11, 6),
    checkpointDir: dir,
  }).catch((e) => {
    assert.equal(e.message, "killed");
  });
  assert.match((await latestCheckpoint(dir))!, /step-00000004$/);

  const resumed = tinyModel(99); // different init: everything must come from the checkpoint
  const resumedLrs: number[] = [];
  const bus2 = new EventBus();
  bus2.on((e) => e.type === "step" && resumedLrs.push(e.lr));
  const r = await trainTiny(resumed, 10, 11, {
    phase: "b",
    config: { checkpointEvery: 4 },
    checkpointDir: dir,
    resume: true,
    events: bus2,
  });
  assert.equal(r.startStep, 4);
  assert.deepEqual(resumedLrs, lrs.slice(4));
  assertSameWeights(straight, resumed);
  for (const m of [straight, first, resumed]) m.dispose();
});

Deno.test("a save killed at any moment never leaves an unloadable latest checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const script =
    new URL("./fixtures/checkpoint_writer.ts", import.meta.url).pathname;
  for (const killAfter of [1, 3, 5]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, dir, String(killAfter)],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let seen = "";
    while (!seen.includes(`saved ${killAfter}\n`)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    // The writer is now in the middle of its next save: kill it there.
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    const latest = await latestCheckpoint(dir);
    assert.ok(latest, "a checkpoint must remain");
    const ck = await loadCheckpoint(latest);
    assert.ok(ck.meta.step >= killAfter, `step ${ck.meta.step} < ${killAfter}`);
    tf.dispose([...ck.weights.values(), ...ck.state.values()]);
  }
});
