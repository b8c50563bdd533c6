/**
 * torchvision EfficientNet → backbone checkpoint, against PyTorch itself:
 * `tests/fixtures/torchvision_efficientnet` holds torchvision's EfficientNet
 * (the B0 table at width 0.25, depth 0.5, random seeded weights and batch
 * norm) as safetensors, two images and PyTorch's logits on them, made by
 * `tools/make_torchvision_fixture.py`. The imported model must give the
 * same logits, and `deno task classify` the same top-5.
 */
import assert from "node:assert/strict";
import { encodePng } from "../image/codec.ts";
import type { RawImage } from "../core/types.ts";
import { createBuiltinRegistry } from "../plugins/builtin.ts";
import {
  EFFICIENTNET_FPN_DEFAULTS,
  EfficientNetFpn,
} from "../plugins/efficientnet/mod.ts";
import {
  checkpointBatch,
  checkpointClassifier,
  disposeBackboneCheckpoint,
  initBackbone,
  initOverrides,
  readBackboneCheckpoint,
} from "../plugins/pretrain/mod.ts";
import { main as importWeights } from "../cli/import_weights.ts";
import { classifyFolder } from "../cli/classify.ts";

const FIXTURE = new URL("./fixtures/torchvision_efficientnet/", import.meta.url)
  .pathname;
const WEIGHTS = `${FIXTURE}weights.safetensors`;

interface Expected {
  width_mult: number;
  depth_mult: number;
  images: { name: string; width: number; height: number; rgb: string }[];
  logits: number[][];
}
const expected: Expected = JSON.parse(
  await Deno.readTextFile(`${FIXTURE}expected.json`),
);
const images: RawImage[] = expected.images.map((im) => ({
  data: Uint8Array.from(atob(im.rgb), (c) => c.charCodeAt(0)),
  width: im.width,
  height: im.height,
  channels: 3,
}));

const IMPORT_ARGS = [
  "--from",
  "torchvision",
  "--model",
  "efficientnet-b0",
  "--in",
  WEIGHTS,
  "--width-mult",
  "0.25",
  "--depth-mult",
  "0.5",
  "--input-size",
  "64",
  "--resize",
  "64",
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function imported(): Promise<string> {
  const out = `${await Deno.makeTempDir()}/b0`;
  assert.equal(await importWeights([...IMPORT_ARGS, "--out", out]), 0);
  return out;
}

Deno.test("imported torchvision EfficientNet gives PyTorch's logits (max abs <= 1e-3); 'same' padding would not", async () => {
  const dir = await imported();
  const registry = createBuiltinRegistry();
  const ck = await readBackboneCheckpoint(dir);
  const m = ck.manifest;
  assert.equal(m.architecture, "efficientnet-b0");
  assert.equal(m.config.bnEpsilon, 1e-5);
  assert.equal(m.config.padding, "symmetric");
  assert.deepEqual([m.config.widthScale, m.config.depthScale], [0.25, 0.5]);
  assert.deepEqual(m.preprocessing.mean, [0.485, 0.456, 0.406]);
  assert.equal(m.preprocessing.range, 1);
  assert.equal(m.provenance.source, "torchvision");
  assert.match(String(m.provenance.sha256), /^[0-9a-f]{64}$/);
  assert.equal(m.classes!.length, 1000);
  // No PyTorch-only tensor came along, and BN statistics did.
  assert.ok(![...ck.tensors.keys()].some((n) => n.includes("num_batches")));
  assert.ok(ck.tensors.has("block0.depthwise_bn.moving_variance"));

  const logitsOf = (config: Record<string, unknown>) => {
    const clf = checkpointClassifier(
      { manifest: { ...m, config }, tensors: ck.tensors },
      dir,
      registry,
    );
    const batch = checkpointBatch(images, m.preprocessing);
    const out = clf.logits(batch).dataSync() as Float32Array;
    batch.dispose();
    clf.dispose();
    return out;
  };
  const want = expected.logits.flat();
  const got = logitsOf(m.config);
  assert.equal(got.length, 2 * 1000);
  const diff = maxAbsDiff(got, want);
  console.log(`max abs logit difference to PyTorch: ${diff}`);
  assert.ok(diff <= 1e-3, `max abs logit difference ${diff}`);
  // TensorFlow's 'same' padding shifts every strided conv: visibly wrong.
  const shifted = maxAbsDiff(
    logitsOf({ ...m.config, padding: "same" }),
    want,
  );
  console.log(`with same padding: ${shifted}`);
  assert.ok(shifted > 1e-2, `same padding differs by only ${shifted}`);
  // Keras's epsilon (1e-3) instead of torchvision's B0 one (1e-5) is off too.
  const eps = maxAbsDiff(logitsOf({ ...m.config, bnEpsilon: 1e-3 }), want);
  assert.ok(eps > 1e-3, `epsilon 1e-3 differs by only ${eps}`);
  disposeBackboneCheckpoint(ck);
});

Deno.test("classify prints PyTorch's top-5 for each fixture image", async () => {
  const dir = await imported();
  const folder = await Deno.makeTempDir();
  for (const [i, im] of images.entries()) {
    await Deno.writeFile(`${folder}/${expected.images[i].name}`, encodePng(im));
  }
  const records = await classifyFolder(dir, folder, 5, "cpu");
  assert.deepEqual(
    records.map((r) => r.file),
    expected.images.map((i) => i.name),
  );
  records.forEach((r, i) => {
    const row = expected.logits[i];
    const order = row.map((_, k) => k).sort((a, b) => row[b] - row[a]);
    // The top-6 logits are far enough apart that 1e-3 cannot reorder them.
    for (let k = 0; k < 5; k++) {
      assert.ok(row[order[k]] - row[order[k + 1]] > 2e-3, `gap at ${k}`);
    }
    assert.deepEqual(r.top.map((t) => t.label), order.slice(0, 5));
    assert.deepEqual(r.top.map((t) => t.class), order.slice(0, 5).map(String));
    assert.ok(r.top[0].prob >= r.top[4].prob && r.top[0].prob < 1);
  });
  await assert.rejects(
    () => classifyFolder(`${folder}/nope`, folder, 5, "cpu"),
    /nope\/backbone\.json: missing/,
  );
});

Deno.test("the imported backbone initialises efficientnet-fpn's EfficientNet", async () => {
  const dir = await imported();
  const ck = await readBackboneCheckpoint(dir);
  const overrides = initOverrides(
    "efficientnet-fpn",
    EFFICIENTNET_FPN_DEFAULTS,
    ck.manifest,
    dir,
  );
  assert.equal(overrides.bnEpsilon, 1e-5);
  assert.equal(overrides.padding, "symmetric");
  const fpn = new EfficientNetFpn({
    ...EFFICIENTNET_FPN_DEFAULTS,
    ...overrides,
    fpnFilters: 16,
  });
  const n = initBackbone(fpn, ck, { dir, architecture: "efficientnet-fpn" });
  assert.equal(
    n,
    [...ck.tensors.keys()].filter((k) => !k.startsWith("head.")).length,
  );
  const w =
    fpn.namedVariables().find(([k]) => k === "backbone.stem.conv.kernel")![1];
  assert.deepEqual(
    w.dataSync(),
    ck.tensors.get("stem.conv.kernel")!.dataSync(),
  );
  fpn.dispose();
  disposeBackboneCheckpoint(ck);
});

Deno.test("import-weights: a file of another architecture or a damaged file is a one-line error", async () => {
  const out = `${await Deno.makeTempDir()}/x`;
  const errors: string[] = [];
  const orig = console.error;
  console.error = (msg: string) => errors.push(msg);
  try {
    // B1's depth (1.1) has more blocks than the file.
    const b1 = IMPORT_ARGS.map((a) =>
      a === "efficientnet-b0" ? "efficientnet-b1" : a
    )
      .filter((_, i, all) =>
        !(all[i - 1] === "--depth-mult" || all[i] === "--depth-mult")
      );
    assert.equal(await importWeights([...b1, "--out", out]), 1);
    assert.match(
      errors.at(-1)!,
      new RegExp(
        `^import-weights: ${WEIGHTS}: does not match efficientnet-b1 \\(width 0\\.25, depth default\\): \\d+ missing \\[block`,
      ),
    );
    const bad = `${await Deno.makeTempDir()}/w.safetensors`;
    await Deno.writeFile(bad, (await Deno.readFile(WEIGHTS)).slice(0, 5000));
    const args = IMPORT_ARGS.map((a) => a === WEIGHTS ? bad : a);
    assert.equal(await importWeights([...args, "--out", out]), 1);
    assert.match(
      errors.at(-1)!,
      new RegExp(`^import-weights: ${bad}: truncated`),
    );
    assert.equal(await importWeights(["--from", "caffe"]), 2);
    for (const e of errors) {
      assert.ok(!e.split(USAGE_LINE)[0].includes("\n"), e);
    }
  } finally {
    console.error = orig;
  }
  // Nothing was written for the failed imports.
  await assert.rejects(() => Deno.stat(out));
});

const USAGE_LINE = "\nusage:";
