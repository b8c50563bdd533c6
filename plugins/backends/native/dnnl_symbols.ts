/**
 * The part of oneDNN's v2 C API (dnnl.h, dnnl_types.h) that dnnl_ffi.ts
 * calls: FFI signatures, the enum values it passes, the small helpers
 * around them and the types of the convolution interface.
 */

/** A pooling desc's seven by-pointer arguments (two mds, five dims). */
const POOL_DESCS: "buffer"[] = new Array(7).fill("buffer");

/** FFI signatures of the oneDNN functions used. */
export const SYMBOLS = {
  dnnl_version: { parameters: [], result: "pointer" },
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: {
    parameters: ["buffer", "pointer", "u32"],
    result: "i32",
  },
  dnnl_memory_desc_init_by_strides: {
    parameters: ["buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_memory_desc_init_by_tag: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  dnnl_memory_desc_get_size: { parameters: ["pointer"], result: "usize" },
  dnnl_memory_desc_equal: { parameters: ["pointer", "buffer"], result: "i32" },
  dnnl_dilated_convolution_forward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_data_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_weights_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "pointer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_batch_normalization_forward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_batch_normalization_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_eltwise_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_eltwise_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "f32"],
    result: "i32",
  },
  // desc, [prop,] alg, src and dst mds, strides, kernel, dilation, padding
  dnnl_pooling_v2_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", ...POOL_DESCS],
    result: "i32",
  },
  dnnl_pooling_v2_backward_desc_init: {
    parameters: ["buffer", "i32", ...POOL_DESCS],
    result: "i32",
  },
  dnnl_binary_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_reorder_primitive_desc_create: {
    parameters: [
      "buffer",
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "pointer",
    ],
    result: "i32",
  },
  dnnl_primitive_desc_query_md: {
    parameters: ["pointer", "i32", "i32"],
    result: "pointer",
  },
  dnnl_primitive_desc_query: {
    parameters: ["pointer", "i32", "i32", "buffer"],
    result: "i32",
  },
  dnnl_primitive_desc_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_primitive_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_execute: {
    parameters: ["pointer", "pointer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_memory_create: {
    parameters: ["buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_memory_set_data_handle: {
    parameters: ["pointer", "pointer"],
    result: "i32",
  },
  dnnl_memory_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_attr_create: { parameters: ["buffer"], result: "i32" },
  dnnl_primitive_attr_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_attr_set_post_ops: {
    parameters: ["pointer", "pointer"],
    result: "i32",
  },
  dnnl_post_ops_create: { parameters: ["buffer"], result: "i32" },
  dnnl_post_ops_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_post_ops_append_eltwise: {
    parameters: ["pointer", "f32", "i32", "f32", "f32"],
    result: "i32",
  },
} as const;

/** The opened library's functions. */
export type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

// dnnl_types.h (v2): engine kind, data type, format tag `any`, prop kinds,
// alg kind, query ids and execution argument ids.
/** Engine kind, data type, format tag, prop and alg kinds, query ids. */
export const CPU = 1;
/** f32. */
export const F32 = 3;
/** Format tag `any`. */
export const TAG_ANY = 1;
/** Prop kind. */
export const FORWARD_TRAINING = 64;
/** Prop kind of a forward pass without a backward one. */
export const FORWARD_INFERENCE = 96;
/** Prop kind of a backward pass with parameter gradients. */
export const BACKWARD = 128;
/** Alg kind. */
export const CONVOLUTION_DIRECT = 1;
/**
 * oneDNN's eltwise functions (alg kind, alpha, beta) we use: as a
 * convolution's post-op, and relu and swish as primitives of their own;
 * relu6 is bounded_relu(6), sigmoid logistic, swish's alpha its scale.
 */
export const POST_OPS = {
  relu: [0x1f, 0, 0],
  relu6: [0x8f, 6, 0],
  sigmoid: [0xaf, 0, 0],
  swish: [0xdf, 1, 0],
} as const;
/** An activation a convolution can fuse ({@link POST_OPS}). */
export type PostOp = keyof typeof POST_OPS;
/** Binary alg kinds. */
export const BINARY = {
  add: 0x1fff0,
  mul: 0x1fff1,
  div: 0x1fff4,
  sub: 0x1fff5,
} as const;
/** Batch-norm flags: γ and β as separate per-channel vectors (v2.3+). */
export const USE_SCALE = 0x8, USE_SHIFT = 0x10;
/** Batch-norm flag: mean and variance are inputs, not computed. */
export const USE_GLOBAL_STATS = 0x1;
/** Batch-norm flag: relu applied to y; its mask goes to the workspace. */
export const FUSE_NORM_RELU = 0x4;
/** Query id of the implementation name. */
export const QUERY_IMPL_INFO = 8;
/** Memory descriptor query ids. */
export const MD = {
  src: 129,
  diffSrc: 130,
  weights: 131,
  diffWeights: 132,
} as const;
/** Destination query ids. */
export const MD_DST = 133, MD_DIFF_DST = 134, MD_WORKSPACE = 135;
/** Execution argument ids. */
export const ARG = {
  src: 1,
  src1: 2,
  dst: 17,
  weights: 33,
  bias: 41,
  diffSrc: 129,
  diffDst: 145,
  diffWeights: 161,
  mean: 49,
  variance: 50,
  scale: 51,
  shift: 52,
  diffScale: 255,
  diffShift: 256,
  workspace: 64,
} as const;

/** Bytes reserved for one oneDNN descriptor struct (v2 ones are < 8 KiB). */
export const DESC_BYTES = 16384;

/** The geometry of one NHWC / HWIO convolution. */
export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  /**
   * Groups: 1 for a plain convolution, `inC` for a depthwise one (filter
   * `[kH, kW, inC, outC / inC]` as tfjs stores it).
   */
  groups: number;
}

/** The oneDNN direct convolutions on raw pointers (row-major NHWC / HWIO). */
export interface DnnlConv {
  /** Path of the library. */
  readonly library: string;
  /**
   * y = act(conv(x, w) (+ bias)), `act` a post-op (absent: none); false
   * when this geometry is not supported.
   */
  forward(
    g: ConvGeometry,
    x: Deno.PointerValue,
    w: Deno.PointerValue,
    bias: Deno.PointerValue | null,
    y: Deno.PointerValue,
    act?: PostOp,
  ): boolean;
  /** dx from dy and w; false when not supported. */
  backwardData(
    g: ConvGeometry,
    dy: Deno.PointerValue,
    w: Deno.PointerValue,
    dx: Deno.PointerValue,
  ): boolean;
  /** dw from x and dy; false when not supported. */
  backwardWeights(
    g: ConvGeometry,
    x: Deno.PointerValue,
    dy: Deno.PointerValue,
    dw: Deno.PointerValue,
  ): boolean;
  /** oneDNN's implementation names of the primitives created so far. */
  implementations(): string[];
}

/** A oneDNN call that failed (the geometry falls back). */
export class DnnlError extends Error {}

/** Throws {@link DnnlError} unless `status` is dnnl_success. */
export function check(status: number, what: string): void {
  if (status !== 0) throw new DnnlError(`${what}: dnnl_status_t ${status}`);
}

/** The handle a oneDNN call wrote into `out`. */
export function handle(out: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(out[0]);
}

/** A descriptor we made (bytes) or one oneDNN owns (a pointer). */
export function asPointer(
  md: Deno.PointerValue | Uint8Array,
): Deno.PointerValue {
  return md instanceof Uint8Array
    ? Deno.UnsafePointer.of(md as Uint8Array<ArrayBuffer>)
    : md;
}

/** A dnnl_dims_t (12 int64) holding `values`. */
export function dims(values: number[]): BigInt64Array {
  const a = new BigInt64Array(12);
  values.forEach((v, i) => a[i] = BigInt(v));
  return a;
}

/** Dims and strides of a tensor, in oneDNN's logical dim order. */
export type Layout = [dims: number[], strides: number[]];

/**
 * The plain layouts of a convolution in oneDNN's logical dim order: NHWC
 * activations as (N, C, H, W), HWIO filters as (O, I, KH, KW), depthwise
 * `[KH, KW, C, M]` filters as (G, M, 1, KH, KW).
 */
export function plainLayouts(
  g: ConvGeometry,
): { src: Layout; dst: Layout; weights: Layout } {
  const { batch: N, inH: H, inW: W, inC: C, outH: OH, outW: OW, outC: O } = g;
  const G = g.groups, M = O / G;
  return {
    src: [[N, C, H, W], [H * W * C, 1, W * C, C]],
    dst: [[N, O, OH, OW], [OH * OW * O, 1, OW * O, O]],
    weights: G === 1
      ? [[O, C, g.kH, g.kW], [1, O, g.kW * C * O, C * O]]
      : [[G, M, C / G, g.kH, g.kW], [M, 1, 1, g.kW * O, O]],
  };
}
