/**
 * The IDX format of MNIST and Fashion-MNIST (big-endian header: two zero
 * bytes, a type byte, the number of dimensions, then one uint32 per
 * dimension; unsigned bytes follow), read plain or gzipped, and written out
 * as an image folder of PNG files so those sets go through the same
 * `image-folder` path as any other classification data.
 */
import { encodePng } from "../../image/codec.ts";
import type { RawImage } from "../../core/types.ts";

/** An IDX array of unsigned bytes. */
export interface IdxArray {
  /** Size of each dimension, outermost first. */
  dims: number[];
  /** The values, row-major. */
  data: Uint8Array;
}

const UBYTE = 0x08;

/** Parses IDX bytes (type ubyte only); `file` names the source in errors. */
export function parseIdx(bytes: Uint8Array, file = "<bytes>"): IdxArray {
  const bad = (what: string): never => {
    throw new Error(`${file}: not an IDX file: ${what}`);
  };
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    bad("magic number must start with two zero bytes");
  }
  if (bytes[2] !== UBYTE) {
    bad(
      `type 0x${bytes[2].toString(16)} (only unsigned bytes, 0x08, are read)`,
    );
  }
  const rank = bytes[3];
  if (rank < 1 || bytes.length < 4 + 4 * rank) bad("truncated header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const dims = Array.from(
    { length: rank },
    (_, i) => view.getUint32(4 + 4 * i),
  );
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (bytes.length !== start + count) {
    bad(
      `header promises ${count} values (${dims.join("x")}), file has ${
        bytes.length - start
      }`,
    );
  }
  return { dims, data: bytes.subarray(start) };
}

/** Reads an IDX file, gunzipping it when its name ends in `.gz`. */
export async function readIdxFile(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
    if (path.endsWith(".gz")) {
      const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
        .pipeThrough(new DecompressionStream("gzip"));
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    }
  } catch (e) {
    throw new Error(
      `${path}: cannot read: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  return parseIdx(bytes, path);
}

/**
 * Writes images `indices` of an IDX image array (`[n, h, w]`, grey) with
 * their IDX labels (`[n]`) as `dir/<className>/<index>.png`, the PNGs in
 * RGB with the grey value replicated.
 */
export async function writeIdxAsImageFolder(
  images: IdxArray,
  labels: IdxArray,
  classNames: readonly string[],
  dir: string,
  indices: readonly number[],
): Promise<void> {
  if (images.dims.length !== 3 || labels.dims.length !== 1) {
    throw new Error(
      `idx: expected images [n, h, w] and labels [n], got [${images.dims}] and [${labels.dims}]`,
    );
  }
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n) {
    throw new Error(`idx: ${n} images but ${labels.dims[0]} labels`);
  }
  for (const name of classNames) {
    await Deno.mkdir(`${dir}/${name}`, { recursive: true });
  }
  const digits = String(n - 1).length;
  for (const i of indices) {
    const label = labels.data[i];
    const name = classNames[label];
    if (name === undefined) {
      throw new Error(`idx: label ${label} of image ${i} has no class name`);
    }
    const image: RawImage = {
      data: images.data.subarray(i * h * w, (i + 1) * h * w),
      width: w,
      height: h,
      channels: 1,
    };
    await Deno.writeFile(
      `${dir}/${name}/${String(i).padStart(digits, "0")}.png`,
      encodePng(image),
    );
  }
}
