/**
 * mIoU from one confusion matrix (hand-computed), mask PNGs (palette and
 * grey) and `deno task eval voc`.
 */
import assert from "node:assert/strict";
import { runEvalCli } from "./eval_helpers.ts";
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import { ConfusionMatrix } from "../eval/miou.ts";
import { decodeMaskPng, encodeMaskPng, vocPalette } from "../image/mask_png.ts";

Deno.test("confusion matrix: IoU, mIoU and pixel accuracy by hand; 255 ignored", () => {
  const cm = new ConfusionMatrix(3);
  // image 1: gt 0 0 1 1 255 ; pred 0 1 1 1 2
  cm.add(Uint8Array.of(0, 0, 1, 1, 255), Uint8Array.of(0, 1, 1, 1, 2));
  // image 2: gt 1 0 ; pred 1 0
  cm.add(Uint8Array.of(1, 0), Uint8Array.of(1, 0));
  // counts: (0,0)=2 (0,1)=1 (1,1)=3 ; class 2 absent in both
  assert.deepEqual(Array.from(cm.counts), [2, 1, 0, 0, 3, 0, 0, 0, 0]);
  const m = cm.metrics();
  // class 0: tp 2, union 2+1+0 = 3; class 1: tp 3, union 3+1 = 4
  assert.deepEqual(m.IoU, [2 / 3, 3 / 4, null]);
  assert.ok(Math.abs(m.mIoU - (2 / 3 + 3 / 4) / 2) < 1e-12);
  assert.equal(m.pixelAccuracy, 5 / 6);
});

Deno.test("confusion matrix: a whole-set matrix is not a mean of per-image IoUs", () => {
  const cm = new ConfusionMatrix(2);
  cm.add(Uint8Array.of(1, 1, 1, 1), Uint8Array.of(1, 1, 1, 0)); // IoU1 3/4
  cm.add(Uint8Array.of(0, 1), Uint8Array.of(0, 0)); // IoU1 0
  // whole set: class 1 tp 3, fn 2 → 3/5; class 0 tp 1, fp 2 → 1/3
  const m = cm.metrics();
  assert.ok(Math.abs(m.IoU[1]! - 3 / 5) < 1e-12);
  assert.ok(Math.abs(m.IoU[0]! - 1 / 3) < 1e-12);
});

Deno.test("confusion matrix: out-of-range index and size mismatch fail", () => {
  const cm = new ConfusionMatrix(2);
  assert.throws(
    () => cm.add(Uint8Array.of(0), Uint8Array.of(2), "x.png"),
    /x.png: class index 2 out of range .* prediction/,
  );
  assert.throws(
    () => cm.add(Uint8Array.of(3), Uint8Array.of(0), "y.png"),
    /y.png: class index 3 .* ground truth/,
  );
  assert.throws(
    () => cm.add(Uint8Array.of(0, 1), Uint8Array.of(0)),
    /1 pixels, ground truth 2/,
  );
});

Deno.test("mask PNG: palette round trip, VOC colours, grey PNG, bad bytes", () => {
  const pal = vocPalette();
  assert.deepEqual(Array.from(pal.subarray(3, 6)), [128, 0, 0]); // aeroplane
  assert.deepEqual(Array.from(pal.subarray(15 * 3, 16 * 3)), [192, 128, 128]); // person
  assert.deepEqual(Array.from(pal.subarray(255 * 3)), [224, 224, 192]); // ignore
  const mask = {
    data: Uint8Array.of(0, 1, 20, 255, 15, 0),
    width: 3,
    height: 2,
  };
  const bytes = encodeMaskPng(mask);
  assert.deepEqual(decodeMaskPng(bytes), mask);
  // The palette PNG decodes to the VOC colours in any PNG reader.
  const rgba = PNG.sync.read(Buffer.from(bytes)).data;
  assert.deepEqual(Array.from(rgba.subarray(4, 7)), [128, 0, 0]);
  const grey = new PNG({
    width: 2,
    height: 1,
    colorType: 0,
    inputColorType: 0,
    bitDepth: 8,
  });
  grey.data = Buffer.from([7, 255]);
  const greyBytes = new Uint8Array(
    PNG.sync.write(grey, { colorType: 0, inputColorType: 0 }),
  );
  assert.deepEqual(Array.from(decodeMaskPng(greyBytes).data), [7, 255]);
  assert.throws(
    () => decodeMaskPng(Uint8Array.of(1, 2, 3), "bad.png"),
    /^Error: bad.png: cannot read mask PNG/,
  );
});

Deno.test("eval voc CLI: --json last line; missing and extra predictions are one-line errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/gt`);
    await Deno.mkdir(`${dir}/pred`);
    const put = (f: string, d: number[]) =>
      Deno.writeFile(
        f,
        encodeMaskPng({ data: Uint8Array.from(d), width: 3, height: 1 }),
      );
    await put(`${dir}/gt/a.png`, [0, 0, 1]);
    await put(`${dir}/pred/a.png`, [0, 1, 1]);
    await put(`${dir}/gt/b.png`, [2, 255, 0]);
    await put(`${dir}/pred/b.png`, [2, 0, 0]);
    const args = [
      "voc",
      "--gt",
      `${dir}/gt`,
      "--pred",
      `${dir}/pred`,
      "--classes",
      "3",
    ];
    const r = await runEvalCli([...args, "--json"]);
    assert.equal(r.code, 0, r.err);
    const last = JSON.parse(r.out.trim().split("\n").at(-1)!);
    // class 0: tp 2, fp 0, fn 1 → 2/3; class 1: 1/2; class 2: 1
    assert.deepEqual(Object.keys(last), ["mIoU", "IoU", "pixelAccuracy"]);
    assert.deepEqual(last.IoU, [2 / 3, 1 / 2, 1]);
    assert.ok(Math.abs(last.mIoU - (2 / 3 + 1 / 2 + 1) / 3) < 1e-12);
    assert.equal(last.pixelAccuracy, 4 / 5);
    await put(`${dir}/pred/c.png`, [0, 0, 0]);
    const extra = await runEvalCli(args);
    assert.equal(extra.code, 1);
    assert.match(extra.err.trim(), /^eval: .*pred\/c\.png: extra prediction/);
    assert.equal(extra.err.trim().split("\n").length, 1);
    await Deno.remove(`${dir}/pred/c.png`);
    await Deno.remove(`${dir}/pred/b.png`);
    const missing = await runEvalCli(args);
    assert.equal(missing.code, 1);
    assert.match(
      missing.err.trim(),
      /^eval: .*pred\/b\.png: missing prediction/,
    );
    assert.equal(missing.err.trim().split("\n").length, 1);
    // --list: only the listed ids; GT masks outside it are left alone.
    await Deno.writeTextFile(`${dir}/val.txt`, "a\n\n");
    const listed = await runEvalCli([
      ...args,
      "--list",
      `${dir}/val.txt`,
      "--json",
    ]);
    assert.equal(listed.code, 0, listed.err);
    const a = JSON.parse(listed.out.trim().split("\n").at(-1)!);
    // a only, gt [0,0,1] vs pred [0,1,1]: class 0 tp 1 fn 1, class 1 tp 1 fp 1.
    assert.deepEqual(a.IoU, [1 / 2, 1 / 2, null]);
    assert.equal(a.pixelAccuracy, 2 / 3);
    await Deno.writeTextFile(`${dir}/val.txt`, "a\nz\n");
    const absent = await runEvalCli([...args, "--list", `${dir}/val.txt`]);
    assert.equal(absent.code, 1);
    assert.match(
      absent.err.trim(),
      /^eval: .*gt\/z\.png: listed, but no such mask$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
