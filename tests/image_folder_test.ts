/**
 * The `image-folder` dataset (ImageNet layout) and the IDX converter:
 * labels from sorted class folders, real PNG/JPEG decoding, resizing, and
 * a one-line error naming the path for each kind of bad input.
 */
import assert from "node:assert/strict";
import { encodeJpeg, encodePng } from "../image/codec.ts";
import { Registry } from "../core/registry.ts";
import type { RawImage } from "../core/types.ts";
import imageFolderPlugin, {
  loadImageFolderSplits,
  parseIdx,
  readIdxFile,
  resizeAndCenterCrop,
  writeIdxAsImageFolder,
} from "../plugins/image_folder/mod.ts";

function pattern(w: number, h: number, salt: number): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 29 + salt * 71) % 256;
  return { data, width: w, height: h, channels: 3 };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "imgfolder-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `files` (path → image, by extension) under `root`. */
async function writeTree(
  root: string,
  files: Record<string, RawImage | Uint8Array>,
): Promise<void> {
  for (const [path, img] of Object.entries(files)) {
    const full = `${root}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    const bytes = img instanceof Uint8Array
      ? img
      : path.endsWith(".png")
      ? encodePng(img)
      : encodeJpeg(img, 95);
    await Deno.writeFile(full, bytes);
  }
}

/** A valid two-class tree with train, val and tune. */
function validTree(): Record<string, RawImage | Uint8Array> {
  return {
    "train/zebra/b.png": pattern(6, 6, 1),
    "train/zebra/a.png": pattern(6, 6, 2),
    "train/ant/x.jpg": pattern(8, 8, 3),
    "train/ant/sub/y.jpeg": pattern(8, 8, 4),
    "train/ant/notes.txt": new TextEncoder().encode("ignored"),
    "train/ant/.hidden.png": new Uint8Array([1, 2, 3]),
    "val/ant/v.png": pattern(6, 6, 5),
    "val/zebra/w.png": pattern(6, 6, 6),
    "tune/ant/t.png": pattern(6, 6, 7),
    "tune/zebra/u.png": pattern(6, 6, 8),
  };
}

Deno.test("image-folder: classes sorted, labels by folder, exact PNG pixels, recursive, others ignored", async () => {
  await withDir(async (dir) => {
    const tree = validTree();
    await writeTree(dir, tree);
    const splits = await loadImageFolderSplits(dir, 0);
    assert.deepEqual(splits.train.classNames, ["ant", "zebra"]);
    assert.equal(splits.train.size, 4);
    assert.equal(splits.val.size, 2);
    assert.equal(splits.tune?.size, 2);
    const ids = [], labels = [];
    for (let i = 0; i < splits.train.size; i++) {
      const s = await splits.train.get(i);
      ids.push(s.id);
      labels.push(s.label);
      assert.deepEqual([...splits.train.labelsOf!(i)], [s.label]);
    }
    assert.deepEqual(ids, [
      "ant/sub/y.jpeg",
      "ant/x.jpg",
      "zebra/a.png",
      "zebra/b.png",
    ]);
    assert.deepEqual(labels, [0, 0, 1, 1]);
    // PNG is lossless: the decoded pixels are the written ones.
    const a = await splits.train.get(2);
    assert.deepEqual(
      a.image.data,
      (tree["train/zebra/a.png"] as RawImage).data,
    );
    // JPEG decodes to the right size, close to the source.
    const y = await splits.train.get(0);
    assert.equal(y.image.width, 8);
    assert.equal(y.image.channels, 3);
    await assert.rejects(() => splits.train.get(4), RangeError);
  });
});

Deno.test("image-folder: images resized (shorter side) and centre-cropped to inputSize", async () => {
  // A 6x2 image whose columns are distinct: size 2 keeps the scale and
  // crops columns 2 and 3.
  const img: RawImage = {
    data: Uint8Array.from(
      { length: 6 * 2 * 3 },
      (_, i) => Math.floor(i / 3) * 10,
    ),
    width: 6,
    height: 2,
    channels: 3,
  };
  const out = resizeAndCenterCrop(img, 2);
  assert.equal(out.width, 2);
  assert.equal(out.height, 2);
  assert.deepEqual([...out.data].filter((_, i) => i % 3 === 0), [
    20,
    30,
    80,
    90,
  ]);
  assert.equal(resizeAndCenterCrop(img, 0), img);
  await withDir(async (dir) => {
    await writeTree(dir, validTree());
    const r = new Registry().use(imageFolderPlugin);
    const splits = await r.create("dataset", "image-folder", {
      root: dir,
      inputSize: 4,
    });
    const s = await splits.train.get(0);
    assert.equal(s.image.width, 4);
    assert.equal(s.image.height, 4);
    assert.equal(s.meta?.sourceWidth, 8);
  });
});

/** Asserts that loading `dir` fails with one line matching `pattern`. */
async function failsWith(dir: string, pattern: RegExp): Promise<void> {
  await assert.rejects(
    () => loadImageFolderSplits(dir, 0),
    (e: Error) => {
      assert.ok(!e.message.includes("\n"), e.message);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

Deno.test("image-folder: a class of train missing from val, or an extra class in tune, is an error naming the folder", async () => {
  await withDir(async (dir) => {
    const tree = validTree();
    delete tree["val/zebra/w.png"];
    await writeTree(dir, tree);
    await failsWith(dir, /\/val\/zebra: missing; train has class "zebra"/);
  });
  await withDir(async (dir) => {
    await writeTree(dir, {
      ...validTree(),
      "tune/yak/1.png": pattern(4, 4, 0),
    });
    await failsWith(dir, /\/tune\/yak: class "yak" has no folder in train/);
  });
});

Deno.test("image-folder: empty class folder, no class folders, missing val, stray image: one-line errors", async () => {
  await withDir(async (dir) => {
    await writeTree(dir, validTree());
    await Deno.mkdir(`${dir}/train/moth`);
    await Deno.mkdir(`${dir}/val/moth`);
    await Deno.mkdir(`${dir}/tune/moth`);
    await failsWith(dir, /\/train\/moth: no images/);
  });
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/train`);
    await failsWith(dir, /\/train: no class folders/);
  });
  await withDir(async (dir) => {
    const tree = validTree();
    for (const k of Object.keys(tree)) if (k.startsWith("val/")) delete tree[k];
    await writeTree(dir, tree);
    await failsWith(dir, /\/val: folder not found/);
  });
  await withDir(async (dir) => {
    await writeTree(dir, { ...validTree(), "val/oops.png": pattern(4, 4, 0) });
    await failsWith(dir, /\/val\/oops\.png: image outside a class folder/);
  });
  await assert.rejects(() => loadImageFolderSplits("", 0), /set root/);
});

Deno.test("image-folder: an undecodable image fails when loaded, naming the file", async () => {
  await withDir(async (dir) => {
    const good = encodeJpeg(pattern(8, 8, 1), 90);
    await writeTree(dir, {
      ...validTree(),
      "train/ant/broken.jpg": good.slice(0, 40),
      "train/ant/text.png": new TextEncoder().encode("not a png"),
    });
    const splits = await loadImageFolderSplits(dir, 0);
    const idOf = (i: number) => splits.train.idOf!(i);
    const broken = [0, 1, 2, 3, 4].find((i) => idOf(i) === "ant/broken.jpg")!;
    const text = [0, 1, 2, 3, 4].find((i) => idOf(i) === "ant/text.png")!;
    for (
      const [i, want] of [[broken, /ant\/broken\.jpg: cannot decode jpeg/], [
        text,
        /ant\/text\.png: not a JPEG or PNG/,
      ]] as const
    ) {
      await assert.rejects(() => splits.train.get(i), (e: Error) => {
        assert.ok(!e.message.includes("\n"), e.message);
        assert.match(e.message, want);
        return true;
      });
    }
  });
});

function idxBytes(dims: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

Deno.test("IDX: parses the header and values; wrong magic, type or size are one-line errors", () => {
  const a = parseIdx(idxBytes([2, 3], [1, 2, 3, 4, 5, 6]));
  assert.deepEqual(a.dims, [2, 3]);
  assert.deepEqual([...a.data], [1, 2, 3, 4, 5, 6]);
  assert.throws(
    () => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), "x.idx"),
    /x\.idx: not an IDX file: magic/,
  );
  const float = idxBytes([1], [0, 0, 0, 0]);
  float[2] = 0x0d;
  assert.throws(() => parseIdx(float, "f"), /f: not an IDX file: type 0xd/);
  assert.throws(
    () => parseIdx(idxBytes([2, 3], [1, 2, 3]), "short"),
    /short: .*promises 6 values \(2x3\), file has 3/,
  );
});

Deno.test("IDX → image folder (gzipped) → image-folder dataset: same pixels and labels", async () => {
  await withDir(async (dir) => {
    // Five 3x2 grey images, labels 1, 0, 2, 1, 2.
    const pixels = Array.from({ length: 5 * 6 }, (_, i) => (i * 41) % 256);
    const labels = [1, 0, 2, 1, 2];
    const gz = async (bytes: Uint8Array) =>
      new Uint8Array(
        await new Response(
          new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
            new CompressionStream("gzip"),
          ),
        ).arrayBuffer(),
      );
    await Deno.writeFile(
      `${dir}/img.gz`,
      await gz(idxBytes([5, 2, 3], pixels)),
    );
    await Deno.writeFile(`${dir}/lab.gz`, await gz(idxBytes([5], labels)));
    const images = await readIdxFile(`${dir}/img.gz`);
    const labs = await readIdxFile(`${dir}/lab.gz`);
    const names = ["0_a", "1_b", "2_c"];
    await writeIdxAsImageFolder(images, labs, names, `${dir}/out/train`, [
      0,
      1,
      2,
    ]);
    await writeIdxAsImageFolder(images, labs, names, `${dir}/out/val`, [3, 4]);
    // Every class folder exists, so val has an (empty) 0_a: that is an error.
    await assert.rejects(
      () => loadImageFolderSplits(`${dir}/out`, 0),
      /out\/val\/0_a: no images/,
    );
    await writeIdxAsImageFolder(images, labs, names, `${dir}/out/val`, [1]);
    const splits = await loadImageFolderSplits(`${dir}/out`, 0);
    assert.deepEqual(splits.train.classNames, names);
    for (let i = 0; i < splits.train.size; i++) {
      const s = await splits.train.get(i);
      const src = Number(String(s.id).split("/")[1].slice(0, -4));
      assert.equal(s.label, labels[src]);
      assert.equal(s.image.width, 3);
      assert.equal(s.image.height, 2);
      for (let p = 0; p < 6; p++) {
        for (let k = 0; k < 3; k++) {
          assert.equal(s.image.data[p * 3 + k], pixels[src * 6 + p]);
        }
      }
    }
    assert.equal(splits.val.size, 3);
    await assert.rejects(
      () => readIdxFile(`${dir}/missing.gz`),
      /missing\.gz: cannot read/,
    );
  });
});

Deno.test("image-folder: linked class folders and images are followed; a broken link is an error naming it", async () => {
  await withDir(async (dir) => {
    await writeTree(dir, {
      ...validTree(),
      "elsewhere/moth/m.png": pattern(6, 6, 9),
      "elsewhere/moth2/n.png": pattern(6, 6, 10),
    });
    await Deno.symlink(`${dir}/elsewhere/moth`, `${dir}/train/moth`);
    await Deno.symlink(`${dir}/elsewhere/moth2`, `${dir}/val/moth`);
    await Deno.symlink(`${dir}/elsewhere/moth2`, `${dir}/tune/moth`);
    const splits = await loadImageFolderSplits(dir, 0);
    assert.deepEqual(splits.train.classNames, ["ant", "moth", "zebra"]);
    assert.equal(splits.train.size, 5);
    await Deno.symlink(`${dir}/nowhere`, `${dir}/train/ant/gone.png`);
    await failsWith(dir, /\/train\/ant\/gone\.png: cannot follow link/);
  });
});
