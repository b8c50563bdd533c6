import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  type BackboneManifest,
  checkNormalization,
  MANIFEST_FILE,
  normalizationOf,
  productPreprocessing,
  readBackboneCheckpoint,
  saveBackboneCheckpoint,
} from "../plugins/pretrain/mod.ts";
import { IMAGENET_NORMALIZATION } from "../core/data/loader.ts";
import { tinyModel } from "./foundation_helpers.ts";

function manifest(over: Partial<BackboneManifest> = {}): BackboneManifest {
  return {
    format: "selftrain-backbone/1",
    architecture: "tiny-convnet",
    config: { width: 4, stages: 2, activation: "relu", bnMomentum: 0.9 },
    preprocessing: productPreprocessing(16),
    provenance: { source: "test", created: "2024-01-01T00:00:00Z", seed: 7 },
    ...over,
  };
}

async function digest(t: tf.Tensor): Promise<string> {
  const bytes = new Uint8Array((await t.data() as Float32Array).slice().buffer);
  const h = await crypto.subtle.digest("SHA-256", bytes);
  return t.shape.join("x") + ":" +
    Array.from(new Uint8Array(h), (b) => b.toString(16)).join("");
}

Deno.test("backbone checkpoint round trip: names, shapes and values bit-identical, manifest intact", async () => {
  const dir = `${await Deno.makeTempDir()}/ck`;
  const model = tinyModel(3);
  const vars = model.backbone.namedVariables();
  // Batch-norm moving statistics are part of it.
  assert.ok(vars.some(([n]) => n.endsWith("bn.moving_variance")));
  await saveBackboneCheckpoint(dir, vars, manifest());
  const ck = await readBackboneCheckpoint(dir);
  assert.deepEqual([...ck.tensors.keys()], vars.map(([n]) => n));
  for (const [n, v] of vars) {
    assert.equal(await digest(ck.tensors.get(n)!), await digest(v), n);
  }
  assert.deepEqual(ck.manifest, manifest());
  // Standard files, and no temp folder left beside it.
  for (const f of ["model.json", "weights.bin", MANIFEST_FILE]) {
    assert.ok((await Deno.stat(`${dir}/${f}`)).isFile, f);
  }
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  const names = [];
  for await (const e of Deno.readDir(parent)) names.push(e.name);
  assert.deepEqual(names, ["ck"]);
  tf.dispose([...ck.tensors.values()]);
  model.dispose();
});

Deno.test("saving over an existing checkpoint replaces it; a head needs classes", async () => {
  const dir = `${await Deno.makeTempDir()}/ck`;
  const model = tinyModel(1);
  await saveBackboneCheckpoint(
    dir,
    model.backbone.namedVariables(),
    manifest(),
  );
  const withHead = [
    ...model.backbone.namedVariables(),
    ...model.head.namedVariables().map(([n, v]) => [`head.${n}`, v] as const),
  ];
  await assert.rejects(
    () => saveBackboneCheckpoint(dir, withHead, manifest()),
    /head\.\* variables and manifest\.classes go together/,
  );
  const classes = ["circle", "square", "triangle", "cross"];
  await saveBackboneCheckpoint(dir, withHead, manifest({ classes }));
  const ck = await readBackboneCheckpoint(dir);
  assert.deepEqual(ck.manifest.classes, classes);
  assert.ok(ck.tensors.has("head.dense.kernel"));
  tf.dispose([...ck.tensors.values()]);
  await assert.rejects(
    () =>
      saveBackboneCheckpoint(dir, [
        ["a", tf.zeros([1])],
        ["a", tf.zeros([1])],
      ], manifest()),
    /variable "a" given twice/,
  );
  model.dispose();
});

Deno.test("bad checkpoint folders fail with one line naming the file", async () => {
  const dir = `${await Deno.makeTempDir()}/ck`;
  const model = tinyModel(2);
  await assert.rejects(
    () => readBackboneCheckpoint(dir),
    (e: Error) =>
      e.message.startsWith(`${dir}/backbone.json: missing`) &&
      !e.message.includes("\n"),
  );
  await saveBackboneCheckpoint(
    dir,
    model.backbone.namedVariables(),
    manifest(),
  );
  const file = `${dir}/${MANIFEST_FILE}`;
  const good = await Deno.readTextFile(file);
  const cases: [unknown, RegExp][] = [
    [{ ...manifest(), format: "x/1" }, /format is "x\/1"/],
    [{ ...manifest(), architecture: "" }, /architecture must be/],
    [{
      ...manifest(),
      preprocessing: { ...productPreprocessing(16), std: [1, 0, 1] },
    }, /std must be positive/],
    [{
      ...manifest(),
      preprocessing: { ...productPreprocessing(16), range: 2 },
    }, /range must be 1 or 255/],
    [{ ...manifest(), provenance: { source: "x" } }, /provenance needs/],
  ];
  for (const [m, re] of cases) {
    await Deno.writeTextFile(file, JSON.stringify(m));
    await assert.rejects(
      () => readBackboneCheckpoint(dir),
      (e: Error) =>
        e.message.startsWith(file) && re.test(e.message) &&
        !e.message.includes("\n"),
    );
  }
  await Deno.writeTextFile(file, "{ nope");
  await assert.rejects(() => readBackboneCheckpoint(dir), /malformed JSON/);
  await Deno.writeTextFile(file, good);
  const bin = await Deno.readFile(`${dir}/weights.bin`);
  await Deno.writeFile(`${dir}/weights.bin`, bin.slice(0, bin.length - 4));
  await assert.rejects(
    () => readBackboneCheckpoint(dir),
    /model\.json: weights are \d+ bytes, manifest says \d+/,
  );
  model.dispose();
});

Deno.test("preprocessing in torchvision units (range 1) equals the loader's 0-255 normalisation", () => {
  const tv = {
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    inputSize: 224,
    range: 1,
  };
  const n = normalizationOf(tv);
  // 0.485 * 255 = 123.675, 0.229 * 255 = 58.395 (the loader's constants).
  assert.ok(Math.abs(n.mean[0] - 123.675) < 1e-9);
  assert.ok(Math.abs(n.std[2] - 57.375) < 1e-9);
  checkNormalization("ck", tv, IMAGENET_NORMALIZATION);
  assert.throws(
    () =>
      checkNormalization(
        "ck",
        { ...tv, mean: [0.5, 0.5, 0.5] },
        IMAGENET_NORMALIZATION,
      ),
    /^Error: ck: backbone expects inputs normalised with mean \[127\.500/,
  );
});
