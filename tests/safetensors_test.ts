import assert from "node:assert/strict";
import {
  parseSafetensors,
  readSafetensors,
} from "../plugins/pretrain/safetensors.ts";

/** A safetensors file from a header object and its data bytes, by hand. */
function build(
  header: unknown,
  data: number[],
  headerLength?: number,
): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(
    0,
    BigInt(headerLength ?? json.length),
    true,
  );
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian bytes of float32 values. */
function f32(...v: number[]): number[] {
  return [...new Uint8Array(new Float32Array(v).buffer)];
}

const GOOD_HEADER = {
  __metadata__: { format: "pt" },
  w: { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] },
  h: { dtype: "F16", shape: [3], data_offsets: [24, 30] },
  b: { dtype: "BF16", shape: [1], data_offsets: [30, 32] },
  n: { dtype: "I64", shape: [], data_offsets: [32, 40] },
};
const GOOD_DATA = [
  ...f32(1, -2, 0.5, 3.25, 1e-3, -7),
  // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 2^-24 (smallest subnormal) = 0x0001
  0x00,
  0x3c,
  0x00,
  0xc0,
  0x01,
  0x00,
  // BF16 1.5 = 0x3FC0
  0xc0,
  0x3f,
  // I64 7
  7,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
];

Deno.test("safetensors: hand-made file decodes every dtype, shape and value", () => {
  const t = parseSafetensors(build(GOOD_HEADER, GOOD_DATA), "hand.safetensors");
  assert.deepEqual([...t.keys()].sort(), ["b", "h", "n", "w"]);
  assert.deepEqual(t.get("w")!.shape, [2, 3]);
  assert.deepEqual(
    [...t.get("w")!.data],
    [...new Float32Array([1, -2, 0.5, 3.25, 1e-3, -7])],
  );
  assert.equal(t.get("w")!.dtype, "F32");
  assert.deepEqual([...t.get("h")!.data], [1, -2, 2 ** -24]);
  assert.deepEqual([...t.get("b")!.data], [1.5]);
  assert.deepEqual(t.get("n")!.shape, []);
  assert.deepEqual([...t.get("n")!.data], [7]);
});

Deno.test("safetensors: damaged files fail with one line naming the file", async () => {
  const good = build(GOOD_HEADER, GOOD_DATA);
  const cases: [Uint8Array, RegExp][] = [
    [good.slice(0, 5), /truncated: 5 bytes, not even the 8-byte header length/],
    [
      good.slice(0, 40),
      /truncated: header says \d+ bytes of JSON, the file has 32/,
    ],
    [
      good.slice(0, good.length - 3),
      /truncated: tensor "n" ends at byte 40 of the data, which has 37/,
    ],
    [build(GOOD_HEADER, GOOD_DATA, 3), /bad header: not JSON/],
    [build([1, 2], []), /bad header: not a JSON object/],
    [
      build({ x: { dtype: "Q7", shape: [1], data_offsets: [0, 4] } }, f32(1)),
      /bad header: tensor "x" has unknown dtype "Q7"/,
    ],
    [
      build({ x: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, f32(1)),
      /bad header: tensor "x" is F32 \[2\] \(8 bytes\) but data_offsets span 4/,
    ],
    [
      build({ x: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32(1)),
      /tensor "x" has no valid shape/,
    ],
    [
      build({ x: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, f32(1)),
      /tensor "x" has no valid data_offsets/,
    ],
    [
      build({
        x: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        y: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
      }, f32(1, 2)),
      /tensors "x" and "y" overlap/,
    ],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(
      () => parseSafetensors(bytes, "/d/w.safetensors"),
      (e: Error) =>
        e.message.startsWith("/d/w.safetensors: ") && re.test(e.message) &&
        !e.message.includes("\n"),
      String(re),
    );
  }
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/w.safetensors`, good.slice(0, 40));
  await assert.rejects(
    () => readSafetensors(`${dir}/w.safetensors`),
    new RegExp(`^Error: ${dir}/w\\.safetensors: truncated`),
  );
  await assert.rejects(
    () => readSafetensors(`${dir}/missing.safetensors`),
    /missing\.safetensors: cannot read/,
  );
  await Deno.remove(dir, { recursive: true });
});
