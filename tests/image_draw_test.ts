import assert from "node:assert/strict";
import { createImage } from "../image/codec.ts";
import {
  drawBox,
  drawText,
  fillRect,
  GLYPH_HEIGHT,
  textWidth,
} from "../image/draw.ts";
import type { RawImage } from "../core/types.ts";

function px(img: RawImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

function countLit(img: RawImage): number {
  let n = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    if (img.data[i * 3] || img.data[i * 3 + 1] || img.data[i * 3 + 2]) n++;
  }
  return n;
}

Deno.test("drawBox outlines exactly the border pixels", () => {
  const img = createImage(10, 10);
  drawBox(img, [2, 3, 7, 8], { color: [255, 0, 0], thickness: 1 });
  // 5×5 box, 1 px outline: 16 pixels.
  assert.equal(countLit(img), 16);
  assert.deepEqual(px(img, 2, 3), [255, 0, 0]);
  assert.deepEqual(px(img, 6, 7), [255, 0, 0]);
  assert.deepEqual(px(img, 4, 5), [0, 0, 0]);
  assert.deepEqual(px(img, 7, 8), [0, 0, 0]);
});

Deno.test("fillRect clips and blends", () => {
  const img = createImage(4, 4);
  fillRect(img, [-5, -5, 2, 2], [200, 100, 0], 0.5);
  assert.equal(countLit(img), 4);
  assert.deepEqual(px(img, 1, 1), [100, 50, 0]);
});

Deno.test("drawText renders the 5x7 glyphs", () => {
  const img = createImage(20, 10);
  drawText(img, "1", 0, 0, [255, 255, 255]);
  // Glyph "1": rows 040c040404040e → 1+2+1+1+1+1+3 = 10 lit pixels.
  assert.equal(countLit(img), 10);
  assert.deepEqual(px(img, 2, 0), [255, 255, 255]);
  assert.deepEqual(px(img, 1, 6), [255, 255, 255]);
  assert.equal(textWidth("ab", 2), 22);
  const scaled = createImage(20, 20);
  drawText(scaled, "1", 0, 0, [255, 255, 255], 2);
  assert.equal(countLit(scaled), 40);
});

Deno.test("drawBox draws a caption tab above the box", () => {
  const img = createImage(64, 64);
  drawBox(img, [10, 20, 40, 50], { color: [0, 0, 255], label: "ab 0.9" });
  assert.deepEqual(px(img, 10, 20), [0, 0, 255]);
  // Tab occupies the rows just above the box.
  assert.deepEqual(px(img, 10, 20 - GLYPH_HEIGHT - 2), [0, 0, 255]);
  // Inside of the box untouched.
  assert.deepEqual(px(img, 25, 35), [0, 0, 0]);
  // Box at the image top: caption goes inside, nothing thrown out of range.
  drawBox(img, [50, 0, 70, 10], { label: "long caption text" });
});
