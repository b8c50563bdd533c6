/** Preview grid rendering and the augment-preview CLI. */
import assert from "node:assert/strict";
import { main } from "../cli/augment_preview.ts";
import { readImage } from "../image/codec.ts";
import { colorFor } from "../image/draw.ts";
import { IGNORE_LABEL, type Sample } from "../core/types.ts";
import {
  demoSamples,
  letterbox,
  overlayMask,
  renderGrid,
} from "../plugins/augment/preview.ts";

Deno.test("letterbox keeps the aspect ratio and pads bottom-right", () => {
  const s: Sample = {
    id: 0,
    image: {
      data: new Uint8Array(40 * 20 * 3).fill(200),
      width: 40,
      height: 20,
      channels: 3,
    },
    boxes: Float32Array.of(0, 0, 40, 20),
  };
  const out = letterbox(s, 16);
  assert.equal(out.image.width, 16);
  assert.deepEqual([...out.boxes!], [0, 0, 16, 8]);
  assert.equal(out.image.data[(4 * 16 + 4) * 3], 200);
  assert.equal(out.image.data[(12 * 16 + 4) * 3], 0);
});

Deno.test("grid: tiles, box outlines and mask overlay", () => {
  const samples = demoSamples(5, 32, 0);
  const grid = renderGrid(samples, { tile: 32, gap: 2 });
  // 3 columns × 2 rows.
  assert.equal(grid.width, 3 * 32 + 4 * 2);
  assert.equal(grid.height, 2 * 32 + 3 * 2);
  // One box at (8, 12)–(24, 28) of class 4: its left edge is drawn in the
  // class colour, its inside is left alone.
  const one: Sample = {
    id: 0,
    image: {
      data: new Uint8Array(32 * 32 * 3),
      width: 32,
      height: 32,
      channels: 3,
    },
    boxes: Float32Array.of(8, 12, 24, 28),
    labels: Int32Array.of(4),
  };
  const g1 = renderGrid([one], { tile: 32, gap: 2 });
  const at = (
    x: number,
    y: number,
  ) => [
    ...g1.data.subarray((y * g1.width + x) * 3, (y * g1.width + x) * 3 + 3),
  ];
  assert.deepEqual(at(2 + 8, 2 + 20), [...colorFor(4)]);
  assert.deepEqual(at(2 + 16, 2 + 20), [0, 0, 0]);
  assert.deepEqual(at(0, 0), [40, 40, 40]);
  const ov = overlayMask({
    id: 0,
    image: {
      data: new Uint8Array(9).fill(100),
      width: 3,
      height: 1,
      channels: 3,
    },
    mask: Uint8Array.of(IGNORE_LABEL, 0, 1),
  });
  // Class 1 in VOC's (128, 0, 0) at alpha 0.45: 100·0.55 + 128·0.45 = 112.6.
  assert.deepEqual([...ov.data], [50, 50, 50, 100, 100, 100, 113, 55, 55]);
});

Deno.test("augment-preview CLI writes a PNG grid; bad input is a one-line error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/grid.png`;
    const code = await main([
      "--policy",
      "S3",
      "--out",
      out,
      "--n",
      "4",
      "--size",
      "48",
    ]);
    assert.equal(code, 0);
    const img = await readImage(out);
    assert.equal(img.width, 2 * 48 + 3 * 4);
    assert.equal(await main(["--policy", "S9", "--out", out]), 1);
    assert.equal(
      await main(["--policy", "S4", "--out", out, "--opt", "m=11", "--n", "1"]),
      1,
    );
    assert.equal(await main(["--policy", "S4"]), 1);
    assert.equal(await main(["--data", `${dir}/missing`, "--out", out]), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
