/**
 * A reader of the safetensors format (Hugging Face): an 8-byte
 * little-endian header length N, N bytes of JSON mapping each tensor name
 * to `{dtype, shape, data_offsets: [begin, end]}` (offsets into the data
 * that follows; `__metadata__` holds strings), then the raw little-endian
 * tensor bytes. Floating-point tensors are returned as float32, integer
 * ones converted to float32 too (PyTorch's `num_batches_tracked`).
 * Nothing runs Python: this is how `deno task import-weights` reads
 * torchvision weights.
 */

/** One tensor of a safetensors file. */
export interface SafeTensor {
  /** The stored dtype (`F32`, `F16`, `BF16`, `F64`, `I64`, …). */
  dtype: string;
  /** Shape as stored (PyTorch layout). */
  shape: number[];
  /** Values as float32, row-major. */
  data: Float32Array;
}

/** Bytes per element of each dtype the reader knows. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Reads one little-endian element at byte `o`, per dtype (U8 and BOOL: the default). */
const READERS: Readonly<
  Record<string, (view: DataView, o: number) => number>
> = {
  F32: (v, o) => v.getFloat32(o, true),
  F64: (v, o) => v.getFloat64(o, true),
  F16: (v, o) => halfToFloat(v.getUint16(o, true)),
  BF16: (v, o) =>
    new Float32Array(new Uint32Array([v.getUint16(o, true) << 16]).buffer)[0],
  I64: (v, o) => Number(v.getBigInt64(o, true)),
  I32: (v, o) => v.getInt32(o, true),
  I16: (v, o) => v.getInt16(o, true),
  I8: (v, o) => v.getInt8(o),
};

function decode(dtype: string, view: DataView, count: number): Float32Array {
  const out = new Float32Array(count);
  const step = DTYPE_BYTES[dtype];
  const read = Object.hasOwn(READERS, dtype)
    ? READERS[dtype]
    : (v: DataView, o: number) => v.getUint8(o);
  for (let i = 0; i < count; i++) {
    out[i] = read(view, i * step);
  }
  return out;
}

/**
 * Parses safetensors `bytes`; `file` names the source in errors, which are
 * one line (truncated file, bad header, a tensor outside the data or of
 * the wrong byte size, unknown dtype).
 */
export function parseSafetensors(
  bytes: Uint8Array,
  file: string,
): Map<string, SafeTensor> {
  const bad = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (bytes.byteLength < 8) {
    bad(
      `truncated: ${bytes.byteLength} bytes, not even the 8-byte header length`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.byteLength - 8)) {
    bad(
      `truncated: header says ${n} bytes of JSON, the file has ${
        bytes.byteLength - 8
      } after the length`,
    );
  }
  const headerEnd = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(8, headerEnd),
      ),
    );
  } catch (e) {
    bad(`bad header: not JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    bad("bad header: not a JSON object");
  }
  const dataLength = bytes.byteLength - headerEnd;
  const out = new Map<string, SafeTensor>();
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as object)) {
    if (name === "__metadata__") continue;
    const e = entry as {
      dtype?: unknown;
      shape?: unknown;
      data_offsets?: unknown;
    };
    const where = `tensor "${name}"`;
    if (typeof e !== "object" || e === null) {
      bad(`bad header: ${where} is not an object`);
    }
    if (typeof e.dtype !== "string" || !(e.dtype in DTYPE_BYTES)) {
      bad(`bad header: ${where} has unknown dtype ${JSON.stringify(e.dtype)}`);
    }
    const shape = e.shape;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isInteger(d) && d >= 0)
    ) bad(`bad header: ${where} has no valid shape`);
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((d) => Number.isInteger(d) && d >= 0) ||
      offsets[0] > offsets[1]
    ) bad(`bad header: ${where} has no valid data_offsets`);
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) {
      bad(
        `truncated: ${where} ends at byte ${end} of the data, which has ${dataLength}`,
      );
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const dtype = e.dtype as string;
    if (end - begin !== count * DTYPE_BYTES[dtype]) {
      bad(
        `bad header: ${where} is ${dtype} [${shape}] (${
          count * DTYPE_BYTES[dtype]
        } bytes) but data_offsets span ${end - begin}`,
      );
    }
    ranges.push([begin, end, name]);
    const sub = new DataView(
      bytes.buffer,
      bytes.byteOffset + headerEnd + begin,
      end - begin,
    );
    out.set(name, {
      dtype,
      shape: shape as number[],
      data: decode(dtype, sub, count),
    });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) {
      bad(
        `bad header: tensors "${ranges[i - 1][2]}" and "${
          ranges[i][2]
        }" overlap`,
      );
    }
  }
  return out;
}

/** Reads and parses a safetensors file; errors are one line naming it. */
export async function readSafetensors(
  path: string,
): Promise<Map<string, SafeTensor>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(
      `${path}: cannot read: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  return parseSafetensors(bytes, path);
}
