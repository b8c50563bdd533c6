import assert from "node:assert/strict";
import {
  createImage,
  decodeImage,
  encodeJpeg,
  encodePng,
  readImage,
  sniffFormat,
  writeImage,
} from "../image/codec.ts";
import type { RawImage } from "../core/types.ts";

function gradient(w: number, h: number): RawImage {
  const img = createImage(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      img.data[o] = (x * 255 / (w - 1)) | 0;
      img.data[o + 1] = (y * 255 / (h - 1)) | 0;
      img.data[o + 2] = 128;
    }
  }
  return img;
}

Deno.test("png round-trips exactly", () => {
  const img = gradient(17, 9);
  const bytes = encodePng(img);
  assert.equal(sniffFormat(bytes), "png");
  const back = decodeImage(bytes);
  assert.equal(back.width, 17);
  assert.equal(back.height, 9);
  assert.equal(back.channels, 3);
  assert.deepEqual(back.data, img.data);
});

Deno.test("png of a grey image decodes to replicated RGB", () => {
  const grey: RawImage = {
    data: new Uint8Array([0, 50, 100, 250]),
    width: 2,
    height: 2,
    channels: 1,
  };
  const back = decodeImage(encodePng(grey));
  assert.deepEqual([...back.data], [
    0,
    0,
    0,
    50,
    50,
    50,
    100,
    100,
    100,
    250,
    250,
    250,
  ]);
});

Deno.test("jpeg round-trips within compression error", () => {
  const img = gradient(32, 24);
  const bytes = encodeJpeg(img, 95);
  assert.equal(sniffFormat(bytes), "jpeg");
  const back = decodeImage(bytes);
  assert.equal(back.width, 32);
  assert.equal(back.height, 24);
  let err = 0;
  for (let i = 0; i < img.data.length; i++) {
    err = Math.max(err, Math.abs(img.data[i] - back.data[i]));
  }
  assert.ok(err < 16, `max error ${err}`);
});

Deno.test("bad bytes give one-line errors naming the file", () => {
  assert.throws(
    () => decodeImage(new Uint8Array([1, 2, 3, 4]), "x.jpg"),
    /^Error: x\.jpg: not a JPEG or PNG image$/,
  );
  const truncated = encodePng(gradient(8, 8)).slice(0, 40);
  assert.throws(() => decodeImage(truncated, "t.png"), (e: Error) => {
    assert.match(e.message, /^t\.png: cannot decode png image/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});

Deno.test("writeImage / readImage by extension, missing file named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = gradient(10, 6);
    await writeImage(`${dir}/a.png`, img);
    await writeImage(`${dir}/a.jpg`, img);
    assert.deepEqual((await readImage(`${dir}/a.png`)).data, img.data);
    assert.equal((await readImage(`${dir}/a.jpg`)).width, 10);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["a.jpg", "a.png"],
    );
    await assert.rejects(
      readImage(`${dir}/nope.jpg`),
      /nope\.jpg: cannot read image file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jpeg encoder: noisy odd-sized images decode close to the input", () => {
  for (const [w, h] of [[37, 21], [9, 30], [64, 64]]) {
    const img = createImage(w, h);
    let s = 12345;
    for (let i = 0; i < img.data.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      img.data[i] = s >>> 24;
    }
    for (const [q, tol] of [[100, 1.5], [90, 9], [50, 35]]) {
      const back = decodeImage(encodeJpeg(img, q));
      assert.equal(back.width, w);
      assert.equal(back.height, h);
      let err = 0;
      for (let i = 0; i < img.data.length; i++) {
        err += Math.abs(img.data[i] - back.data[i]);
      }
      const mae = err / img.data.length;
      assert.ok(mae < tol, `${w}x${h} q${q}: mean abs error ${mae}`);
    }
  }
});
