/**
 * oneDNN's batch normalization (training forward with its own statistics,
 * and backward with the γ / β gradients) and eltwise (swish, relu; forward
 * and backward) primitives on tensors in the wasm heap, through FFI. These
 * passes are memory-bound: our SIMD wasm kernels run them on one thread,
 * oneDNN's JIT kernels on every OpenMP thread (a thread count fixed per
 * process, so results are deterministic for it). Primitives are created per
 * shape on first use and kept in a bounded cache.
 */
import {
  ARG,
  BACKWARD,
  check,
  DESC_BYTES,
  ELTWISE,
  FORWARD_INFERENCE,
  FORWARD_TRAINING,
  MD,
  MD_DIFF_DST,
  MD_DST,
  USE_GLOBAL_STATS,
  USE_SCALE,
  USE_SHIFT,
} from "./dnnl_symbols.ts";
import { type DnnlRuntime, type Prim, PrimitiveCache } from "./dnnl_runtime.ts";

/** Channels-last data as `batch` × `spatial` rows of `channels`. */
export interface NormShape {
  batch: number;
  spatial: number;
  channels: number;
}

/** Pointers of a training batch norm's forward pass. */
export interface NormForwardArgs {
  x: Deno.PointerValue;
  gamma: Deno.PointerValue;
  beta: Deno.PointerValue;
  y: Deno.PointerValue;
  /** Batch mean and biased variance: written, or read with given statistics. */
  mean: Deno.PointerValue;
  variance: Deno.PointerValue;
}

/** Pointers of a batch norm's backward pass. */
export interface NormBackwardArgs {
  x: Deno.PointerValue;
  dy: Deno.PointerValue;
  mean: Deno.PointerValue;
  variance: Deno.PointerValue;
  gamma: Deno.PointerValue;
  dx: Deno.PointerValue;
  dGamma: Deno.PointerValue;
  dBeta: Deno.PointerValue;
}

/** An eltwise function oneDNN runs here. */
export type EltwiseAlg = keyof typeof ELTWISE;

/** oneDNN's memory-bound primitives on raw heap pointers. */
export interface DnnlPointwise {
  /** Path of the library. */
  readonly library: string;
  /**
   * y = γ·(x − μ)/√(σ² + ε) + β with the batch's μ, σ² (written), or with
   * `givenStats` those read from `p`; false if unsupported.
   */
  batchNormForward(
    shape: NormShape,
    epsilon: number,
    p: NormForwardArgs,
    givenStats?: boolean,
  ): boolean;
  /** dx, dγ, dβ of {@link batchNormForward}; false if unsupported. */
  batchNormBackward(
    shape: NormShape,
    epsilon: number,
    p: NormBackwardArgs,
  ): boolean;
  /** y = f(x) over `n` floats; false if unsupported. */
  eltwiseForward(
    alg: EltwiseAlg,
    n: number,
    x: Deno.PointerValue,
    y: Deno.PointerValue,
  ): boolean;
  /** dx = dy·f′(x) over `n` floats; false if unsupported. */
  eltwiseBackward(
    alg: EltwiseAlg,
    n: number,
    x: Deno.PointerValue,
    dy: Deno.PointerValue,
    dx: Deno.PointerValue,
  ): boolean;
  /** oneDNN's implementation names of the primitives created so far. */
  implementations(): string[];
}

/** swish's sigmoid scale; relu's negative slope. */
const ALPHA: Record<EltwiseAlg, number> = { swish: 1, relu: 0 };
const NORM_FLAGS = USE_SCALE | USE_SHIFT;

/**
 * Most OpenMP threads of the batch-norm primitives. Their statistics and
 * normalisation passes meet at spinning barriers; with another job on the
 * second core each barrier waits for a time slice: at 2 threads on our
 * loaded 2-core VM the training forward and backward took 669 and 353 ms
 * of an EfficientNet-B0 step, against 36 and 43 ms on the single-threaded
 * SIMD kernels (`bench/kernel_profile.ts --ab`). One by default;
 * `SELFTRAIN_DNNL_BNORM_THREADS=N` allows N.
 */
let normThreads = envThreads("SELFTRAIN_DNNL_BNORM_THREADS", 1);

/**
 * Most OpenMP threads of the eltwise and binary primitives (all by
 * default; `SELFTRAIN_DNNL_ELTWISE_THREADS=N` allows N).
 */
let eltwiseThreads = envThreads("SELFTRAIN_DNNL_ELTWISE_THREADS", 1024);

function envThreads(name: string, fallback: number): number {
  try {
    const n = Number(Deno.env.get(name) ?? fallback);
    return Number.isInteger(n) && n > 0 ? n : fallback;
  } catch {
    return fallback;
  }
}

/** Sets the batch norm's most threads (see above); returns the previous. */
export function setDnnlBatchNormThreads(n: number): number {
  const before = normThreads;
  normThreads = Math.max(1, Math.floor(n));
  return before;
}

/** Sets the eltwise / binary most threads; returns the previous. */
export function setDnnlEltwiseThreads(n: number): number {
  const before = eltwiseThreads;
  eltwiseThreads = Math.max(1, Math.floor(n));
  return before;
}

/** The eltwise / binary most threads (their kernels keep no per-thread state). */
export function dnnlEltwiseThreads(): number {
  return eltwiseThreads;
}

/** {@link DnnlPointwise} on one opened libdnnl (see dnnl_loader.ts). */
export class DnnlPointwisePrimitives implements DnnlPointwise {
  readonly library: string;
  readonly #rt: DnnlRuntime;
  readonly #cache: PrimitiveCache<Prim>;
  static readonly MAX_PRIMITIVES = 256;

  constructor(runtime: DnnlRuntime) {
    this.library = runtime.library;
    this.#rt = runtime;
    this.#cache = new PrimitiveCache(
      DnnlPointwisePrimitives.MAX_PRIMITIVES,
      (p) => runtime.destroy(p),
    );
  }

  /** Primitives held (for tests: the cache stays bounded). */
  get cached(): number {
    return this.#cache.size;
  }

  /** NHWC data as oneDNN's (N, C, spatial, 1), read in place. */
  #dataMd(g: NormShape): Uint8Array {
    const { batch: n, spatial: s, channels: c } = g;
    return this.#rt.md([n, c, s, 1], [s * c, 1, c, c]);
  }

  #normPd(
    g: NormShape,
    epsilon: number,
    kind: "train" | "given" | "backward",
  ): Deno.PointerValue {
    const rt = this.#rt, data = this.#dataMd(g);
    const fwd = new Uint8Array(DESC_BYTES * 8);
    const given = kind === "given";
    check(
      rt.s.dnnl_batch_normalization_forward_desc_init(
        fwd,
        given ? FORWARD_INFERENCE : FORWARD_TRAINING,
        data,
        epsilon,
        given ? NORM_FLAGS | USE_GLOBAL_STATS : NORM_FLAGS,
      ),
      "batch norm forward desc",
    );
    const hint = rt.pd(fwd, null);
    if (kind !== "backward") return hint;
    const bwd = new Uint8Array(DESC_BYTES * 8);
    try {
      check(
        rt.s.dnnl_batch_normalization_backward_desc_init(
          bwd,
          BACKWARD,
          data,
          data,
          epsilon,
          NORM_FLAGS,
        ),
        "batch norm backward desc",
      );
      return rt.pd(bwd, hint);
    } finally {
      rt.s.dnnl_primitive_desc_destroy(hint);
    }
  }

  #eltwisePd(alg: EltwiseAlg, n: number, forward: boolean): Deno.PointerValue {
    const rt = this.#rt, data = rt.md([n], [1]);
    const fwd = new Uint8Array(DESC_BYTES * 4);
    check(
      rt.s.dnnl_eltwise_forward_desc_init(
        fwd,
        FORWARD_TRAINING,
        ELTWISE[alg],
        data,
        ALPHA[alg],
        0,
      ),
      "eltwise forward desc",
    );
    const hint = rt.pd(fwd, null);
    if (forward) return hint;
    const bwd = new Uint8Array(DESC_BYTES * 4);
    try {
      check(
        rt.s.dnnl_eltwise_backward_desc_init(
          bwd,
          ELTWISE[alg],
          data,
          data,
          ALPHA[alg],
          0,
        ),
        "eltwise backward desc",
      );
      return rt.pd(bwd, hint);
    } finally {
      rt.s.dnnl_primitive_desc_destroy(hint);
    }
  }

  /**
   * The primitive of `pd`, its data arguments checked to be the plain
   * layout `data` (read in place) and one memory object per argument.
   */
  #prim(
    pd: Deno.PointerValue,
    what: string,
    data: Uint8Array,
    dataArgs: [query: number, arg: number][],
    vectorArgs: number[],
    channels: number,
  ): Prim {
    const rt = this.#rt;
    for (const [query] of dataArgs) rt.requireLayout(pd, query, data, what);
    const p: Prim = { pd, prim: rt.primitive(pd, what), mems: new Map() };
    for (const [, arg] of dataArgs) p.mems.set(arg, rt.memory(data, null));
    const vector = rt.md([channels], [1]);
    for (const arg of vectorArgs) p.mems.set(arg, rt.memory(vector, null));
    return p;
  }

  batchNormForward(
    g: NormShape,
    epsilon: number,
    a: NormForwardArgs,
    givenStats = false,
  ): boolean {
    const kind = givenStats ? "given" : "train";
    return this.#rt.withThreads(normThreads, () => {
      const key =
        `bn ${kind} ${g.batch},${g.spatial},${g.channels},${epsilon}` +
        ` ${this.#normThreads()}`;
      const p = this.#cache.get(key, () =>
        this.#prim(
          this.#normPd(g, epsilon, kind),
          "batch norm forward",
          this.#dataMd(g),
          [[MD.src, ARG.src], [MD_DST, ARG.dst]],
          [ARG.mean, ARG.variance, ARG.scale, ARG.shift],
          g.channels,
        ));
      if (!p) return false;
      this.#rt.run(p, [
        [ARG.src, a.x],
        [ARG.dst, a.y],
        [ARG.mean, a.mean],
        [ARG.variance, a.variance],
        [ARG.scale, a.gamma],
        [ARG.shift, a.beta],
      ]);
      return true;
    });
  }

  /** Threads the batch-norm primitives run with (part of their keys). */
  #normThreads(): number {
    return Math.min(normThreads, this.#rt.threads);
  }

  batchNormBackward(
    g: NormShape,
    epsilon: number,
    a: NormBackwardArgs,
  ): boolean {
    return this.#rt.withThreads(normThreads, () => {
      const key =
        `bn backward ${g.batch},${g.spatial},${g.channels},${epsilon}` +
        ` ${this.#normThreads()}`;
      const p = this.#cache.get(key, () =>
        this.#prim(
          this.#normPd(g, epsilon, "backward"),
          "batch norm backward",
          this.#dataMd(g),
          [[MD.src, ARG.src], [MD_DIFF_DST, ARG.diffDst], [
            MD.diffSrc,
            ARG.diffSrc,
          ]],
          [
            ARG.mean,
            ARG.variance,
            ARG.scale,
            ARG.shift,
            ARG.diffScale,
            ARG.diffShift,
          ],
          g.channels,
        ));
      if (!p) return false;
      this.#rt.run(p, [
        [ARG.src, a.x],
        [ARG.diffDst, a.dy],
        [ARG.diffSrc, a.dx],
        [ARG.mean, a.mean],
        [ARG.variance, a.variance],
        [ARG.scale, a.gamma],
        // oneDNN wants β here though the gradient does not read it
        [ARG.shift, a.gamma],
        [ARG.diffScale, a.dGamma],
        [ARG.diffShift, a.dBeta],
      ]);
      return true;
    });
  }

  eltwiseForward(
    alg: EltwiseAlg,
    n: number,
    x: Deno.PointerValue,
    y: Deno.PointerValue,
  ): boolean {
    const p = this.#cache.get(`${alg} forward ${n}`, () =>
      this.#prim(
        this.#eltwisePd(alg, n, true),
        `${alg} forward`,
        this.#rt.md([n], [1]),
        [[MD.src, ARG.src], [MD_DST, ARG.dst]],
        [],
        0,
      ));
    if (!p) return false;
    this.#rt.withThreads(
      eltwiseThreads,
      () => this.#rt.run(p, [[ARG.src, x], [ARG.dst, y]]),
    );
    return true;
  }

  eltwiseBackward(
    alg: EltwiseAlg,
    n: number,
    x: Deno.PointerValue,
    dy: Deno.PointerValue,
    dx: Deno.PointerValue,
  ): boolean {
    const p = this.#cache.get(`${alg} backward ${n}`, () =>
      this.#prim(
        this.#eltwisePd(alg, n, false),
        `${alg} backward`,
        this.#rt.md([n], [1]),
        [[MD.src, ARG.src], [MD_DIFF_DST, ARG.diffDst], [
          MD.diffSrc,
          ARG.diffSrc,
        ]],
        [],
        0,
      ));
    if (!p) return false;
    this.#rt.withThreads(
      eltwiseThreads,
      () =>
        this.#rt.run(p, [[ARG.src, x], [ARG.diffDst, dy], [ARG.diffSrc, dx]]),
    );
    return true;
  }

  implementations(): string[] {
    return this.#rt.implementations();
  }
}
