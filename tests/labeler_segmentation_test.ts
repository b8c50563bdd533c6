import assert from "node:assert/strict";
import type { Sample } from "../core/types.ts";
import { argmaxMask, hardSegmentationLabel } from "../plugins/labelers/mod.ts";

function sampleOf(width: number, height: number): Sample {
  return {
    id: "img",
    image: {
      data: new Uint8Array(width * height * 3),
      width,
      height,
      channels: 3,
    },
    mask: new Uint8Array(width * height),
    label: 3,
  };
}

Deno.test("hard-seg: argmax with ignore 255 below the threshold", () => {
  const probs = Float32Array.of(
    0.7,
    0.2,
    0.1, // → 0
    0.2,
    0.4,
    0.4, // top 0.4 < 0.5 → 255
    0.1,
    0.1,
    0.8, // → 2
    0.5,
    0.5,
    0.0, // tie → lower class, 0.5 >= 0.5 → 0
  );
  const out = hardSegmentationLabel(
    { id: "img", probs, width: 2, height: 2 },
    sampleOf(2, 2),
  )!;
  assert.deepEqual([...out.mask!], [0, 255, 2, 0]);
  assert.deepEqual([out.id, out.width, out.height, out.classes.length], [
    "img",
    2,
    2,
    0,
  ]);
  const strict = argmaxMask(probs, 3, 0.75);
  assert.deepEqual([...strict], [255, 255, 2, 255]);
});

Deno.test("hard-seg: probability map resized to the sample; bad input named", () => {
  const out = hardSegmentationLabel(
    { id: "img", probs: Float32Array.of(0.1, 0.9), width: 1, height: 1 },
    sampleOf(3, 2),
  )!;
  assert.deepEqual([...out.mask!], [1, 1, 1, 1, 1, 1]);
  assert.throws(
    () =>
      hardSegmentationLabel({
        id: "img",
        probs: new Float32Array(5),
        width: 2,
        height: 2,
      }, sampleOf(2, 2)),
    /hard-seg: prediction img probs length 5/,
  );
  assert.equal(
    hardSegmentationLabel(
      {
        id: "img",
        probs: Float32Array.of(0.6, 0.4, 0.5, 0.5),
        width: 2,
        height: 1,
      },
      sampleOf(2, 1),
      { threshold: 0.55, minLabelledFraction: 0.75 },
    ),
    null,
  );
});
