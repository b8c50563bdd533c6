import assert from "node:assert/strict";
import { createImage, encodeJpeg, encodePng } from "../image/codec.ts";
import { readImageSize } from "../image/header.ts";
import { letterbox, resizeBilinear, scaleBoxes } from "../image/resize.ts";
import type { RawImage } from "../core/types.ts";

function grey(
  w: number,
  h: number,
  f: (x: number, y: number) => number,
): RawImage {
  const img = createImage(w, h, 1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) img.data[y * w + x] = f(x, y);
  }
  return img;
}

Deno.test("bilinear 2x upsample with half-pixel centres", () => {
  const img = grey(2, 1, (x) => (x === 0 ? 0 : 100));
  const up = resizeBilinear(img, 4, 1);
  // Output centres at src x = -0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1).
  assert.deepEqual([...up.data], [0, 25, 75, 100]);
});

Deno.test("bilinear 2x downsample averages pixel pairs", () => {
  const img = grey(4, 2, (x, y) => x * 10 + y * 40);
  const down = resizeBilinear(img, 2, 1);
  // Centres at src (0.5, 0.5) and (2.5, 0.5): means of 2x2 blocks.
  assert.deepEqual([...down.data], [25, 45]);
  assert.deepEqual(resizeBilinear(img, 4, 2).data, img.data);
});

Deno.test("letterbox keeps aspect, pads bottom/right, reports scale", () => {
  const img = createImage(200, 100, 3);
  img.data.fill(200);
  const lb = letterbox(img, 64, 64, 7);
  assert.equal(lb.scale, 0.32);
  assert.equal(lb.contentWidth, 64);
  assert.equal(lb.contentHeight, 32);
  assert.equal(lb.image.width, 64);
  assert.equal(lb.image.height, 64);
  assert.equal(lb.image.data[(10 * 64 + 10) * 3], 200);
  assert.equal(lb.image.data[(40 * 64 + 10) * 3], 7);
  assert.deepEqual(
    [...scaleBoxes(new Float32Array([10, 20, 110, 70]), lb.scale)].map((v) =>
      +v.toFixed(4)
    ),
    [
      3.2,
      6.4,
      35.2,
      22.4,
    ],
  );
});

Deno.test("image size from headers without decoding", () => {
  const img = createImage(37, 21);
  assert.deepEqual(readImageSize(encodeJpeg(img)), { width: 37, height: 21 });
  assert.deepEqual(readImageSize(encodePng(img)), { width: 37, height: 21 });
  assert.equal(readImageSize(new Uint8Array([0xff, 0xd8, 0xff])), undefined);
  assert.equal(readImageSize(new Uint8Array(30)), undefined);
});
