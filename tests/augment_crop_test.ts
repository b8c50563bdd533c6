/**
 * Random resized crop + flip (torchvision's `RandomResizedCrop` rules):
 * windows inside the image with the allowed area and aspect, the
 * centre-crop fallback, exact pixels for known windows, determinism.
 */
import assert from "node:assert/strict";
import { resizeBilinear } from "../image/resize.ts";
import { Registry } from "../core/registry.ts";
import { Rng } from "../core/rng.ts";
import type { RawImage } from "../core/types.ts";
import augmentPlugin, {
  cropAndResize,
  randomCropWindow,
  RandomResizedCrop,
  resizedCropDefaults,
} from "../plugins/augment/mod.ts";

function image(w: number, h: number): RawImage {
  return {
    data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 13) % 256),
    width: w,
    height: h,
    channels: 3,
  };
}

Deno.test("crop window: inside the image, area 0.08-1 and aspect 3/4-4/3 up to rounding, both ends reached", () => {
  const o = resizedCropDefaults(32);
  const rng = new Rng(1);
  let minArea = 1, maxArea = 0, minRatio = 9, maxRatio = 0;
  const W = 200, H = 160;
  for (let i = 0; i < 3000; i++) {
    const w = randomCropWindow(rng, W, H, o);
    assert.ok(w.left >= 0 && w.top >= 0, JSON.stringify(w));
    assert.ok(w.left + w.width <= W && w.top + w.height <= H);
    const area = (w.width * w.height) / (W * H);
    const ratio = w.width / w.height;
    // Rounding of w and h moves area and ratio a little.
    assert.ok(area >= 0.075 && area <= 1, `area ${area}`);
    assert.ok(ratio >= 0.72 && ratio <= 1.39, `ratio ${ratio}`);
    minArea = Math.min(minArea, area);
    maxArea = Math.max(maxArea, area);
    minRatio = Math.min(minRatio, ratio);
    maxRatio = Math.max(maxRatio, ratio);
  }
  assert.ok(minArea < 0.1 && maxArea > 0.9, `${minArea}..${maxArea}`);
  assert.ok(minRatio < 0.8 && maxRatio > 1.25, `${minRatio}..${maxRatio}`);
});

Deno.test("crop window: when no try fits, the centre crop at the nearest allowed aspect", () => {
  // Whole-area crops of a 100x20 strip never fit at aspect <= 4/3: the
  // fallback keeps the full height and cuts the width to 20 * 4/3 = 27.
  const o = { scaleMin: 1, scaleMax: 1, ratioMin: 3 / 4, ratioMax: 4 / 3 };
  assert.deepEqual(randomCropWindow(new Rng(0), 100, 20, o), {
    top: 0,
    left: 36,
    height: 20,
    width: 27,
  });
  // A tall strip: full width, height 20 / (3/4) = 27.
  assert.deepEqual(randomCropWindow(new Rng(0), 20, 100, o), {
    top: 36,
    left: 0,
    height: 27,
    width: 20,
  });
});

Deno.test("crop and resize: the window's pixels, resized bilinearly", () => {
  const img = image(6, 5);
  const window = { top: 1, left: 2, height: 3, width: 3 };
  const same = cropAndResize(img, window, 3);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 3; x++) {
      for (let k = 0; k < 3; k++) {
        assert.equal(
          same.data[(y * 3 + x) * 3 + k],
          img.data[((y + 1) * 6 + x + 2) * 3 + k],
        );
      }
    }
  }
  assert.deepEqual(cropAndResize(img, window, 7), resizeBilinear(same, 7, 7));
});

Deno.test("random-resized-crop: deterministic per seed, flip 0 / 1 exact, registered, classification only", () => {
  const img = image(10, 10);
  // Whole-image crops of a square image: only the flip changes it.
  const whole = (flip: number) =>
    new RandomResizedCrop({
      ...resizedCropDefaults(10),
      scaleMin: 1,
      ratioMin: 1,
      ratioMax: 1,
      flip,
    });
  const s = whole(0).apply({ id: 1, image: img, label: 3 }, new Rng(4));
  assert.deepEqual(s.image.data, img.data);
  assert.equal(s.label, 3);
  const flipped = whole(1).apply({ id: 1, image: img }, new Rng(4));
  assert.equal(flipped.image.data[0], img.data[9 * 3]);
  assert.equal(flipped.image.data[9 * 3 + 2], img.data[2]);

  const aug = new Registry().use(augmentPlugin).create(
    "augmenter",
    "random-resized-crop",
    { outputSize: 6 },
  );
  const a = aug.apply({ id: 0, image: image(20, 14) }, new Rng(9));
  const b = aug.apply({ id: 0, image: image(20, 14) }, new Rng(9));
  const c = aug.apply({ id: 0, image: image(20, 14) }, new Rng(10));
  assert.equal(a.image.width, 6);
  assert.equal(a.image.height, 6);
  assert.deepEqual(a.image.data, b.image.data);
  assert.notDeepEqual(a.image.data, c.image.data);
  assert.throws(
    () =>
      aug.apply({ id: 5, image: img, boxes: new Float32Array(4) }, new Rng(0)),
    /sample 5 has boxes or a mask/,
  );
  assert.throws(
    () => new RandomResizedCrop({ ...resizedCropDefaults(8), scaleMin: 0 }),
    /scaleMin/,
  );
});
